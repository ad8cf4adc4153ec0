"""Load and validate the alert rules (severity, materiality, cooldown, routing, SLA)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from csm_analytics.lib.toml_config import read_settings, settings_errors, settings_path

DEFAULT_RULES = Path(__file__).with_name("alert_rules.toml")
RULES = ("band_transition", "score_drop", "payment_failure", "support_escalation", "critical_incident", "at_risk_renewal")
SEVERITIES = ("critical", "warning")


class AlertConfigError(ValueError):
    pass


@dataclass(frozen=True)
class AlertConfig:
    path: str
    team_channel: str
    ops_channel: str
    live_lookback_days: int
    critical_cap_per_week: int
    dagster_ui_url: str
    sla_hours: dict[str, float]
    rules: dict[str, dict]
    # Seconds one sensor tick may spend delivering, polling and escalating; well under Dagster's 60 s tick deadline.
    tick_budget_seconds: float = 15.0
    # How long a deliverer holds its claim on an alert; longer than one alert's worst-case delivery.
    lease_seconds: float = 300.0
    unassigned_channel: str = "#cs-unassigned"

    def cooldown_days(self, rule: str) -> int:
        return int(self.rules[rule].get("cooldown_days", 0))


def load_alert_config(path: str | Path | None = None) -> AlertConfig:
    path = settings_path(path, "CSM_ALERT_RULES", DEFAULT_RULES)
    with settings_errors(path, AlertConfigError, "alert rules", DEFAULT_RULES):
        raw = read_settings(path)
        delivery, sla, rules = raw["delivery"], raw["sla"], raw["rules"]
        config = AlertConfig(
            path=str(path), team_channel=delivery["team_channel"], ops_channel=delivery["ops_channel"],
            live_lookback_days=int(delivery["live_lookback_days"]),
            critical_cap_per_week=int(delivery["critical_cap_per_week"]),
            dagster_ui_url=delivery["dagster_ui_url"].rstrip("/"),
            sla_hours={"critical": float(sla["critical_hours"]), "warning": float(sla["warning_hours"])},
            rules=rules,
            tick_budget_seconds=float(delivery.get("tick_budget_seconds", 15)),
            lease_seconds=float(delivery.get("lease_seconds", 300)),
            unassigned_channel=delivery.get("unassigned_channel", "#cs-unassigned"),
        )
    if not 0 <= config.tick_budget_seconds <= 45:
        raise AlertConfigError(f"{path}: delivery.tick_budget_seconds is {config.tick_budget_seconds:g}, expected 0 to 45 "
                               "(a sensor tick must end well before Dagster's 60 s deadline)")
    if config.lease_seconds <= 0:
        raise AlertConfigError(f"{path}: delivery.lease_seconds is {config.lease_seconds:g}, expected a positive number")
    missing = set(RULES) - set(config.rules)
    if missing:
        raise AlertConfigError(f"{path}: rules {sorted(missing)} are missing; every rule needs a [rules.NAME] table")
    days = config.rules["at_risk_renewal"].get("min_days_at_risk", 1)
    if not isinstance(days, int) or days < 1:
        raise AlertConfigError(f"{path}: rules.at_risk_renewal.min_days_at_risk is {days!r}, expected a whole number of days >= 1")
    for name, rule in config.rules.items():
        for key in ("severity", "severity_into_at_risk"):
            if key in rule and rule[key] not in SEVERITIES:
                raise AlertConfigError(f"{path}: rules.{name}.{key} is {rule[key]!r}, expected one of {SEVERITIES}")
    return config
