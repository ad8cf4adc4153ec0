"""Contracts, renewal outcomes and expansion opportunities.

Contracts follow each other at the account's term. At every contract end inside
the window the outcome (churned / downgraded / renewed) is drawn from a logistic
model of the signals in the months before the end (see `ChurnCoefficients`).
Expansion opportunities arise day by day at a rate set by worker growth, that
day's seat pressure and health, plus those sparked by QBR expansion talk, from
their own random stream (`[seed, 7, chunk]`); won amounts raise ARR at the next
renewal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from csm_analytics.world.latent import AccountTraits, CsmTraits, sigmoid, window_mean
from csm_analytics.world.signals import Events
from csm_analytics.world.spec import TIERS, ExpansionCoefficients, WorldSpec

RENEWED, DOWNGRADED, CHURNED, UNDECIDED = 0, 1, 2, -1


@dataclass
class RenewalSignals:
    """Cumulative daily grids the churn model reads (all with a leading zero column)."""

    health_cumsum: np.ndarray
    escalations: np.ndarray
    failed_payments: np.ndarray
    missed_qbrs: np.ndarray
    critical_incidents: np.ndarray
    latest_nps: np.ndarray  # last NPS strictly before day t


@dataclass
class ContractBook:
    start: np.ndarray  # (n, J) day of contract start, relative to window start
    end: np.ndarray
    arr: np.ndarray
    seats: np.ndarray
    valid: np.ndarray
    outcome: np.ndarray
    downgrade_amount: np.ndarray
    p_churn: np.ndarray
    p_downgrade: np.ndarray
    number: np.ndarray  # contract sequence number since the account was created
    exit_driver: np.ndarray  # index into EXIT_DRIVERS of the largest churn term (churned contracts; else -1)
    active_to: np.ndarray  # last day each account exists (churn end date or last day)

    def at(self, acc: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Column index of the contract in force on `day` for each (acc, day) pair."""
        started = (self.start[acc] <= day[:, None]) & self.valid[acc]
        return np.maximum(started.sum(axis=1) - 1, 0)


