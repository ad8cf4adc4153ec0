"""Parameters of the demo world: its size and the causal coefficients.

The causal structure is documented in docs/world.md; every coefficient used by
the generator is named here so the docs and the code cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

DEFAULT_AS_OF = dt.date(2026, 9, 30)
CHUNK_ACCOUNTS = 10_000  # fixed: the chunking is part of what makes a seed reproducible


@dataclass(frozen=True)
class TierProfile:
    share: float  # share of accounts
    seats_median: float  # licensed seats at the first contract
    touches_per_month: float  # CSM touchpoint target (also the generator's base rate)
    qbr_every_days: int  # QBR frequency the tier is sold with
    tickets_per_day: float  # support ticket base rate at neutral health
    churn_intercept: float  # base log-odds of churn at a renewal
    plan_share: float  # share of accounts that keep an account plan


TIERS: dict[str, TierProfile] = {
    "Strategic": TierProfile(0.08, 400, 6.0, 90, 0.060, -3.90, 0.95),
    "Enterprise": TierProfile(0.17, 150, 4.0, 90, 0.040, -3.65, 0.90),
    "Growth": TierProfile(0.35, 45, 2.0, 180, 0.020, -3.40, 0.45),
    "Core": TierProfile(0.40, 12, 1.0, 365, 0.010, -3.20, 0.15),
}

SEGMENT_BY_TIER = {  # P(Large, Mid-Market, SMB | tier)
    "Strategic": (0.85, 0.15, 0.0),
    "Enterprise": (0.55, 0.45, 0.0),
    "Growth": (0.05, 0.65, 0.30),
    "Core": (0.0, 0.25, 0.75),
}


@dataclass(frozen=True)
class ChurnCoefficients:
    """Log-odds contributions to churn at a contract's end (see docs/world.md)."""

    latent_health: float = -1.05  # per unit of mean latent health 120..30 days before the end
    usage_decline: float = -0.60  # per unit of latent-health change over the last 120 days
    escalations_90d: float = 0.40  # per escalated ticket in the last 90 days (capped at 3)
    failed_payments_180d: float = 0.55  # per failed invoice in the last 180 days (capped at 3)
    missed_qbrs_365d: float = 0.45  # per scheduled QBR not held in the last 365 days
    detractor_nps: float = 0.70  # latest NPS before the end is 0..6
    critical_incidents_180d: float = 0.80  # per payroll error / critical incident (capped at 2)
    csm_skill: float = -1.50  # per unit of owning-CSM skill above 0.6
    downgrade_offset: float = -0.55  # downgrade log-odds = churn log-odds + offset


@dataclass(frozen=True)
class ExpansionCoefficients:
    """Organic expansion opportunities: a daily rate and a win probability (see docs/world.md).

    Seat pressure = engaged workers ÷ licensed seats on the day (engaged = workers × (0.25 + 0.6·σ(1.2h))),
    capped at `pressure_cap`: the demand for seats the contract has to meet. It grows through a term as
    workers grow and resets when a renewal adds the seats won.
    """

    rate_per_year: float = 0.30  # opportunities per account-year at growth 0, pressure 0.7, health 0
    rate_growth: float = 3.5  # log-rate per unit of annual worker growth
    rate_pressure: float = 3.5  # log-rate per unit of the day's seat pressure
    rate_health: float = 0.4  # log-rate per unit of the day's latent health
    pressure_cap: float = 1.2  # demand beyond this many engaged workers per seat adds no more pressure
    win_intercept: float = -0.4  # log-odds of a win at growth 0, pressure 0.7, health 0, skill 0.6
    win_health: float = 0.9
    win_growth: float = 2.5
    win_pressure: float = 2.0
    win_skill: float = 1.5  # per unit of the owning CSM's skill above 0.6
    close_days_min: int = 20  # an opportunity closes close_days_min .. close_days_max - 1 days after it opens
    close_days_max: int = 120
    one_open_at_a_time: bool = True  # no new organic opportunity while the account's last one is still open
    qbr_followup: float = 0.45  # share of held QBRs with expansion talk followed by an opportunity ...
    qbr_lag_days_min: int = 5  # ... qbr_lag_days_min .. qbr_lag_days_max - 1 days later
    qbr_lag_days_max: int = 30


@dataclass(frozen=True)
class WorldSpec:
    accounts: int = 220
    csms: int = 8
    seed: int = 7
    as_of: dt.date = DEFAULT_AS_OF
    history_days: int = 730
    usage_grain: str = "auto"  # day | week | month | auto (day up to 20,000 accounts, else week)
    churn: ChurnCoefficients = field(default_factory=ChurnCoefficients)
    expansion: ExpansionCoefficients = field(default_factory=ExpansionCoefficients)

    @property
    def start(self) -> dt.date:
        return self.as_of - dt.timedelta(days=self.history_days - 1)

    @property
    def resolved_usage_grain(self) -> str:
        if self.usage_grain != "auto":
            return self.usage_grain
        return "day" if self.accounts <= 20_000 else "week"

    def manifest(self) -> dict:
        out = asdict(self)
        out["as_of"] = self.as_of.isoformat()
        out["usage_grain"] = self.resolved_usage_grain
        out["chunk_accounts"] = CHUNK_ACCOUNTS
        return out
