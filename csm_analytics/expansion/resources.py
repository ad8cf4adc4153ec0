"""The expansion domain's resources: what its assets, sensors and schedules are configured with."""

from __future__ import annotations

from dagster import ConfigurableResource

from csm_analytics.expansion.config import ExpansionConfig, load_expansion_config


class ExpansionConfigResource(ConfigurableResource):
    """Path of the expansion config TOML (readiness weights and scaling, validation, forecast calibration)."""

    path: str = ""

    def load(self) -> ExpansionConfig:
        return load_expansion_config(self.path or None)