def _window_count(cum: np.ndarray, idx: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    d = cum.shape[1] - 1
    return cum[idx, np.clip(hi, 0, d)] - cum[idx, np.clip(lo, 0, d)]


def churn_logit(spec: WorldSpec, acc: AccountTraits, csms: CsmTraits, sig: RenewalSignals, idx, end) -> np.ndarray:
    return _logit(churn_terms(spec, acc, csms, sig, idx, end))


def _logit(terms: dict) -> np.ndarray:
    logit = terms["intercept"]
    for name in EXIT_DRIVERS:  # the order of the original sum, so the draws stay bit-identical
        logit = logit + terms[name]
    return logit


# The log-odds terms a churned account's exit reason is drawn from (see world/advocacy.py), in a fixed order.
EXIT_DRIVERS = ("latent_health", "usage_decline", "escalations", "failed_payments", "missed_qbrs", "detractor",
                "incidents", "csm_skill")


def churn_terms(spec: WorldSpec, acc: AccountTraits, csms: CsmTraits, sig: RenewalSignals, idx, end) -> dict:
    """Each term of the churn log-odds at a contract end (deterministic: no random draws)."""
    c = spec.churn
    d = spec.history_days
    h_pre = window_mean(sig.health_cumsum, idx, end - 120, end - 30)
    decline = window_mean(sig.health_cumsum, idx, end - 30, end + 1) - window_mean(
        sig.health_cumsum, idx, end - 150, end - 120
    )
    esc = np.minimum(_window_count(sig.escalations, idx, end - 90, end), 3)
    failed = np.minimum(_window_count(sig.failed_payments, idx, end - 180, end), 3)
    missed = np.minimum(_window_count(sig.missed_qbrs, idx, end - 365, end), 3)
    incidents = np.minimum(_window_count(sig.critical_incidents, idx, end - 180, end), 2)
    nps = sig.latest_nps[idx, np.clip(end, 0, d)]
    detractor = np.nan_to_num(nps, nan=10.0) <= 6
    skill = csms.skill[acc.owner_at(idx, end)]
    intercept = np.array([t.churn_intercept for t in TIERS.values()])[acc.tier[idx]]
    return {
        "intercept": intercept,
        "latent_health": c.latent_health * h_pre,
        "usage_decline": c.usage_decline * decline,
        "escalations": c.escalations_90d * esc,
        "failed_payments": c.failed_payments_180d * failed,
        "missed_qbrs": c.missed_qbrs_365d * missed,
        "detractor": c.detractor_nps * detractor,
        "incidents": c.critical_incidents_180d * incidents,
        "csm_skill": c.csm_skill * (skill - 0.6),
    }


def build_contracts(
    spec: WorldSpec, acc: AccountTraits, csms: CsmTraits, health: np.ndarray, sig: RenewalSignals,
    qbr_events: Events, chunk: int,
) -> tuple[ContractBook, Events]:
    rng = np.random.default_rng([spec.seed, 4, chunk])
    opp_rng = np.random.default_rng([spec.seed, 7, chunk])  # own stream: expansion moves no renewal draw
    n, d = acc.n, spec.history_days
    busy_until = np.full(n, -1, np.int64)  # close day of each account's open organic opportunity
    span = d // 365 + 2
    term = acc.term_days
    first = np.where(acc.created_day < 0, (-acc.created_day) // term, 0)
    shape = (n, span)
    book = ContractBook(
        start=np.zeros(shape, np.int64), end=np.zeros(shape, np.int64), arr=np.zeros(shape),
        seats=np.zeros(shape, np.int64), valid=np.zeros(shape, bool), outcome=np.full(shape, UNDECIDED),
        downgrade_amount=np.zeros(shape), p_churn=np.full(shape, np.nan), p_downgrade=np.full(shape, np.nan),
        number=np.zeros(shape, np.int64), exit_driver=np.full(shape, -1, np.int64), active_to=np.full(n, d - 1, np.int64),
    )
    alive = np.ones(n, bool)
    seats = acc.seats0.astype(float)
    arr = seats * acc.price_per_seat
    opps: list[Events] = []
    credited_mask: list[np.ndarray] = []
    for j in range(span):
        start = acc.created_day + (first + j) * term
        end = start + term - 1
        valid = alive & (start <= d - 1)
        book.start[:, j], book.end[:, j], book.valid[:, j] = start, end, valid
        book.arr[:, j], book.seats[:, j], book.number[:, j] = np.round(arr, 2), seats, first + j
        term_opps = _opportunities(opp_rng, spec.expansion, acc, csms, health, qbr_events, start, end, valid, arr,
                                   seats, busy_until, d)
        opps.append(term_opps)
        credited_mask.append(np.zeros(len(term_opps["acc"]), bool))
        idx = np.flatnonzero(valid & (end <= d - 1))
        if len(idx) == 0:
            continue
        terms = churn_terms(spec, acc, csms, sig, idx, end[idx])
        logit = _logit(terms)
        driver = np.argmax(np.stack([terms[name] for name in EXIT_DRIVERS]), axis=0)
        p_churn = sigmoid(logit)
        p_down = sigmoid(logit + spec.churn.downgrade_offset)
        u = rng.random(len(idx))
        outcome = np.where(u < p_churn, CHURNED, np.where(rng.random(len(idx)) < p_down, DOWNGRADED, RENEWED))
        book.outcome[idx, j], book.p_churn[idx, j], book.p_downgrade[idx, j] = outcome, p_churn, p_down
        churned = idx[outcome == CHURNED]
        book.exit_driver[churned, j] = driver[outcome == CHURNED]
        alive[churned] = False
        book.active_to[churned] = end[churned]
        down = idx[outcome == DOWNGRADED]
        cut = rng.uniform(0.15, 0.45, len(down))
        book.downgrade_amount[down, j] = np.round(arr[down] * cut, 2)
        arr[down] *= 1 - cut
        seats[down] = np.maximum(1, np.round(seats[down] * (1 - cut)))
        renewing = np.zeros(n, bool)
        renewing[idx[outcome != CHURNED]] = True
        credit = np.zeros(n)
        for events, done in zip(opps, credited_mask):
            take = events["won"] & ~done & (events["close_day"] <= end[events["acc"]]) & renewing[events["acc"]]
            credit += np.bincount(events["acc"][take], weights=events["amount"][take], minlength=n)
            done |= take
        ratio = np.where(renewing, (arr * 1.03 + credit) / arr, 1.0)
        arr = arr * ratio
        seats = np.where(renewing, np.ceil(seats * (1 + credit / np.maximum(arr / ratio, 1.0))), seats)
    all_opps = {k: np.concatenate([o[k] for o in opps]) for k in opps[0]}
    _close_out_churned(all_opps, book.active_to, d)
    return book, all_opps


def seat_pressure(x: ExpansionCoefficients, acc: AccountTraits, health, seats, idx, day) -> np.ndarray:
    """Engaged workers per licensed seat on `day` (capped): the demand for seats the contract has to meet.

    `idx`, `day` and `seats` (the licensed seats in force) broadcast together: pairs, or a grid."""
    workers = acc.workers0[idx] * np.exp(acc.growth[idx] * day / 365.0)
    engaged = workers * (0.25 + 0.6 * sigmoid(1.2 * health[idx, day]))
    return np.minimum(x.pressure_cap, engaged / seats)


def opportunity_rate(x: ExpansionCoefficients, acc: AccountTraits, health, seats, idx, day) -> np.ndarray:
    """Organic expansion opportunities per account-year on `day`: worker growth, the day's seat pressure and health."""
    pressure = seat_pressure(x, acc, health, seats, idx, day)
    return x.rate_per_year * np.exp(x.rate_growth * acc.growth[idx] + x.rate_pressure * (pressure - 0.7)
                                    + x.rate_health * health[idx, day])


def win_probability(x: ExpansionCoefficients, acc: AccountTraits, csms: CsmTraits, health, seats, idx,
                    day) -> np.ndarray:
    """P(an opportunity opened on `day` is won): health, growth and seat pressure that day, and the owner's skill."""
    pressure = seat_pressure(x, acc, health, seats, idx, day)
    skill = csms.skill[acc.owner_at(idx, day)]
    return sigmoid(x.win_intercept + x.win_health * health[idx, day] + x.win_growth * acc.growth[idx]
                   + x.win_pressure * (pressure - 0.7) + x.win_skill * (skill - 0.6))


def _organic(rng, x: ExpansionCoefficients, rate: np.ndarray, busy_until: np.ndarray) -> tuple[np.ndarray, ...]:
    """(account, day, close day) of each organic opportunity.

    Candidates: a Poisson count per account over its daily rates, each placed on a day drawn in proportion
    to that day's rate (inverse CDF: one searchsorted over row-offset cumulative rates). A need already being
    worked opens no second opportunity: a candidate that falls while the account's previous organic
    opportunity is still open (`busy_until`, carried across terms and updated here) is dropped
    (`one_open_at_a_time`)."""
    n, d = rate.shape
    cum = np.cumsum(rate, axis=1)
    total = cum[:, -1]
    idx = np.repeat(np.arange(n), rng.poisson(total))
    row_offset = np.concatenate([[0.0], np.cumsum(total + 1.0)[:-1]])
    target = rng.random(len(idx)) * total[idx] + row_offset[idx]
    day = np.minimum(np.searchsorted((cum + row_offset[:, None]).ravel(), target, side="right") - idx * d, d - 1)
    close = day + rng.integers(x.close_days_min, x.close_days_max, len(idx))
    order = np.lexsort((day, idx))
    idx, day, close = idx[order], day[order], close[order]
    if not x.one_open_at_a_time or len(idx) == 0:
        return idx, day, close
    rank = np.arange(len(idx)) - np.searchsorted(idx, idx)  # position of each candidate within its account
    keep = np.zeros(len(idx), bool)
    for k in range(rank.max() + 1):
        at = np.flatnonzero(rank == k)
        at = at[day[at] > busy_until[idx[at]]]
        keep[at] = True
        busy_until[idx[at]] = close[at]
    return idx[keep], day[keep], close[keep]


def _opportunities(rng, x, acc, csms, health, qbr_events, start, end, valid, arr, seats, busy_until, d) -> Events:
    """Organic opportunities (growth, seat pressure, health, day by day) plus those sparked by QBR expansion talk."""
    lo = np.maximum(start, acc.active_from)
    hi = np.minimum(end, d - 1)
    ok = valid & (hi > lo)
    days = np.arange(d)
    in_term = ok[:, None] & (days[None, :] >= lo[:, None]) & (days[None, :] <= hi[:, None])
    rate = opportunity_rate(x, acc, health, seats[:, None], np.arange(acc.n)[:, None], days[None, :])
    o_idx, o_day, o_close = _organic(rng, x, np.where(in_term, rate / 365.0, 0.0), busy_until)
    q = qbr_events
    sparked = q["held"] & q["expansion_discussed"] & (q["day"] >= lo[q["acc"]]) & (q["day"] <= hi[q["acc"]])
    sparked &= ok[q["acc"]] & (rng.random(len(q["acc"])) < x.qbr_followup)
    q_idx = q["acc"][sparked]
    q_day = np.minimum(q["day"][sparked] + rng.integers(x.qbr_lag_days_min, x.qbr_lag_days_max, len(q_idx)), d - 1)
    q_close = q_day + rng.integers(x.close_days_min, x.close_days_max, len(q_idx))
    idx = np.concatenate([o_idx, q_idx])
    day = np.concatenate([o_day, q_day])
    m = len(idx)
    from_qbr = np.arange(m) >= len(o_idx)
    owner = acc.owner_at(idx, day)
    won = rng.random(m) < win_probability(x, acc, csms, health, seats[idx], idx, day)
    cor = acc.product[idx] == 1
    organic_signal = np.where(
        rng.random(m) < 0.45,
        np.where(acc.growth[idx] > 0.2, 0, 1),
        np.where(cor & (rng.random(m) < 0.6), 3, rng.choice([2, 5], m, p=[0.5, 0.5])),
    )  # SOURCE_SIGNALS index
    signal = np.where(from_qbr, 4, organic_signal)
    attributed = rng.random(m) < np.where(signal == 5, 0.3, 0.85)
    evidence = attributed & (rng.random(m) < 0.75)
    return {
        "acc": idx,
        "day": day,
        "close_day": np.concatenate([o_close, q_close]),
        "amount": np.round(arr[idx] * rng.uniform(0.10, 0.40, m), 2),
        "won": won,
        "signal": signal,
        "attributed_owner": np.where(attributed, owner, -1),
        "evidence": evidence,
        "progress": rng.random(m),
    }


def _close_out_churned(opps: Events, active_to: np.ndarray, d: int) -> None:
    """Opportunities still open when their account churns are lost on the churn date."""
    cut = opps["close_day"] > active_to[opps["acc"]]
    churned_acc = active_to[opps["acc"]] < d - 1
    lost = cut & churned_acc
    opps["won"] = opps["won"] & ~lost
    opps["close_day"] = np.where(lost, active_to[opps["acc"]], opps["close_day"])
    keep = opps["day"] <= active_to[opps["acc"]]
    for k in list(opps):
        opps[k] = opps[k][keep]
