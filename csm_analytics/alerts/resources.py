"""The alerts domain's resources: what its assets, sensors and schedules are configured with."""

from __future__ import annotations

from dagster import ConfigurableResource

from csm_analytics.alerts.config import AlertConfig, load_alert_config
from csm_analytics.alerts.outbox import Outbox
from csm_analytics.lib import paths


class AlertOutboxResource(ConfigurableResource):
    """The durable outbox (SQLite, outside the warehouse) and the alert rules file."""

    path: str = ""
    rules_path: str = ""

    def outbox(self) -> Outbox:
        return Outbox(self.path or paths.data_dir() / "alerts" / "outbox.sqlite")

    def config(self) -> AlertConfig:
        return load_alert_config(self.rules_path or None)
