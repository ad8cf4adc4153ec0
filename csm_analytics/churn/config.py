"""Load and validate the churn settings (horizon, risk levels, early-warning threshold)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from csm_analytics.lib.toml_config import read_settings, settings_errors, settings_path

DEFAULT_CONFIG = Path(__file__).with_name("churn_config.toml")


class ChurnConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ChurnConfig:
    horizon_days: int
    training_every_days: int
    validation_days: int
    min_training_churned_contracts: int
    high: float
    flag_threshold: float
    catch_share: float
    threshold_floor: float
    threshold_cap: float
    min_resolved_churners: int
    lead_days: int
    target_rate: float
    max_variance_pp: float
    sample_above_accounts: int = 50_000
    training_sample_accounts: int = 2_000
    score_chunk_rows: int = 100_000
    driver_accounts: int = 10_000
    stage_account_days: int = 1_000_000


def _scale(raw: dict) -> dict:
    """The optional [scale] section (big worlds); a config without it keeps the defaults."""
    names = ("sample_above_accounts", "training_sample_accounts", "score_chunk_rows", "driver_accounts", "stage_account_days")
    return {name: int(raw[name]) for name in names if name in raw}


def load_churn_config(path: str | Path | None = None) -> ChurnConfig:
    path = settings_path(path, "CSM_CHURN_CONFIG", DEFAULT_CONFIG)
    with settings_errors(path, ChurnConfigError, "churn config", DEFAULT_CONFIG):
        raw = read_settings(path)
        config = ChurnConfig(
            horizon_days=int(raw["horizon_days"]), training_every_days=int(raw["training_every_days"]),
            validation_days=int(raw["validation_days"]),
            min_training_churned_contracts=int(raw["min_training_churned_contracts"]),
            high=float(raw["risk_levels"]["high"]),
            flag_threshold=float(raw["early_warning"]["threshold"]),
            catch_share=float(raw["early_warning"]["catch_share"]),
            threshold_floor=float(raw["early_warning"]["threshold_floor"]),
            threshold_cap=float(raw["early_warning"]["threshold_cap"]),
            min_resolved_churners=int(raw["early_warning"]["min_resolved_churners"]),
            lead_days=int(raw["early_warning"]["lead_days"]),
            target_rate=float(raw["early_warning"]["target_rate"]),
            max_variance_pp=float(raw["early_warning"]["max_variance_pp"]),
            **_scale(raw.get("scale", {})),
        )
    if not 0 < config.high < 1:
        raise ChurnConfigError(f"{path}: risk_levels.high must lie between 0 and 1")
    if not 0 < config.catch_share < 1 or not 0 < config.flag_threshold < 1:
        raise ChurnConfigError(f"{path}: early_warning.catch_share and threshold must lie between 0 and 1")
    if not 0 < config.threshold_floor <= config.flag_threshold <= config.threshold_cap < config.high:
        raise ChurnConfigError(f"{path}: early_warning needs 0 < threshold_floor <= threshold <= threshold_cap "
                               f"< risk_levels.high")
    scale_counts = (config.score_chunk_rows, config.driver_accounts, config.stage_account_days)
    if not 0 < config.training_sample_accounts <= config.sample_above_accounts or min(scale_counts) < 1:
        raise ChurnConfigError(f"{path}: [scale] needs 0 < training_sample_accounts <= sample_above_accounts "
                               "and score_chunk_rows, driver_accounts, stage_account_days >= 1")
    if config.lead_days >= config.horizon_days:
        raise ChurnConfigError(f"{path}: early_warning.lead_days must be below horizon_days")
    return config
