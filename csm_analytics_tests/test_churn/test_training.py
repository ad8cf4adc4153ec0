"""The churn training and backtest summary functions, on hand-built tables (no Dagster)."""

from __future__ import annotations

import duckdb
import pytest

from csm_analytics.churn.config import load_churn_config
from csm_analytics.churn.model import ModelCard
from csm_analytics.churn.training import backtest_summary, record_version


def _accuracy_table(rows):
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.renewal_forecast_accuracy (contracts INT, actually_churned INT, flagged_churners INT, "
                "predicted_churn DOUBLE, flagged_60d_before_end INT, variance_noise_pp DOUBLE)")
    for row in rows:
        con.execute("INSERT INTO marts.renewal_forecast_accuracy VALUES (?, ?, ?, ?, ?, ?)", list(row))
    return con


def test_backtest_summary_pools_every_cohort():
    # Two cohorts of 10 renewals: 2 + 1 churned, 2 + 0 of them flagged, 4 + 2 renewals flagged in all.
    con = _accuracy_table([(10, 2, 2, 1.5, 4, 3.0), (10, 1, 0, 1.5, 2, 4.0)])
    summary = backtest_summary(con)
    assert (summary.contracts, summary.churned, summary.flagged, summary.flagged_all) == (20, 3, 2, 6)
    assert summary.rate == pytest.approx(2 / 3)
    assert summary.variance_pp == pytest.approx(0.0)  # predicted 3.0 against 3 churned
    assert summary.false_alarms == 4  # 6 flagged - 2 churners flagged
    # noise: sqrt((3.0 * 10)^2 + (4.0 * 10)^2) = 50 -> 50 / 20 contracts = 2.50 pp
    meta = summary.metadata(load_churn_config())
    assert meta["variance_noise_pp"].startswith("+/-2.50 pp")
    assert meta["false_alarm_rate"].startswith("23.5% of the 17 renewals")  # 4 / 17
    assert meta["early_warning_rate"].startswith("66.7% (2 of 3 churners")


def test_backtest_summary_of_an_empty_backtest_says_na():
    summary = backtest_summary(_accuracy_table([]))
    assert summary.rate is None and summary.variance_pp is None
    assert summary.metadata(load_churn_config())["early_warning_rate"] == "n/a"


def test_record_version_appends_to_the_registry(tmp_path):
    con = duckdb.connect()
    card = ModelCard(version="v1", champion="logistic", trained_at="2026-01-01T00:00:00+00:00",
                     train_window=("2025-01-01", "2025-06-30"), validation_window=("2025-07-01", "2025-12-31"),
                     validation={"logistic": {"roc_auc": 0.8, "brier": 0.05}}, calibration=[], top_features=[],
                     features=[], horizon_days=90)
    record_version(con, card, tmp_path / "m.joblib")
    record_version(con, card, tmp_path / "m.joblib")
    assert con.execute("SELECT count(*), min(champion), min(validation_roc_auc) FROM ml.churn_model_versions").fetchall() \
        == [(2, "logistic", 0.8)]
