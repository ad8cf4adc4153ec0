"""Dagster wiring of the churn domain: model, predictions, daily snapshots (replayed), flag thresholds, accuracy."""

import datetime as dt
import os
from pathlib import Path

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)
from dagster_duckdb import DuckDBResource

from csm_analytics.churn import model as churn_model
from csm_analytics.churn import scoring
from csm_analytics.churn.backtest import (
    REPLAY_COLUMNS,
    REPLAY_SELECT,
    as_model_frame,
    forecast_accuracy_sql,
    score_replayed,
    thresholds_with_models_sql,
)
from csm_analytics.churn.config import ChurnConfig
from csm_analytics.churn.features import (
    features_sql,
    labelled_sql,
)
from csm_analytics.churn.replay import plan_replay, replay_table
from csm_analytics.churn.resources import ChurnSettingsResource
from csm_analytics.churn.sampling import big_world, training_accounts
from csm_analytics.churn.training import backtest_summary, record_version, train_champion
from csm_analytics.health.assets import RAW_INPUTS
from csm_analytics.health.resources import HealthConfigResource
from csm_analytics.lib.metadata import preview, table_md
from csm_analytics.lib.partitions import HISTORY_PARTITIONS
from csm_analytics.lib.partitions import history_bounds as partition_bounds
from csm_analytics.lib.warehouse import (
    WAREHOUSE_POOL,
    replace_date_range,
    replace_table,
    table_exists,
)

MODEL_KEY = AssetKey(["ml", "churn_model"])
VERSIONS_KEY = AssetKey(["ml", "churn_model_versions"])
PREDICTIONS_KEY = AssetKey(["ml", "churn_predictions"])
SNAPSHOTS_KEY = AssetKey(["ml", "churn_snapshots"])
THRESHOLDS_KEY = AssetKey(["ml", "churn_flag_thresholds"])
ACCURACY_KEY = AssetKey(["marts", "renewal_forecast_accuracy"])
RAW_DEPS = [AssetKey(["raw", t]) for t in RAW_INPUTS]



def history_bounds(con=None) -> tuple[dt.date, dt.date]:
    """The daily history; given the warehouse, it ends on the last day of product usage loaded: a day's partition
    can exist before its export lands (an open-ended history has one a day), and the nightly churn steps must not
    score, or learn labels as of, a day with no data."""
    first, last = partition_bounds(HISTORY_PARTITIONS)
    if con is not None and table_exists(con, "raw.product_usage"):
        loaded = con.execute("SELECT max(CAST(usage_date AS DATE)) FROM raw.product_usage").fetchall()[0][0]
        last = min(last, loaded) if loaded else last
    return first, last


def training_bounds(con=None) -> tuple[dt.date, dt.date]:
    """The days the model learns from: the daily history, or from CSM_TRAINING_START (YYYY-MM-DD) on.

    Labels need contracts that have ended, so when the daily assets cover only recent days
    (CSM_HISTORY_START, as the big-world benchmarks set it), training still reads the raw history."""
    first, last = history_bounds(con)
    if start := os.environ.get("CSM_TRAINING_START"):
        first = dt.date.fromisoformat(start)
    return first, last


def _training_frame(con, health, config: ChurnConfig) -> tuple[pd.DataFrame, str]:
    """Labelled weekly snapshots, and which accounts they cover (all, or a stratified sample on a big world)."""
    first, last = training_bounds(con)
    accounts, used, total = training_accounts(con, config)
    sql = labelled_sql(features_sql(first + dt.timedelta(days=1), last, health, config.training_every_days, accounts,
                                    trajectory=not big_world(con, config)), config.horizon_days)
    covered = f"all {total:,} accounts" if accounts is None else \
        f"stratified sample of {used:,} of {total:,} accounts (churn_config.toml [scale])"
    return as_model_frame(con.execute(sql).df()), covered


@multi_asset(name="ml__churn_model", pool=WAREHOUSE_POOL, specs=[
    AssetSpec(MODEL_KEY, group_name="churn", kinds={"sklearn", "duckdb"}, deps=RAW_DEPS,
              description="Champion churn model (calibrated), chosen on a time-based validation window; saved and "
                          "versioned."),
    AssetSpec(VERSIONS_KEY, group_name="churn", kinds={"duckdb"}, deps=[MODEL_KEY],
              description="Registry of every saved churn model (version, family, file, validation scores), appended "
                          "by each training; the scoring assets read the latest.")])
