"""The evaluation's worlds (seeds kept apart from the dev seeds) and the pooled targets, from evaluation_config.toml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from csm_analytics.lib.toml_config import read_settings, settings_errors, settings_path

DEFAULT_CONFIG = Path(__file__).with_name("evaluation_config.toml")


class EvaluationConfigError(ValueError):
    """The evaluation settings file is missing, broken, or lists a dev seed as an evaluation seed."""


@dataclass(frozen=True)
class EvaluationConfig:
    seeds: list[int]
    accounts: int
    csms: int
    dev_seeds_chosen_on: list[int]
    dev_seeds_checked_on: list[int]
    targets: dict[str, float]

    @property
    def dev_seeds(self) -> list[int]:
        return sorted(set(self.dev_seeds_chosen_on) | set(self.dev_seeds_checked_on))


def load_evaluation_config(path: str | Path | None = None) -> EvaluationConfig:
    path = settings_path(path, "CSM_EVALUATION_CONFIG", DEFAULT_CONFIG)
    with settings_errors(path, EvaluationConfigError, "evaluation settings", DEFAULT_CONFIG):
        raw = read_settings(path)
        config = EvaluationConfig(seeds=[int(s) for s in raw["seeds"]], accounts=int(raw["accounts"]),
                                  csms=int(raw["csms"]), dev_seeds_chosen_on=list(raw["dev_seeds"]["chosen_on"]),
                                  dev_seeds_checked_on=list(raw["dev_seeds"]["checked_on"]),
                                  targets={k: float(v) for k, v in raw["targets"].items()})
    check_seeds(config.seeds, config.dev_seeds)
    return config


def check_seeds(seeds: list[int], dev_seeds: list[int]) -> None:
    """Refuse an evaluation seed that settings were chosen or checked on: its figures would flatter the model."""
    overlap = sorted(set(seeds) & set(dev_seeds))
    if overlap:
        raise EvaluationConfigError(f"seed(s) {overlap} were used to choose or check settings (dev_seeds); "
                                    "evaluate on other seeds, or move them out of dev_seeds if that is no longer true")
    if len(set(seeds)) != len(seeds):
        raise EvaluationConfigError(f"seeds {seeds} repeat a seed; list each world once")
