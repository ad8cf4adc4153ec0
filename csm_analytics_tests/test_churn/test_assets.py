"""The churn assets on the default world: model card, replayed snapshots, backtest, schedule."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
from dagster import build_schedule_context

from csm_analytics.churn.assets import churn_assets
from csm_analytics.churn.schedules import nightly_churn_schedule
from csm_analytics_tests.fixtures import assert_same_snapshots
from csm_analytics_tests.fixtures import run_churn as _run


def _metadata(result, node):
    return result.asset_materializations_for_node(node)[0].metadata


def test_model_card(churned):
    result, warehouse, models = churned
    meta = _metadata(result, "ml__churn_model")
    for key in ("champion_vs_challenger", "calibration_by_decile", "top_features", "train_window", "validation_window"):
        assert key in meta, key
    table = meta["champion_vs_challenger"].value
    assert "logistic_regression" in table and "hist_gradient_boosting" in table
    assert meta["calibration_by_decile"].value.count("\n") == 11  # header, rule, 10 deciles
    version = meta["version"].value
    assert (models / f"churn_{version}.joblib").exists() and (models / f"churn_{version}.json").exists()
    con = duckdb.connect(str(warehouse), read_only=True)
    auc, brier = con.execute("SELECT validation_roc_auc, validation_brier FROM ml.churn_model_versions").fetchall()[0]
    assert auc > 0.8 and brier < 0.1


def test_predictions(churned):
    _, warehouse, _ = churned
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute("SELECT count(*), min(churn_probability), max(churn_probability), "
                       "count(*) FILTER (abs(revenue_at_risk - arr * churn_probability) > 0.01 * arr) "
                       "FROM ml.churn_predictions").fetchall()[0]
    active = con.execute("SELECT count(DISTINCT account_id) FROM raw.contracts "  # under contract on the last day
                         "WHERE (SELECT max(usage_date) FROM raw.product_usage) BETWEEN start_date AND end_date").fetchall()[0][0]
    assert rows[0] == active > 0 and 0 <= rows[1] <= rows[2] <= 1 and rows[3] == 0
    levels = dict(con.execute("SELECT risk_level, count(*) FROM ml.churn_predictions GROUP BY 1").fetchall())
    assert set(levels) <= {"High", "Medium", "Low"} and levels.get("High", 0) > 0
    # today's flag is the backtest's flag: the threshold of the latest replayed month
    latest = con.execute("SELECT flag_threshold FROM ml.churn_flag_thresholds ORDER BY month DESC LIMIT 1").fetchall()
    mismatched = con.execute(
        "SELECT count(*) FILTER (flag_threshold <> ?), "
        "count(*) FILTER (early_warning <> (churn_probability >= flag_threshold)), "
        "count(*) FILTER ((risk_level = 'Low') <> (churn_probability < flag_threshold)) "
        "FROM ml.churn_predictions", [latest[0][0]]).fetchall()[0]
    assert mismatched == (0, 0, 0)


def test_snapshots_never_use_a_model_that_saw_the_day(churned):
    _, warehouse, _ = churned
    con = duckdb.connect(str(warehouse), read_only=True)
    later = con.execute("SELECT count(*) FROM ml.churn_snapshots WHERE model_trained_through >= snapshot_date").fetchall()
    assert later == [(0,)]
    days = con.execute("SELECT count(DISTINCT snapshot_date), max(snapshot_date) FROM ml.churn_snapshots").fetchall()[0]
    assert days[0] >= 365 and days[1] == dt.date(2026, 9, 30)


def test_rerunning_a_snapshot_day_replaces_it(churned, tmp_path):
    _, source, models = churned
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(source, warehouse)
    query = "SELECT list((account_id, churn_probability) ORDER BY account_id) FROM ml.churn_snapshots WHERE snapshot_date = ?"
    day = "2026-02-10"
    before = duckdb.connect(str(warehouse), read_only=True).execute(query, [day]).fetchall()[0][0]
    snapshots = [a for a in churn_assets if any(k.path[-1] == "churn_snapshots" for k in a.keys)]
    assert _run(warehouse, models, snapshots, day, day).success
    con = duckdb.connect(str(warehouse), read_only=True)
    assert_same_snapshots(con.execute(query, [day]).fetchall()[0][0], before)
    assert con.execute("SELECT count(*) FROM (SELECT 1 FROM ml.churn_snapshots GROUP BY account_id, snapshot_date "
                       "HAVING count(*) > 1)").fetchall() == [(0,)]


def test_forecast_accuracy_has_cohorts(churned):
    result, warehouse, _ = churned
    con = duckdb.connect(str(warehouse), read_only=True)
    cohorts = con.execute("SELECT count(*), sum(contracts), sum(actually_churned) FROM marts.renewal_forecast_accuracy").fetchall()[0]
    assert cohorts[0] >= 4 and cohorts[2] > 0
    meta = _metadata(result, "marts__renewal_forecast_accuracy")
    assert "target >= 75%" in meta["early_warning_rate"].value and "95 % interval" in meta["early_warning_rate"].value
    assert "renewals flagged" in meta["flagged_renewals"].value
    checks = {c.check_name for c in result.get_asset_check_evaluations()}
    assert checks == {"early_warning_rate_meets_target", "variance_within_target"}


def test_flag_thresholds_one_per_replayed_month(churned):
    result, warehouse, _ = churned
    con = duckdb.connect(str(warehouse), read_only=True)
    months = con.execute("SELECT count(DISTINCT date_trunc('month', snapshot_date)) FROM ml.churn_snapshots").fetchall()
    rows = con.execute("SELECT count(*), count(*) FILTER (walk_forward), "
                       "count(*) FILTER (NOT walk_forward AND flag_threshold <> 0.20), "
                       "count(*) FILTER (walk_forward AND resolved_renewals < 100), "
                       "count(*) FILTER (flag_threshold NOT BETWEEN 0 AND 1) FROM ml.churn_flag_thresholds").fetchall()[0]
    assert rows[0] == months[0][0] and rows[1] > 0 and rows[2:] == (0, 0, 0)
    # the number of resolved churners only grows month by month
    counts = [r[0] for r in con.execute("SELECT resolved_churners FROM ml.churn_flag_thresholds ORDER BY month").fetchall()]
    assert counts == sorted(counts)
    assert "thresholds_by_month" in _metadata(result, "ml__churn_flag_thresholds")
    # every scored month says which model scored it: learned, or the baseline
    used = {r[0] for r in con.execute("SELECT DISTINCT model_used FROM ml.churn_flag_thresholds").fetchall()}
    assert used and all(u == "learned" or u.startswith("baseline (") for u in used)
    assert "model_by_month" in _metadata(result, "ml__churn_snapshots")


def test_nightly_schedule_snapshots_yesterday():
    context = build_schedule_context(scheduled_execution_time=dt.datetime(2026, 9, 30, 2, 0, tzinfo=dt.timezone.utc))
    requests = list(nightly_churn_schedule.evaluate_tick(context).run_requests)
    assert len(requests) == 1 and requests[0].partition_key == "2026-09-29"
    assert nightly_churn_schedule.cron_schedule == "0 2 * * *"


def test_the_nightly_churn_steps_end_on_the_last_day_loaded_not_on_a_partition_without_data():
    """An open-ended history has today's partition before its export lands: predictions and the replay's training
    frame are as of the last day of product usage loaded, never a later day with no data."""
    import datetime as dt

    import duckdb

    from csm_analytics.churn.assets import history_bounds

    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.product_usage AS SELECT 'A1' AS account_id, DATE '2026-09-27' AS usage_date")
        assert history_bounds()[1] == dt.date(2026, 9, 30)  # the suite's partitions (conftest)
        assert history_bounds(con)[1] == dt.date(2026, 9, 27)
        con.execute("INSERT INTO raw.product_usage VALUES ('A1', DATE '2026-10-03')")  # data past the partitions
        assert history_bounds(con)[1] == dt.date(2026, 9, 30)
