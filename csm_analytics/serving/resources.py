"""The serving domain's resources: where the snapshot the workspace reads, and the workspace side store, live."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from csm_analytics.serving import locations
from csm_analytics.lib import paths
from csm_analytics.lib.actions_store import ActionsStore


class WorkspaceStoresResource(ConfigurableResource):
    """The serving snapshot file and the workspace side store; empty = the defaults under the data folder."""

    serving_path: str = ""
    actions_path: str = ""

    def serving(self) -> Path:
        return Path(self.serving_path) if self.serving_path else locations.serving_path()

    def actions(self) -> ActionsStore:
        return ActionsStore(self.actions_path or paths.workspace_actions_path())
