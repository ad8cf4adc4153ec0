"""Load and validate the expansion settings (readiness weights and scaling, validation, forecast)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from csm_analytics.lib.toml_config import read_settings, settings_errors, settings_path

DEFAULT_CONFIG = Path(__file__).with_name("expansion_config.toml")
COMPONENTS = ("hiring_velocity", "seat_ceiling", "new_country", "cor_to_eor", "qbr_expansion", "health_momentum")


class ExpansionConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ExpansionConfig:
    weights: dict[str, float]
    growth_90d_from: float
    growth_90d_full: float
    utilization_from: float
    utilization_full: float
    health_from: float
    health_full: float
    health_rise_full: float
    intent_days: int
    qbr_days: int
    validation_horizon_days: int
    validation_every_days: int
    validation_warmup_days: int
    min_lift: float
    calibration_prior_weight: float
    target_variance: float
    strong_variance: float
    estimate_max_share_of_arr: float = 1.0  # [estimate] max_share_of_arr: the bound on estimated_expansion_arr


def load_expansion_config(path: str | Path | None = None) -> ExpansionConfig:
    path = settings_path(path, "CSM_EXPANSION_CONFIG", DEFAULT_CONFIG)
    with settings_errors(path, ExpansionConfigError, "expansion config", DEFAULT_CONFIG):
        raw = read_settings(path)
        s, v, f = raw["readiness_scaling"], raw["validation"], raw["forecast"]
        config = ExpansionConfig(
            weights={name: float(raw["readiness_weights"][name]) for name in COMPONENTS},
            growth_90d_from=float(s["growth_90d_from"]), growth_90d_full=float(s["growth_90d_full"]),
            utilization_from=float(s["utilization_from"]), utilization_full=float(s["utilization_full"]),
            health_from=float(s["health_from"]), health_full=float(s["health_full"]),
            health_rise_full=float(s["health_rise_full"]), intent_days=int(s["intent_days"]), qbr_days=int(s["qbr_days"]),
            validation_horizon_days=int(v["horizon_days"]), validation_every_days=int(v["every_days"]),
            validation_warmup_days=int(v["warmup_days"]), min_lift=float(v["min_lift"]),
            calibration_prior_weight=float(f["calibration_prior_weight"]),
            target_variance=float(f["target_variance"]), strong_variance=float(f["strong_variance"]),
            estimate_max_share_of_arr=float(raw.get("estimate", {}).get("max_share_of_arr", 1.0)),
        )
    total = sum(config.weights.values())
    if abs(total - 100) > 1e-9 or min(config.weights.values()) < 0:
        raise ExpansionConfigError(f"{path}: [readiness_weights] must be non-negative and sum to 100, got {total:g}")
    for lo, hi, name in [(config.growth_90d_from, config.growth_90d_full, "growth_90d"),
                         (config.utilization_from, config.utilization_full, "utilization"),
                         (config.health_from, config.health_full, "health")]:
        if not lo < hi:
            raise ExpansionConfigError(f"{path}: [readiness_scaling] {name}_from must be below {name}_full")
    if not config.estimate_max_share_of_arr > 0:
        raise ExpansionConfigError(f"{path}: [estimate] max_share_of_arr must be positive, "
                                   f"got {config.estimate_max_share_of_arr:g}")
    return config
