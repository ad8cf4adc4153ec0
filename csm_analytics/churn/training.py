"""Training the production churn model and summarising its backtest, as plain functions (no Dagster).

The assets in `assets.py` only read the warehouse, call these and attach the results as metadata, so
tests exercise model selection, refitting, the model card and the backtest summary without Dagster.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from csm_analytics.churn import model as churn_model
from csm_analytics.churn.config import ChurnConfig
from csm_analytics.churn.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES
from csm_analytics.lib.stats import wilson_interval

FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES
VERSIONS_DDL = ("CREATE TABLE IF NOT EXISTS ml.churn_model_versions (version VARCHAR, champion VARCHAR, "
                "path VARCHAR, trained_at VARCHAR, validation_roc_auc DOUBLE, validation_brier DOUBLE)")


@dataclass
class TrainedChampion:
    """The production model (champion refitted on every labelled row), its card and what chose it."""

    model: object
    card: churn_model.ModelCard
    results: dict[str, dict]
    important: list[tuple]
    training_rows: int


def train_champion(frame: pd.DataFrame, config: ChurnConfig, last: dt.date) -> TrainedChampion:
    """Choose the champion on the validation window before `last`, name its top features, refit it on all labels."""
    validation_start = last - dt.timedelta(days=config.validation_days)
    selection = churn_model.select_champion(frame, NUMERIC_FEATURES, CATEGORICAL_FEATURES, validation_start)
    champion, results, valid = selection.champion, selection.results, selection.valid
    y_valid = valid.churned.to_numpy()
    important = churn_model.top_features(selection.models[champion], valid.reset_index(drop=True), y_valid, FEATURES)
    known = frame[frame.label_known]
    production = churn_model.fit(champion, known, NUMERIC_FEATURES, CATEGORICAL_FEATURES)
    card = churn_model.ModelCard(
        version=churn_model.version_of(known, champion), champion=champion,
        trained_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        train_window=(str(selection.train.snapshot_date.min().date()), str(selection.train.label_resolved_on.max().date())),
        validation_window=(str(validation_start), str(last)), validation=results,
        calibration=churn_model.calibration_table(y_valid, selection.predictions[champion]), top_features=important,
        features=FEATURES, horizon_days=config.horizon_days)
    return TrainedChampion(production, card, results, important, len(known))


def record_version(con, card: churn_model.ModelCard, path) -> None:
    """Append the saved model to ml.churn_model_versions (the registry the scoring assets read)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ml")
    con.execute(VERSIONS_DDL)
    result = card.validation[card.champion]
    con.execute("INSERT INTO ml.churn_model_versions VALUES (?, ?, ?, ?, ?, ?)",
                [card.version, card.champion, str(path), card.trained_at, result["roc_auc"], result["brier"]])


ACCURACY_TOTALS_SQL = """
SELECT sum(contracts), sum(actually_churned), sum(flagged_churners), sum(predicted_churn),
       sum(flagged_60d_before_end), sqrt(sum(power(variance_noise_pp * contracts, 2)))
FROM marts.renewal_forecast_accuracy"""


@dataclass
class BacktestSummary:
    """The renewal-forecast backtest over every cohort: early warning, false alarms and variance."""

    contracts: int
    churned: int
    flagged: int
    flagged_all: int
    predicted: float
    noise: float

    @property
    def rate(self) -> float | None:
        return self.flagged / self.churned if self.churned else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(int(self.flagged), int(self.churned))

    @property
    def variance_pp(self) -> float | None:
        return 100.0 * (self.predicted - self.churned) / self.contracts if self.contracts else None

    @property
    def false_alarms(self) -> int:
        return self.flagged_all - self.flagged

    def metadata(self, config: ChurnConfig) -> dict[str, str]:
        rate, variance, low_high = self.rate, self.variance_pp, self.interval
        kept = self.contracts - self.churned
        false_alarm_rate = f"{self.false_alarms / kept:.1%}" if kept > 0 else "n/a"
        return {
            "early_warning_rate": (f"{rate:.1%} ({self.flagged} of {self.churned} churners; 95 % interval "
                                   f"{low_high[0]:.0%}-{low_high[1]:.0%}; target >= {config.target_rate:.0%})"
                                   if rate is not None else "n/a"),
            "flagged_renewals": f"{self.flagged_all} of {self.contracts} renewals flagged, {self.flagged} of them churned",
            "false_alarm_rate": f"{false_alarm_rate} of the {kept} renewals that did not churn "
                                f"were flagged ({self.false_alarms})",
            "variance_noise_pp": (f"+/-{self.noise / self.contracts:.2f} pp: the standard deviation of the overall "
                                  f"variance if every probability were exactly right (per cohort: variance_noise_pp)"
                                  if self.contracts else "n/a"),
            "variance_pp": (f"{variance:+.2f} pp (target within +/-{config.max_variance_pp:g})"
                            if variance is not None else "n/a"),
        }


def backtest_summary(con) -> BacktestSummary:
    """Totals of marts.renewal_forecast_accuracy (zeros when it has no cohort yet)."""
    contracts, churned, flagged, predicted, flagged_all, noise = (v or 0 for v in con.execute(ACCURACY_TOTALS_SQL).fetchall()[0])
    return BacktestSummary(int(contracts), int(churned), int(flagged), int(flagged_all), float(predicted), float(noise))
