"""The health domain's resources: what its assets, sensors and schedules are configured with."""

from __future__ import annotations

from dagster import ConfigurableResource

from csm_analytics.health.config import HealthConfig, config_path, load_health_config


class HealthConfigResource(ConfigurableResource):
    """Path of the health config TOML (weights per tier, bands, tier cadences)."""

    path: str = ""

    def load(self) -> HealthConfig:
        return load_health_config(self.path or config_path())