def churn_model_asset(duckdb: DuckDBResource, health_config: HealthConfigResource,
                      churn_settings: ChurnSettingsResource):
    config = churn_settings.load()
    with duckdb.get_connection() as con:
        frame, covered = _training_frame(con, health_config.load(), config)
        _, last = training_bounds(con)
    trained = train_champion(frame, config, last)
    card, results, important = trained.card, trained.results, trained.important
    path = churn_model.save(trained.model, card, churn_settings.models)
    with duckdb.get_connection() as con:
        record_version(con, card, path)
    rows = [(n, round(r["roc_auc"], 4), round(r["pr_auc"], 4), round(r["brier"], 4), r["rows"], r["positives"])
            for n, r in results.items()]
    yield MaterializeResult(asset_key=MODEL_KEY, metadata={
        "version": card.version, "champion": card.champion, "model_file": MetadataValue.path(str(path)),
        "champion_vs_challenger": table_md(rows, ["candidate", "ROC AUC", "PR AUC", "Brier", "rows", "positives"]),
        "calibration_by_decile": table_md(card.calibration, ["decile", "rows", "mean predicted", "observed"]),
        "top_features": table_md(important, ["feature", "ROC AUC drop when permuted"]),
        "train_window": f"{card.train_window[0]} .. labels resolved by {card.train_window[1]}",
        "validation_window": f"{card.validation_window[0]} .. {card.validation_window[1]}",
        "horizon_days": config.horizon_days, "training_rows": trained.training_rows, "training_accounts": covered,
    })
    # after the model: a multi-asset yields its outputs in dependency order
    yield MaterializeResult(asset_key=VERSIONS_KEY, metadata={"latest_version": card.version,
                                                              "model_file": MetadataValue.path(str(path))})


def _latest_model(con, churn_settings: ChurnSettingsResource):
    rows = con.execute("SELECT path FROM ml.churn_model_versions ORDER BY trained_at DESC, version DESC LIMIT 1").fetchall()
    if not rows:
        raise RuntimeError("no churn model has been trained: materialize ml/churn_model first")
    return churn_model.load(Path(rows[0][0]))


def _latest_flag_threshold(con, config: ChurnConfig) -> float:
    """The early-warning threshold of the latest replayed month: the backtest's flag is today's flag too."""
    if not table_exists(con, "ml.churn_flag_thresholds"):
        return config.flag_threshold
    rows = con.execute("SELECT flag_threshold FROM ml.churn_flag_thresholds ORDER BY month DESC LIMIT 1").fetchall()
    return float(rows[0][0]) if rows else config.flag_threshold


@asset(pool=WAREHOUSE_POOL, key=PREDICTIONS_KEY, group_name="churn", kinds={"sklearn", "duckdb"},
       deps=[MODEL_KEY, VERSIONS_KEY, THRESHOLDS_KEY, *RAW_DEPS],
       description="Churn probability, risk level, early-warning flag (the learned threshold), revenue at risk and "
                   "top drivers for every active account, today.")
def churn_predictions(duckdb: DuckDBResource, health_config: HealthConfigResource,
                      churn_settings: ChurnSettingsResource) -> MaterializeResult:
    config = churn_settings.load()
    with duckdb.get_connection() as con:
        _, last = history_bounds(con)
        model, card = _latest_model(con, churn_settings)
        scoring.stage_features(con, features_sql(last, last, health_config.load(),
                                                 trajectory=not big_world(con, config)))
        threshold = _latest_flag_threshold(con, config)
        out, explained = scoring.predictions(con, model, card.version, config, threshold)
    with duckdb.get_connection() as con:
        rows = replace_table(con, "ml.churn_predictions", "SELECT * FROM frame", frame=out)
        levels = con.execute("SELECT risk_level, count(*), round(sum(revenue_at_risk)) FROM ml.churn_predictions "
                             "GROUP BY 1 ORDER BY 3 DESC").fetchall()
        top = preview(con, "SELECT account_id, churn_probability, risk_level, revenue_at_risk, top_drivers, days_to_renewal "
                           "FROM ml.churn_predictions ORDER BY revenue_at_risk DESC", 10)
    return MaterializeResult(metadata={"dagster/row_count": rows, "model_version": card.version,
                                       "flag_threshold": f"{threshold:.3f} (Medium and early warning at or above it, "
                                                         f"High at or above {config.high})",
                                       "risk_levels": table_md(levels, ["risk level", "accounts", "revenue at risk"]),
                                       "total_revenue_at_risk": float(out.revenue_at_risk.sum()), "top_10": top,
                                       "drivers_named_for": explained})


@asset(pool=WAREHOUSE_POOL, key=SNAPSHOTS_KEY, group_name="churn", kinds={"sklearn", "duckdb"}, partitions_def=HISTORY_PARTITIONS,
       backfill_policy=BackfillPolicy.single_run(), deps=[MODEL_KEY, VERSIONS_KEY, *RAW_DEPS],
       description="Each day's churn probability for every active account, replayed without leakage "
                   "(monthly retraining on an expanding window).")
