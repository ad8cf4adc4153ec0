"""Expansion stage history, intent signals, referrals and exit reasons (docs/world.md, "Expansion and advocacy").

Everything here is drawn from its own random stream (`[seed, 6, chunk]`) after the other tables are
built, so adding these tables changed no row of any earlier table.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from csm_analytics.canonical import schemas
from csm_analytics.world.contracts import CHURNED, EXIT_DRIVERS, ContractBook
from csm_analytics.world.latent import COUNTRIES, AccountTraits, sigmoid
from csm_analytics.world.signals import Events
from csm_analytics.world.tables import ChunkWriter, opportunity_stage

LOST_TOP_STAGE_P = [0.30, 0.30, 0.25, 0.15]  # furthest open stage a lost opportunity reached
INTENT_LEAD_P = 0.7  # share of new-country / COR-to-EOR opportunities announced by an intent signal
INTENT_LEAD_DAYS = (10, 120)  # the signal precedes the opportunity by this many days
NEW_COUNTRY_NOISE_PER_YEAR = 0.25  # background interest that never becomes an opportunity
EOR_PATTERN_NOISE_PER_YEAR = 0.30  # COR accounts only
REFERRAL_AFTER_INTENT_P = 0.40  # a referral follows a QBR where referral intent was voiced
REFERRAL_ORGANIC_PER_YEAR = 0.12  # x e^(0.8 h)
WARM_INTRO_SHARE = 0.45
EXIT_REASON_FROM_DRIVER_P = 0.70  # otherwise one of the exogenous reasons
DRIVER_REASON = {
    "latent_health": "low adoption or value", "usage_decline": "low adoption or value",
    "escalations": "poor support experience", "failed_payments": "financial distress",
    "missed_qbrs": "weak relationship", "detractor": "product dissatisfaction",
    "incidents": "payroll or compliance errors", "csm_skill": "weak relationship",
}
EXOGENOUS_REASONS = ["budget cuts", "acquired or merged", "moved to a competitor"]


def advocacy_tables(w: ChunkWriter, book: ContractBook, ev: dict[str, Events], health: np.ndarray, rng,
                    as_of_day: int) -> dict[str, pa.Table]:
    acc = w.acc
    opp_ids = w.ids("OPP", len(ev["opportunities"]["acc"]))  # the ids tables._opportunities gives them
    return {
        "opportunity_stage_history": _stage_history(w, ev["opportunities"], opp_ids, rng, as_of_day),
        "intent_signals": _intent_signals(w, acc, book, ev["opportunities"], rng, as_of_day),
        "referrals": _referrals(w, acc, book, ev["qbrs"], health, rng, as_of_day),
        "exit_reasons": _exit_reasons(w, book, rng, as_of_day),
    }


def _stage_history(w: ChunkWriter, o: Events, opp_ids: pa.Array, rng, as_of_day: int) -> pa.Table:
    """Stage 0 on creation, then stages 1..top at sorted random points of the opportunity's life.

    Won opportunities pass every open stage; lost ones stop at a random furthest stage; open ones
    have reached the stage the opportunities table shows."""
    m = len(o["acc"])
    closed, final = opportunity_stage(o, as_of_day)
    top = np.where(closed, np.where(o["won"], 3, rng.choice(4, m, p=LOST_TOP_STAGE_P)), final)
    span = np.where(closed, o["close_day"], as_of_day) - o["day"]
    fractions = np.sort(rng.random((m, 3)), axis=1)
    entered = o["day"][:, None] + np.floor(fractions * span[:, None]).astype(np.int64)
    rows, stages, days = [np.arange(m)], [np.zeros(m, np.int64)], [o["day"]]
    for s in (1, 2, 3):
        reached = np.flatnonzero(top >= s)
        rows.append(reached), stages.append(np.full(len(reached), s)), days.append(entered[reached, s - 1])
    done = np.flatnonzero(closed)
    rows.append(done), stages.append(final[done]), days.append(o["close_day"][done])
    row, stage, day = np.concatenate(rows), np.concatenate(stages), np.concatenate(days)
    order = np.lexsort((stage, row))
    row, stage, day = row[order], stage[order], day[order]
    return pa.table({
        "opportunity_id": opp_ids.take(pa.array(row)), "account_id": w.accounts_of(o["acc"][row]),
        "stage": w.pick(schemas.OPPORTUNITY_STAGES, stage), "entered_date": w.date(day),
    })


def _poisson_days(rng, acc: AccountTraits, book: ContractBook, per_year: np.ndarray, as_of_day: int):
    """Background events: a Poisson count over each account's life in the window, on uniform days."""
    lo = np.maximum(acc.active_from, 0)
    hi = np.minimum(book.active_to, as_of_day)
    life = np.maximum(hi - lo + 1, 0)
    counts = rng.poisson(per_year * life / 365.0)
    idx = np.repeat(np.arange(acc.n), counts)
    day = lo[idx] + (rng.random(len(idx)) * life[idx]).astype(np.int64)
    return idx, day


