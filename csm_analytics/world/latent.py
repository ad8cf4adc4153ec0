"""Latent state of the world: CSM traits, account traits and daily latent health.

Nothing here is written to the canonical tables directly; observable tables are
noisy functions of these latents (see `events.py`), and the ground truth is
written to `_truth/` so tests can check that scores recover it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from csm_analytics.canonical.schemas import CONTACT_ROLES
from csm_analytics.world.spec import SEGMENT_BY_TIER, TIERS, WorldSpec

TIER_NAMES = np.array(list(TIERS))
SEGMENT_NAMES = np.array(["Large", "Mid-Market", "SMB"])
INDUSTRIES = np.array(
    ["Software", "Fintech", "Healthcare", "Retail", "Manufacturing", "Media", "Logistics", "Education"]
)
COUNTRIES = np.array(["US", "GB", "DE", "FR", "NL", "ES", "CA", "AU", "BR", "IN", "SG", "IE"])
COUNTRY_WEIGHTS = np.array([30, 14, 10, 7, 6, 5, 6, 5, 5, 5, 4, 3], dtype=float)
PRODUCT_NAMES = np.array(["EOR", "COR", "Payroll"])
CSM_NAMES = [
    "Ava Patel", "Ben Okafor", "Chloe Martin", "Diego Alvarez", "Elif Yilmaz", "Finn Larsen",
    "Grace Kim", "Hugo Weber", "Isla Murphy", "Jonas Berg", "Keira Singh", "Liam Rossi",
]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class CsmTraits:
    ids: np.ndarray
    start_day: np.ndarray  # relative to the window start (negative = before)
    capacity: np.ndarray
    skill: np.ndarray  # 0..1, lowers churn and raises health
    activity: np.ndarray  # multiplies touchpoint rates and QBR adherence
    adoption: np.ndarray  # analytics usage (dashboard logins per workday)
    responsiveness_hours: np.ndarray  # median alert acknowledgment time


def make_csms(spec: WorldSpec) -> CsmTraits:
    rng = np.random.default_rng([spec.seed, 0])
    m = spec.csms
    ids = np.array([f"CSM{i + 1:02d}" for i in range(m)])
    start_day = -rng.integers(200, 1500, m)
    if m >= 4:  # one CSM joins late, to give "time to full portfolio" something to measure
        start_day[-1] = spec.history_days - 180
    skill = rng.uniform(0.25, 0.95, m)
    activity = rng.uniform(0.6, 1.3, m)
    adoption = np.clip(0.15 + 0.8 * skill + rng.normal(0, 0.12, m), 0.05, 1.0)
    responsiveness = np.round(np.exp(rng.normal(np.log(3.0), 0.6, m)) / (0.5 + skill), 2)
    per_csm = spec.accounts / m
    capacity = np.maximum(5, np.ceil(per_csm * rng.uniform(1.0, 1.25, m))).astype(np.int64)
    return CsmTraits(ids, start_day, capacity, skill, activity, adoption, responsiveness)


@dataclass
class AccountTraits:
    n: int
    offset: int
    ids: np.ndarray
    tier: np.ndarray  # index into TIER_NAMES
    segment: np.ndarray
    industry: np.ndarray
    country: np.ndarray
    product: np.ndarray
    created_day: np.ndarray  # relative to window start
    active_from: np.ndarray  # first day in the window the account exists
    owner_before: np.ndarray  # csm index
    owner_after: np.ndarray
    switch_day: np.ndarray  # day ownership passes to owner_after (history_days if never)
    trajectory: np.ndarray  # 0 stable, 1 deteriorating, 2 improving
    onset_day: np.ndarray
    base_health: np.ndarray
    growth: np.ndarray  # annual worker growth rate
    payment_risk: np.ndarray
    depth: np.ndarray  # number of contact roles the relationship reaches (1..7)
    seats0: np.ndarray
    workers0: np.ndarray
    price_per_seat: np.ndarray
    term_days: np.ndarray
    billing_phase: np.ndarray
    qbr_phase: np.ndarray
    survey_phase: np.ndarray

    def owner_at(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        return np.where(day < self.switch_day[idx], self.owner_before[idx], self.owner_after[idx])


def make_accounts(spec: WorldSpec, csms: CsmTraits, chunk: int, offset: int, n: int) -> AccountTraits:
    rng = np.random.default_rng([spec.seed, 1, chunk])
    d = spec.history_days
    shares = np.array([t.share for t in TIERS.values()])
    tier = rng.choice(len(TIERS), n, p=shares)
    seg_p = np.array([SEGMENT_BY_TIER[t] for t in TIER_NAMES])[tier]
    segment = (rng.random(n)[:, None] > np.cumsum(seg_p, axis=1)).sum(axis=1)
    industry = rng.integers(0, len(INDUSTRIES), n)
    country = rng.choice(len(COUNTRIES), n, p=COUNTRY_WEIGHTS / COUNTRY_WEIGHTS.sum())
    product = rng.choice(3, n, p=[0.5, 0.25, 0.25])
    pre_window = rng.random(n) < 0.7
    created_day = np.where(pre_window, -rng.integers(1, 4 * 365, n), rng.integers(0, max(1, d - 45), n))
    active_from = np.maximum(created_day, 0)

    cap = csms.capacity / csms.capacity.sum()
    owner_after = rng.choice(len(cap), n, p=cap)
    owner_before = owner_after.copy()
    switch_day = np.full(n, d, dtype=np.int64)
    late = csms.start_day[owner_after] > active_from
    veterans = np.flatnonzero(csms.start_day <= 0)
    owner_before[late] = rng.choice(veterans, late.sum())
    switch_day[late] = csms.start_day[owner_after[late]] + rng.integers(0, 56, late.sum())
    moved = (~late) & (rng.random(n) < 0.06)
    new_owner = rng.choice(veterans, n)
    moved &= new_owner != owner_after
    switch_day[moved] = rng.integers(60, d - 30, moved.sum())
    owner_before[moved] = owner_after[moved]
    owner_after[moved] = new_owner[moved]

    skill = csms.skill[owner_after]
    u = rng.random(n)
    trajectory = np.where(u < 0.20, 1, np.where(u < 0.32, 2, 0))
    onset_day = rng.integers(-60, d - 30, n)
    onset_day = np.maximum(onset_day, active_from - 30)
    base_health = rng.normal(0.25, 0.75, n) + 1.0 * (skill - 0.6)
    high_growth = rng.random(n) < 0.2
    growth = np.clip(np.where(high_growth, rng.normal(0.45, 0.2, n), rng.normal(0.04, 0.1, n)), -0.3, 1.2)
    payment_risk = rng.normal(0, 1, n) + np.where(rng.random(n) < 0.1, 1.8, 0.0)
    depth_p = sigmoid(0.2 + 0.8 * base_health + 1.5 * (skill - 0.6))
    depth = 1 + rng.binomial(len(CONTACT_ROLES) - 1, depth_p)
    seats_med = np.array([t.seats_median for t in TIERS.values()])[tier]
    seats0 = np.maximum(3, np.round(seats_med * np.exp(rng.normal(0, 0.4, n)))).astype(np.int64)
    workers0 = seats0 * rng.uniform(0.9, 1.4, n)
    term_months = rng.choice([12, 24, 36], n, p=[0.72, 0.2, 0.08])
    return AccountTraits(
        n=n,
        offset=offset,
        ids=np.array([f"ACC{offset + i + 1:07d}" for i in range(n)]),
        tier=tier,
        segment=segment,
        industry=industry,
        country=country,
        product=product,
        created_day=created_day,
        active_from=active_from,
        owner_before=owner_before,
        owner_after=owner_after,
        switch_day=switch_day,
        trajectory=trajectory,
        onset_day=onset_day,
        base_health=base_health,
        growth=growth,
        payment_risk=payment_risk,
        depth=depth,
        seats0=seats0,
        workers0=workers0,
        price_per_seat=rng.uniform(550, 850, n),
        term_days=(term_months * 365 // 12).astype(np.int64),
        billing_phase=rng.integers(0, 30, n),
        qbr_phase=rng.integers(0, 90, n),
        survey_phase=rng.integers(0, 90, n),
    )


def latent_health(spec: WorldSpec, acc: AccountTraits, chunk: int) -> np.ndarray:
    """Daily latent health (n x days, higher is healthier): base + trajectory + AR(1) noise.

    Deteriorating accounts lose 1.2-2.6 units over 45-200 days from their onset;
    improving ones gain 0.8-1.8. The AR(1) noise (phi 0.985) makes weeks correlated.
    """
    rng = np.random.default_rng([spec.seed, 2, chunk])
    n, d = acc.n, spec.history_days
    days = np.arange(d, dtype=np.float32)
    magnitude = np.where(acc.trajectory == 1, -rng.uniform(1.2, 2.6, n), rng.uniform(0.8, 1.8, n))
    magnitude = np.where(acc.trajectory == 0, 0.0, magnitude).astype(np.float32)
    duration = rng.uniform(45, 200, n).astype(np.float32)
    ramp = np.clip((days[None, :] - acc.onset_day[:, None]) / duration[:, None], 0, 1)
    health = acc.base_health.astype(np.float32)[:, None] + magnitude[:, None] * ramp
    shocks = rng.normal(0, 0.06, (n, d)).astype(np.float32)
    noise = rng.normal(0, 0.35, n).astype(np.float32)
    for t in range(d):
        noise = 0.985 * noise + shocks[:, t]
        health[:, t] += noise
    return health


def window_mean(cumsum: np.ndarray, idx: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Mean of a daily grid over [lo, hi) per row, given its row-wise cumsum with a leading 0 column."""
    d = cumsum.shape[1] - 1
    lo = np.clip(lo, 0, d - 1)
    hi = np.clip(hi, lo + 1, d)
    return (cumsum[idx, hi] - cumsum[idx, lo]) / (hi - lo)


def with_leading_zero_cumsum(grid: np.ndarray) -> np.ndarray:
    out = np.zeros((grid.shape[0], grid.shape[1] + 1), dtype=np.float64)
    np.cumsum(grid, axis=1, out=out[:, 1:])
    return out
