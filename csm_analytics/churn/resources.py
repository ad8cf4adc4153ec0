"""The churn domain's resources: what its assets, sensors and schedules are configured with."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from csm_analytics.churn.config import ChurnConfig, load_churn_config
from csm_analytics.lib import paths


class ChurnSettingsResource(ConfigurableResource):
    """Churn config file (default: the shipped churn_config.toml) and where model files are kept."""

    config_path: str = ""
    model_dir: str = ""

    def load(self) -> ChurnConfig:
        return load_churn_config(self.config_path or None)

    @property
    def models(self) -> Path:
        return Path(self.model_dir) if self.model_dir else paths.data_dir() / "models"
