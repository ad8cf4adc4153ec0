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
    flag_share: float
    min_resolved_renewals: int
    lead_days: int
    target_rate: float
    max_variance_pp: float
    sample_above_accounts: int = 50_000
    training_sample_accounts: int = 2_000
    score_chunk_rows: int = 100_000
    driver_accounts: int = 10_000
    stage_account_days: int = 1_000_000
    holdout_every: int = 5
    min_holdout_churned: int = 5
    min_holdout_auc: float = 0.60
    max_calibration_ratio: float = 2.0
    max_book_flag_share: float = 0.25
    min_learned_renewals: int = 150
    min_baseline_renewals: int = 20
    baseline_prior_renewals: int = 10


def _scale(raw: dict) -> dict:
    """The optional [scale] section (big worlds); a config without it keeps the defaults."""
    names = ("sample_above_accounts", "training_sample_accounts", "score_chunk_rows", "driver_accounts", "stage_account_days")
    return {name: int(raw[name]) for name in names if name in raw}


def _replay(raw: dict) -> dict:
    """The optional [replay] section (the monthly models' check, fallback and warm-up; churn/replay.py)."""
    ints = ("holdout_every", "min_holdout_churned", "min_learned_renewals", "min_baseline_renewals",
            "baseline_prior_renewals")
    floats = ("min_holdout_auc", "max_calibration_ratio", "max_book_flag_share")
    return {**{n: int(raw[n]) for n in ints if n in raw}, **{n: float(raw[n]) for n in floats if n in raw}}


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
            flag_share=float(raw["early_warning"]["flag_share"]),
            min_resolved_renewals=int(raw["early_warning"]["min_resolved_renewals"]),
            lead_days=int(raw["early_warning"]["lead_days"]),
            target_rate=float(raw["early_warning"]["target_rate"]),
            max_variance_pp=float(raw["early_warning"]["max_variance_pp"]),
            **_scale(raw.get("scale", {})), **_replay(raw.get("replay", {})),
        )
    if not 0 < config.high < 1:
        raise ChurnConfigError(f"{path}: risk_levels.high must lie between 0 and 1")
    if not 0 < config.flag_share < 1 or not 0 < config.flag_threshold < config.high:
        raise ChurnConfigError(f"{path}: early_warning.flag_share must lie between 0 and 1, and threshold between 0 "
                               "and risk_levels.high")
    if config.holdout_every < 2 or config.max_calibration_ratio <= 1 or config.min_baseline_renewals < 1:
        raise ChurnConfigError(f"{path}: [replay] needs holdout_every >= 2, max_calibration_ratio > 1 and "
                               "min_baseline_renewals >= 1")
    scale_counts = (config.score_chunk_rows, config.driver_accounts, config.stage_account_days)
    if not 0 < config.training_sample_accounts <= config.sample_above_accounts or min(scale_counts) < 1:
        raise ChurnConfigError(f"{path}: [scale] needs 0 < training_sample_accounts <= sample_above_accounts "
                               "and score_chunk_rows, driver_accounts, stage_account_days >= 1")
    if config.lead_days >= config.horizon_days:
        raise ChurnConfigError(f"{path}: early_warning.lead_days must be below horizon_days")
    return config
