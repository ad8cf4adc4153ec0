"""Load and validate briefs_config.toml (daily-brief thresholds, send time, heatmap size)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from csm_analytics.lib.toml_config import read_settings, settings_errors, settings_path

DEFAULT_CONFIG = Path(__file__).with_name("briefs_config.toml")
WHEN_STALE = ("wait", "send_with_notice")
POSITIVE = ("max_accounts_per_csm", "renewal_within_days", "health_drop_points_30d")


class BriefsConfigError(ValueError):
    pass


@dataclass(frozen=True)
class BriefsConfig:
    path: str
    max_accounts_per_csm: int
    renewal_within_days: int
    health_drop_points_30d: float
    send_cron: str
    timezone: str
    team_rows: int
    csm_rows: int
    when_stale: str = "wait"  # wait | send_with_notice: the 07:30 DM when today's refresh has not finished


def load_briefs_config(path: str | Path | None = None) -> BriefsConfig:
    path = settings_path(path, "CSM_BRIEFS_CONFIG", DEFAULT_CONFIG)
    with settings_errors(path, BriefsConfigError, "briefs config", DEFAULT_CONFIG):
        raw = read_settings(path)
        brief, heatmap = raw["daily_brief"], raw["heatmap"]
        config = BriefsConfig(str(path), int(brief["max_accounts_per_csm"]), int(brief["renewal_within_days"]),
                              float(brief["health_drop_points_30d"]),
                              str(brief["send_cron"]), str(brief["timezone"]), int(heatmap["team_rows"]),
                              int(heatmap["csm_rows"]), str(brief.get("when_stale", "wait")))
    for name in (*POSITIVE, "team_rows", "csm_rows"):
        if getattr(config, name) <= 0:
            raise BriefsConfigError(f"{path}: {name} must be positive, got {getattr(config, name)}")
    if config.when_stale not in WHEN_STALE:
        raise BriefsConfigError(f"{path}: when_stale must be one of {', '.join(WHEN_STALE)}, got {config.when_stale!r}")
    return config
