"""Observable events that both feed renewal outcomes and become raw rows.

Each generator returns a dict of equal-length arrays (one entry per event), with
`acc` the account's index inside the chunk and `day` relative to the window start.
Rates are functions of the latent health, so the observables carry real signal.
"""

from __future__ import annotations

import numpy as np

from csm_analytics.world.latent import AccountTraits, CsmTraits, sigmoid
from csm_analytics.world.spec import TIERS

Events = dict[str, np.ndarray]


def _expand_counts(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.nonzero(counts)
    reps = counts[rows, cols]
    return np.repeat(rows, reps), np.repeat(cols, reps)


def _health_at(health: np.ndarray, acc: np.ndarray, day: np.ndarray) -> np.ndarray:
    return health[acc, np.clip(day, 0, health.shape[1] - 1)]


def _exists(acc: AccountTraits, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
    return day >= acc.active_from[idx]


def _select(events: Events, mask: np.ndarray) -> Events:
    return {k: v[mask] for k, v in events.items()}


def support_tickets(rng, acc: AccountTraits, health: np.ndarray) -> Events:
    """Tickets arrive faster, escalate more and resolve slower as health falls."""
    base = np.array([t.tickets_per_day for t in TIERS.values()])[acc.tier]
    rate = base[:, None] * np.exp(-0.7 * health)
    idx, day = _expand_counts(rng.poisson(rate))
    keep = _exists(acc, idx, day)
    idx, day = idx[keep], day[keep]
    h = _health_at(health, idx, day)
    m = len(idx)
    priority = np.clip(np.round(1.2 - 0.6 * h + rng.normal(0, 0.8, m)), 0, 3).astype(np.int64)
    escalated = rng.random(m) < sigmoid(-2.8 - 0.9 * h + 0.7 * (priority == 3))
    hours = np.exp(np.log(8.0) + 1.0 * escalated - 0.3 * h + rng.normal(0, 0.9, m))
    csat = np.clip(np.round(3.8 + 0.7 * h - 0.4 * np.log(hours / 8.0) + rng.normal(0, 0.7, m)), 1, 5)
    responded = rng.random(m) < 0.55
    return {
        "acc": idx,
        "day": day,
        "second": rng.integers(8 * 3600, 19 * 3600, m),
        "priority": priority,
        "escalated": escalated,
        "resolution_hours": hours,
        "csat": np.where(responded, csat, np.nan),
    }


def invoices(rng, acc: AccountTraits, health: np.ndarray, days: int) -> Events:
    """Monthly invoices; payment risk and low health make failures and lateness likelier."""
    cycles = np.arange(0, days // 30 + 1)
    due = acc.billing_phase[:, None] + 30 * cycles[None, :]
    idx = np.repeat(np.arange(acc.n), len(cycles))
    day = due.ravel()
    keep = (day < days) & _exists(acc, idx, day)
    idx, day = idx[keep], day[keep]
    h = _health_at(health, idx, day)
    m = len(idx)
    failed = rng.random(m) < sigmoid(-4.2 + 1.2 * acc.payment_risk[idx] - 0.5 * h)
    late = rng.random(m) < sigmoid(-2.2 + 0.9 * acc.payment_risk[idx] - 0.3 * h)
    days_late = np.where(failed, rng.integers(10, 60, m), np.where(late, rng.integers(1, 20, m), 0))
    return {"acc": idx, "day": day, "failed": failed, "days_late": days_late}


def qbrs(rng, acc: AccountTraits, csms: CsmTraits, health: np.ndarray, days: int) -> Events:
    """QBRs are scheduled at the tier's frequency; whether one is held depends on the CSM's activity."""
    freq = np.array([t.qbr_every_days for t in TIERS.values()])[acc.tier]
    slots = np.arange(0, days // 90 + 2)
    scheduled = acc.qbr_phase[:, None] + freq[:, None] * slots[None, :]
    idx = np.repeat(np.arange(acc.n), len(slots))
    sday = scheduled.ravel()
    keep = (sday < days) & _exists(acc, idx, sday)
    idx, sday = idx[keep], sday[keep]
    h = _health_at(health, idx, sday)
    m = len(idx)
    owner = acc.owner_at(idx, sday)
    held = rng.random(m) < np.clip(0.3 + 0.55 * csms.activity[owner] + 0.08 * h, 0.1, 0.98)
    actual = np.clip(sday + rng.integers(-7, 15, m), 0, days - 1)
    workers = acc.workers0[idx] * np.exp(acc.growth[idx] * sday / 365.0)
    pressure = workers * (0.25 + 0.6 * sigmoid(1.2 * h)) / acc.seats0[idx]
    expansion = rng.random(m) < sigmoid(-1.6 + 2.5 * acc.growth[idx] + 2.0 * (pressure - 0.7) + 0.3 * h)
    return {
        "acc": idx,
        "scheduled_day": sday,
        "day": actual,
        "held": held,
        "owner": owner,
        "nps": np.clip(np.round(7.2 + 1.8 * h + rng.normal(0, 1.3, m)), 0, 10),
        "expansion_discussed": expansion,
        "referral_intent": rng.random(m) < sigmoid(-2.0 + 1.6 * h),
    }


def surveys(rng, acc: AccountTraits, health: np.ndarray, days: int) -> Events:
    """Quarterly NPS (0-10) and CSAT (1-5) pulses; about half get answered."""
    slots = np.arange(0, days // 90 + 1)
    idx = np.repeat(np.arange(acc.n), len(slots) * 2)
    base = (acc.survey_phase[:, None] + 90 * slots[None, :]).ravel()
    day = np.repeat(base, 2) + np.tile([0, 45], len(base))
    kind = np.tile([0, 1], len(base))  # 0 NPS, 1 CSAT
    keep = (day < days) & _exists(acc, idx, day)
    idx, day, kind = idx[keep], day[keep], kind[keep]
    h = _health_at(health, idx, day)
    m = len(idx)
    answered = rng.random(m) < np.where(kind == 0, 0.55, 0.4)
    nps = np.clip(np.round(7.2 + 1.9 * h + rng.normal(0, 1.3, m)), 0, 10)
    csat = np.clip(np.round(3.9 + 0.8 * h + rng.normal(0, 0.7, m)), 1, 5)
    role = rng.integers(0, 10_000, m) % acc.depth[idx]
    out = {"acc": idx, "day": day, "kind": kind, "score": np.where(kind == 0, nps, csat), "role": role}
    return _select(out, answered)


def incidents(rng, acc: AccountTraits, health: np.ndarray) -> Events:
    """Rare critical events; payroll errors dominate on payroll-bearing products."""
    payroll_product = np.where(acc.product == 1, 1.0, 1.6)  # COR runs no payroll
    rate = 0.0012 * payroll_product[:, None] * np.exp(-0.5 * health)
    idx, day = _expand_counts(rng.poisson(rate))
    keep = _exists(acc, idx, day)
    idx, day = idx[keep], day[keep]
    m = len(idx)
    kind = rng.choice(4, m, p=[0.5, 0.15, 0.2, 0.15])
    severity = rng.choice(3, m, p=[0.35, 0.4, 0.25])
    return {"acc": idx, "day": day, "second": rng.integers(0, 86_400, m), "kind": kind, "severity": severity}


def activities(rng, acc: AccountTraits, csms: CsmTraits, health: np.ndarray, active_to: np.ndarray) -> Events:
    """CSM touchpoints: tier target x the owning CSM's activity level, a little more when at risk."""
    n, d = health.shape
    target = np.array([t.touches_per_month for t in TIERS.values()])[acc.tier] / 30.0
    days = np.arange(d)
    owner = np.where(days[None, :] < acc.switch_day[:, None], acc.owner_before[:, None], acc.owner_after[:, None])
    rate = target[:, None] * csms.activity[owner] * (1.0 + 0.3 * (health < -0.8))
    alive = (days[None, :] >= acc.active_from[:, None]) & (days[None, :] <= active_to[:, None])
    idx, day = _expand_counts(rng.poisson(np.where(alive, rate, 0.0)))
    m = len(idx)
    kind = rng.choice([0, 1, 3, 4], m, p=[0.3, 0.4, 0.2, 0.1])  # call, email, meeting, internal_review
    mean_minutes = np.array([30, 5, 0, 45, 30])[kind]
    minutes = np.clip(np.round(mean_minutes * rng.uniform(0.5, 1.6, m)), 1, 600)
    role = np.where(kind == 4, -1, rng.integers(0, 10_000, m) % acc.depth[idx])
    return {"acc": idx, "day": day, "owner": owner[idx, day], "kind": kind, "minutes": minutes, "role": role}


def daily_counts(n: int, days: int, events: Events, mask: np.ndarray | None = None) -> np.ndarray:
    """Row-wise cumulative event counts with a leading zero column: window counts are differences."""
    acc, day = events["acc"], events["day"]
    if mask is not None:
        acc, day = acc[mask], day[mask]
    grid = np.zeros((n, days + 1), dtype=np.int32)
    np.add.at(grid, (acc, day + 1), 1)
    return np.cumsum(grid, axis=1, dtype=np.int32)


def last_value_before(n: int, days: int, events: Events, value: np.ndarray) -> np.ndarray:
    """grid[i, t] = the latest value observed strictly before day t (NaN if none)."""
    grid = np.full((n, days + 1), np.nan, dtype=np.float32)
    order = np.lexsort((events["day"], events["acc"]))
    grid[events["acc"][order], events["day"][order] + 1] = value[order]
    filled = np.where(np.isnan(grid), 0, np.arange(days + 1)[None, :])
    np.maximum.accumulate(filled, axis=1, out=filled)
    return grid[np.arange(n)[:, None], filled]
