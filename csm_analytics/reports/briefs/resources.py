"""The briefs domain's resources: what its assets, sensors and schedules are configured with."""

from __future__ import annotations

from dagster import ConfigurableResource

from csm_analytics.reports.briefs.config import BriefsConfig, load_briefs_config


class BriefsConfigResource(ConfigurableResource):
    """Path of briefs_config.toml (daily-brief thresholds and send time, heatmap size); empty = the shipped file."""

    path: str = ""

    def load(self) -> BriefsConfig:
        return load_briefs_config(self.path or None)