def churn_snapshots(context: AssetExecutionContext, duckdb: DuckDBResource, health_config: HealthConfigResource,
                    churn_settings: ChurnSettingsResource) -> MaterializeResult:
    config, health = churn_settings.load(), health_config.load()
    keys = context.partition_key_range
    start, end = dt.date.fromisoformat(keys.start), dt.date.fromisoformat(keys.end)
    with duckdb.get_connection() as con:
        _, card = _latest_model(con, churn_settings)
        training, covered = _training_frame(con, health, config)
        trajectory = not big_world(con, config)
        scoring.stage_features(con, [features_sql(first, last, health, trajectory=trajectory)
                                     for first, last in scoring.day_batches(con, start, end, config)])
        plans, notes = plan_replay(training, scoring.replay_months(con), card.champion, config)
        parts = [score_replayed(chunk, plans) for chunk in scoring.feature_chunks(con, config.score_chunk_rows)]
    parts = [p for p in parts if len(p)]
    scored = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=REPLAY_COLUMNS)
    with duckdb.get_connection() as con:
        rows = replace_date_range(con, "ml.churn_snapshots", "snapshot_date", start, end, REPLAY_SELECT, frame=scored)
    return MaterializeResult(metadata={"dagster/row_count": rows, "range": f"{start} .. {end}",
                                       "model_family": card.champion, "training_accounts": covered,
                                       "months_not_scored": MetadataValue.md("\n".join(f"- {n}" for n in notes) or "none"),
                                       "model_by_month": MetadataValue.md(replay_table(plans)),
                                       "months_by_model": table_md(
                                           sorted(pd.Series([p.used.split(" (")[0] if p.used.startswith("last")
                                                             else p.used for p in plans.values()])
                                                  .value_counts().items()), ["model used", "months"])})


@asset(pool=WAREHOUSE_POOL, key=THRESHOLDS_KEY, group_name="churn", kinds={"duckdb"}, deps=[SNAPSHOTS_KEY, AssetKey(["raw", "contracts"])],
       description="The early-warning flag threshold of each replayed month, learned walk-forward as a flag budget "
                   "over the renewals decided before that month (fixed threshold until enough exist), and which "
                   "model scored the month (learned, or the baseline).")
def churn_flag_thresholds(duckdb: DuckDBResource, churn_settings: ChurnSettingsResource) -> MaterializeResult:
    config = churn_settings.load()
    with duckdb.get_connection() as con:
        rows = replace_table(con, "ml.churn_flag_thresholds", thresholds_with_models_sql(config))
        table = preview(con, "SELECT * FROM ml.churn_flag_thresholds ORDER BY month", 40)
        learned = con.execute("SELECT count(*) FILTER (walk_forward), count(*) FILTER (NOT walk_forward) "
                              "FROM ml.churn_flag_thresholds").fetchall()[0]
    return MaterializeResult(metadata={
        "dagster/row_count": rows, "thresholds_by_month": table, "walk_forward_months": learned[0],
        "fixed_threshold_months": learned[1],
        "rule": f"flag budget: the threshold of month M is the {1 - config.flag_share:.0%} quantile of the peak replayed "
                f"probability of the renewals decided before M (it would have flagged {config.flag_share:.0%} of them); "
                f"{config.flag_threshold} until {config.min_resolved_renewals} such renewals exist"})


@asset(pool=WAREHOUSE_POOL, key=ACCURACY_KEY, group_name="churn", kinds={"duckdb"}, deps=[SNAPSHOTS_KEY, THRESHOLDS_KEY],
       description="Renewal forecast backtest per quarter cohort: early-warning rate and predicted vs actual churn.",
       check_specs=[AssetCheckSpec("early_warning_rate_meets_target", asset=ACCURACY_KEY),
                    AssetCheckSpec("variance_within_target", asset=ACCURACY_KEY)])
def renewal_forecast_accuracy(duckdb: DuckDBResource, churn_settings: ChurnSettingsResource) -> MaterializeResult:
    config = churn_settings.load()
    with duckdb.get_connection() as con:
        rows = replace_table(con, "marts.renewal_forecast_accuracy",
                             forecast_accuracy_sql(config, thresholds="ml.churn_flag_thresholds"))
        summary = backtest_summary(con)
        table = preview(con, "SELECT * FROM marts.renewal_forecast_accuracy", 40)
    rate, variance = summary.rate, summary.variance_pp
    return MaterializeResult(
        metadata={"dagster/row_count": rows, "cohorts": table, **summary.metadata(config)},
        check_results=[
            AssetCheckResult(check_name="early_warning_rate_meets_target", severity=AssetCheckSeverity.WARN,
                             passed=rate is not None and rate >= config.target_rate, metadata={"rate": rate or 0.0}),
            AssetCheckResult(check_name="variance_within_target", severity=AssetCheckSeverity.WARN,
                             passed=variance is not None and abs(variance) <= config.max_variance_pp,
                             metadata={"variance_pp": variance or 0.0}),
        ])


churn_assets = [churn_model_asset, churn_predictions, churn_snapshots, churn_flag_thresholds, renewal_forecast_accuracy]
