"""Load and validate the health configuration (weights per tier, bands, tier cadences).

Validation happens at load, so a bad edit fails before any SQL runs, with a
message that names the file and the profile to fix.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from csm_analytics.canonical.sql import sql_literal

COMPONENTS = ("usage", "engagement", "qbr", "support", "payment", "sentiment", "relationship", "renewal", "incidents")
TIERS = ("Strategic", "Enterprise", "Growth", "Core")
DEFAULT_CONFIG = Path(__file__).with_name("health_config.toml")


class HealthConfigError(ValueError):
    pass


@dataclass(frozen=True)
class TierTarget:
    touches_per_month: float
    qbr_every_days: int


# The bands from best to worst: the order every table and chart lists them in (never alphabetical).
BANDS = ("Healthy", "Watch", "At risk")


def band_rank(band) -> int:
    """Sort key putting bands in BANDS order; an unknown or empty band goes last."""
    return BANDS.index(band) if band in BANDS else len(BANDS)


@dataclass(frozen=True)
class HealthConfig:
    path: str
    healthy: float
    watch: float
    targets: dict[str, TierTarget]
    weights: dict[str, dict[str, float]]

    def targets_sql(self) -> str:
        """The tier targets as an inline SQL table: t(tier, touches_per_month, qbr_every_days)."""
        rows = ", ".join(f"({sql_literal(tier)}, {float(t.touches_per_month)!r}, {int(t.qbr_every_days)})"
                         for tier, t in self.targets.items())
        return f"(VALUES {rows}) AS t(tier, touches_per_month, qbr_every_days)"

    def with_tier_targets(self, sql: str) -> str:
        """`sql` with the tier targets bound as its input table `tier_targets`, so no caller creates a view first.

        A query that does not read `tier_targets` is returned unchanged."""
        if "tier_targets" not in sql:
            return sql
        return f"WITH tier_targets AS (SELECT * FROM {self.targets_sql()}) SELECT * FROM ({sql})"

    def version(self) -> str:
        """A short fingerprint of what decides a score (bands, tier targets, weights), not of the file's text:
        a comment or a reordering is not a new version. Each history day records the version that scored it."""
        content = {"healthy": self.healthy, "watch": self.watch, "weights": self.weights,
                   "targets": {tier: [t.touches_per_month, t.qbr_every_days] for tier, t in self.targets.items()}}
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:12]

    def band(self, score: float) -> str:
        return BANDS[0] if score >= self.healthy else BANDS[1] if score >= self.watch else BANDS[2]


def config_path() -> Path:
    return Path(os.environ.get("CSM_HEALTH_CONFIG", DEFAULT_CONFIG))


def load_health_config(path: str | Path | None = None) -> HealthConfig:
    path = Path(path) if path else config_path()
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise HealthConfigError(f"{path}: health config not found (set CSM_HEALTH_CONFIG or restore the file)") from exc
    except tomllib.TOMLDecodeError as exc:
        raise HealthConfigError(f"{path}: not valid TOML ({exc})") from exc
    bands = raw.get("bands", {})
    healthy, watch = bands.get("healthy"), bands.get("watch")
    if not (isinstance(healthy, (int, float)) and isinstance(watch, (int, float)) and 0 < watch < healthy <= 100):
        raise HealthConfigError(f"{path}: [bands] needs 0 < watch < healthy <= 100, got watch={watch}, healthy={healthy}")
    targets, weights = {}, {}
    for tier in TIERS:
        t = raw.get("tier_targets", {}).get(tier)
        if not t or t.get("touches_per_month", 0) <= 0 or t.get("qbr_every_days", 0) <= 0:
            raise HealthConfigError(f"{path}: [tier_targets] {tier} needs positive touches_per_month and qbr_every_days")
        targets[tier] = TierTarget(float(t["touches_per_month"]), int(t["qbr_every_days"]))
        profile = raw.get("weights", {}).get(tier)
        if profile is None:
            raise HealthConfigError(f"{path}: weight profile [weights.{tier}] is missing")
        unknown = set(profile) - set(COMPONENTS)
        missing = set(COMPONENTS) - set(profile)
        if unknown or missing:
            raise HealthConfigError(f"{path}: weight profile {tier}: unknown components {sorted(unknown)}, "
                                    f"missing {sorted(missing)}; expected exactly {list(COMPONENTS)}")
        if any(w < 0 for w in profile.values()):
            raise HealthConfigError(f"{path}: weight profile {tier} has a negative weight")
        total = sum(profile.values())
        if abs(total - 100) > 1e-9:
            raise HealthConfigError(f"{path}: weights for tier {tier} sum to {total:g}, expected 100: edit [weights.{tier}]")
        weights[tier] = {c: float(profile[c]) for c in COMPONENTS}
    return HealthConfig(str(path), float(healthy), float(watch), targets, weights)
