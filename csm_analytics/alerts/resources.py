"""The alerts domain's resources: what its assets, sensors and schedules are configured with."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from csm_analytics.alerts.config import AlertConfig, load_alert_config
from csm_analytics.alerts.outbox import Outbox
from csm_analytics.lib import paths
from csm_analytics.lib.actions_store import ActionsStore


class AlertOutboxResource(ConfigurableResource):
    """The durable outbox (SQLite, outside the warehouse), the alert rules file, and the workspace side store
    (read for the acknowledgments and dismissals made in the app; empty = `lib.paths.workspace_actions_path`)."""

    path: str = ""
    rules_path: str = ""
    workspace_actions_path: str = ""

    def outbox(self) -> Outbox:
        return Outbox(self.path or paths.data_dir() / "alerts" / "outbox.sqlite")

    def config(self) -> AlertConfig:
        return load_alert_config(self.rules_path or None)

    def workspace_responses(self) -> list[dict]:
        """The first acknowledgment and dismissal of each alert in the workspace app; none when nobody has used
        the app yet (no side store). An unreadable store raises SideStoreError."""
        path = Path(self.workspace_actions_path) if self.workspace_actions_path else paths.workspace_actions_path()
        if not path.exists():
            return []
        return ActionsStore(path, create=False).alert_responses()