def _intent_signals(w: ChunkWriter, acc: AccountTraits, book: ContractBook, o: Events, rng, as_of_day: int) -> pa.Table:
    """New-country interest and EOR-like COR usage: most announce a real opportunity, the rest is noise."""
    new_country, cor_to_eor = schemas.SOURCE_SIGNALS.index("new_country"), schemas.SOURCE_SIGNALS.index("cor_to_eor")
    leads = np.isin(o["signal"], [new_country, cor_to_eor]) & (rng.random(len(o["acc"])) < INTENT_LEAD_P)
    lead_day = o["day"] - rng.integers(*INTENT_LEAD_DAYS, len(o["acc"]))
    leads &= lead_day >= np.maximum(acc.active_from[o["acc"]], 0)
    l_idx, l_day = o["acc"][leads], lead_day[leads]
    l_type = np.where(o["signal"][leads] == new_country, 0, 1)
    n_idx, n_day = _poisson_days(rng, acc, book, np.full(acc.n, NEW_COUNTRY_NOISE_PER_YEAR), as_of_day)
    e_idx, e_day = _poisson_days(rng, acc, book, np.where(acc.product == 1, EOR_PATTERN_NOISE_PER_YEAR, 0.0), as_of_day)
    idx = np.concatenate([l_idx, n_idx, e_idx])
    day = np.concatenate([l_day, n_day, e_day])
    kind = np.concatenate([l_type, np.zeros(len(n_idx), np.int64), np.ones(len(e_idx), np.int64)])
    order = np.lexsort((kind, day, idx))
    idx, day, kind = idx[order], day[order], kind[order]
    other = (acc.country[idx] + rng.integers(1, len(COUNTRIES), len(idx))) % len(COUNTRIES)  # never the HQ country
    return pa.table({
        "signal_id": w.ids("SIG", len(idx)), "account_id": w.accounts_of(idx), "signal_date": w.date(day),
        "signal_type": w.pick(schemas.INTENT_SIGNAL_TYPES, kind), "country": w.pick(COUNTRIES, other, mask=kind == 1),
    })


def _referrals(w: ChunkWriter, acc: AccountTraits, book: ContractBook, qbrs: Events, health: np.ndarray, rng,
               as_of_day: int) -> pa.Table:
    """Referral intent voiced at a QBR leads to a referral 7-60 days later (40 %); healthy clients refer more."""
    asked = qbrs["held"] & qbrs["referral_intent"] & (rng.random(len(qbrs["acc"])) < REFERRAL_AFTER_INTENT_P)
    q_idx = qbrs["acc"][asked]
    q_day = qbrs["day"][asked] + rng.integers(7, 61, len(q_idx))
    mean_health = health.mean(axis=1)
    o_idx, o_day = _poisson_days(rng, acc, book, REFERRAL_ORGANIC_PER_YEAR * np.exp(0.8 * mean_health), as_of_day)
    idx, day = np.concatenate([q_idx, o_idx]), np.concatenate([q_day, o_day])
    keep = (day <= np.minimum(book.active_to[idx], as_of_day))
    idx, day = idx[keep], day[keep]
    order = np.lexsort((day, idx))
    idx, day = idx[order], day[order]
    m = len(idx)
    h = health[idx, day]
    warm = rng.random(m) < WARM_INTRO_SHARE
    opportunity = rng.random(m) < sigmoid(-0.2 + 0.6 * warm + 0.4 * h)
    won = rng.random(m) < sigmoid(-0.8 + 0.5 * warm + 0.3 * h)
    close = day + rng.integers(30, 151, m)
    amount = np.round(np.exp(rng.normal(np.log(30_000), 0.8, m)), 2)
    decided = opportunity & (close <= as_of_day)
    status = np.where(~opportunity, 0, np.where(~decided, 1, np.where(won, 2, 3)))
    ids = w.ids("REF", m)
    return pa.table({
        "referral_id": ids, "account_id": w.accounts_of(idx), "referral_date": w.date(day),
        "referral_type": w.pick(schemas.REFERRAL_TYPES, warm.astype(np.int64)),
        "prospect_name": pc.binary_join_element_wise("Prospect of", ids, " "),
        "status": w.pick(schemas.REFERRAL_STATUSES, status),
        "opportunity_amount": pa.array(amount, mask=~opportunity),
        "close_date": w.date(close, mask=~decided),
    })


def _exit_reasons(w: ChunkWriter, book: ContractBook, rng, as_of_day: int) -> pa.Table:
    """The recorded reason is the churn's largest log-odds term (70 %) or an exogenous one."""
    ai, cj = np.nonzero(book.valid & (book.outcome == CHURNED))
    m = len(ai)
    driver_reason = np.array([schemas.EXIT_REASONS.index(DRIVER_REASON[d]) for d in EXIT_DRIVERS])
    exogenous = np.array([schemas.EXIT_REASONS.index(r) for r in EXOGENOUS_REASONS])
    reason = np.where(rng.random(m) < EXIT_REASON_FROM_DRIVER_P, driver_reason[book.exit_driver[ai, cj]],
                      exogenous[rng.integers(0, len(exogenous), m)])
    recorded = np.minimum(book.end[ai, cj] + rng.integers(0, 15, m), as_of_day)
    return pa.table({
        "contract_id": w.contract_ids(ai, book.number[ai, cj]), "account_id": w.accounts_of(ai),
        "recorded_date": w.date(recorded), "exit_reason": w.pick(schemas.EXIT_REASONS, reason),
    })
