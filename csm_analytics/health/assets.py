"""Dagster wiring of the health score: weights, daily components and history, score, transitions.

The two daily-partitioned assets use a single-run backfill policy: a backfill of
the whole history is one run that computes the partition range in one SQL pass.
"""


import datetime as dt

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_duckdb import DuckDBResource

from csm_analytics.health import charts
from csm_analytics.health.components import components_sql
from csm_analytics.health.resources import HealthConfigResource
from csm_analytics.health.scoring import (
    add_config_version_column,
    history_sql,
    score_sql,
    transitions_sql,
    trend_update_sql,
    weights_values,
)
from csm_analytics.health.validation import LEAD_DAYS, score_auc
from csm_analytics.lib.metadata import png_md, preview, table_md
from csm_analytics.lib.partitions import HISTORY_PARTITIONS
from csm_analytics.lib.warehouse import (
    WAREHOUSE_POOL,
    replace_date_range,
    replace_table,
)

COMPONENTS_KEY = AssetKey(["core", "account_health_components"])
HISTORY_KEY = AssetKey(["core", "account_health_history"])
WEIGHTS_KEY = AssetKey(["core", "health_weights"])
SCORE_KEY = AssetKey(["core", "account_health_score"])
TRANSITIONS_KEY = AssetKey(["core", "health_band_transitions"])
RAW_INPUTS = ["accounts", "contracts", "product_usage", "activities", "qbrs", "support_tickets", "invoices",
              "survey_responses", "incidents"]





def _range(context: AssetExecutionContext) -> tuple[dt.date, dt.date]:
    keys = context.partition_key_range
    return dt.date.fromisoformat(keys.start), dt.date.fromisoformat(keys.end)


@asset(pool=WAREHOUSE_POOL, key=WEIGHTS_KEY, group_name="health", kinds={"duckdb"},
       description="Weight of each health component per tier, from the health config file "
                   "(validated on load: every tier, every component, each profile summing to 100).")
def health_weights(duckdb: DuckDBResource, health_config: HealthConfigResource) -> MaterializeResult:
    config = health_config.load()  # refuses a profile that does not sum to 100, so no asset check repeats it
    with duckdb.get_connection() as con:
        replace_table(con, "core.health_weights",
                      f"SELECT *, {config.healthy} AS healthy_from, {config.watch} AS watch_from FROM {weights_values(config)}")
        table = preview(con, "PIVOT core.health_weights ON tier USING any_value(weight) GROUP BY component ORDER BY component", 20)
    return MaterializeResult(
        metadata={"config_file": MetadataValue.path(config.path), "weights": table,
                  "bands": f"Healthy >= {config.healthy}, Watch >= {config.watch}, At risk below"})


@asset(pool=WAREHOUSE_POOL, key=COMPONENTS_KEY, group_name="health", kinds={"duckdb"}, partitions_def=HISTORY_PARTITIONS,
       backfill_policy=BackfillPolicy.single_run(), deps=[AssetKey(["raw", t]) for t in RAW_INPUTS],
       description="Nine health components (0-100, NULL when there is no data) per active account per day.")
def account_health_components(context: AssetExecutionContext, duckdb: DuckDBResource,
                              health_config: HealthConfigResource) -> MaterializeResult:
    start, end = _range(context)
    with duckdb.get_connection() as con:
        rows = replace_date_range(con, "core.account_health_components", "as_of_date", start, end,
                                  components_sql(start, end, health_config.load()))
        nulls = preview(con, f"""SELECT count(*) AS account_days, {', '.join(f'count(*) - count({c}) AS {c}_null' for c in
                        ('usage', 'qbr', 'payment', 'sentiment'))} FROM core.account_health_components
                        WHERE as_of_date BETWEEN DATE '{start}' AND DATE '{end}'""")
    return MaterializeResult(metadata={"dagster/row_count": rows, "range": f"{start} .. {end}", "null_components": nulls})


@asset(pool=WAREHOUSE_POOL, key=HISTORY_KEY, group_name="health", kinds={"duckdb"}, partitions_def=HISTORY_PARTITIONS,
       backfill_policy=BackfillPolicy.single_run(), deps=[COMPONENTS_KEY, WEIGHTS_KEY],
       description="Daily health score, band, points per component and 30-day trend per account, with the "
                   "version of the health config that scored the day.",
       check_specs=[AssetCheckSpec("scores_in_0_100", asset=HISTORY_KEY, blocking=True),
                    AssetCheckSpec("no_duplicate_account_day", asset=HISTORY_KEY, blocking=True)])
def account_health_history(context: AssetExecutionContext, duckdb: DuckDBResource,
                           health_config: HealthConfigResource) -> MaterializeResult:
    start, end = _range(context)
    config = health_config.load()
    with duckdb.get_connection() as con:
        if add_config_version_column(con):
            context.log.info("core.account_health_history: added config_version (NULL on the days scored before)")
        rows = replace_date_range(con, "core.account_health_history", "as_of_date", start, end,
                                  history_sql(start, end, config))
        con.execute(trend_update_sql(start, end))
        out_of_range, duplicates = con.execute(
            """SELECT (SELECT count(*) FROM core.account_health_history WHERE NOT health_score BETWEEN 0 AND 100),
                      (SELECT count(*) FROM (SELECT 1 FROM core.account_health_history
                                             GROUP BY account_id, as_of_date HAVING count(*) > 1))""").fetchall()[0]
    return MaterializeResult(
        metadata={"dagster/row_count": rows, "range": f"{start} .. {end}", "config_version": config.version()},
        check_results=[
            AssetCheckResult(check_name="scores_in_0_100", passed=out_of_range == 0, metadata={"out_of_range": out_of_range}),
            AssetCheckResult(check_name="no_duplicate_account_day", passed=duplicates == 0, metadata={"duplicates": duplicates}),
        ],
    )


@asset(pool=WAREHOUSE_POOL, key=SCORE_KEY, group_name="health", kinds={"duckdb"}, deps=[HISTORY_KEY],
       description="Each account's latest score and band, top-3 drivers, and what moved it over 7 and 30 days.",
       check_specs=[AssetCheckSpec("coverage_of_active_accounts", asset=SCORE_KEY,
                                   description="Share of accounts with a contract in force on the latest day that are scored.")])
def account_health_score(duckdb: DuckDBResource, health_config: HealthConfigResource) -> MaterializeResult:
    config = health_config.load()
    with duckdb.get_connection() as con:
        rows = replace_table(con, "core.account_health_score", score_sql())
        active = con.execute(
            """SELECT count(DISTINCT account_id) FROM raw.contracts, (SELECT max(as_of_date) AS d FROM core.account_health_score)
               WHERE d BETWEEN start_date AND end_date""").fetchall()[0][0]
        bands = con.execute("SELECT band, count(*), round(avg(health_score), 1) FROM core.account_health_score "
                            "GROUP BY band ORDER BY min(health_score) DESC").fetchall()
        scores = con.execute("SELECT health_score FROM core.account_health_score").df().health_score
        weekly = con.execute("""SELECT date_trunc('week', as_of_date) AS week, band, count(*) / 7.0 AS accounts
                                FROM core.account_health_history GROUP BY ALL ORDER BY week""").df()
        worst = preview(con, "SELECT account_id, tier, health_score, band, driver_1, driver_2, driver_3, delta_30d "
                             "FROM core.account_health_score ORDER BY health_score LIMIT 10")
        validation = score_auc(con)
    coverage = rows / active if active else 0.0
    auc = validation["auc"]
    return MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "band_distribution": table_md(bands, ["band", "accounts", "avg score"]),
            "score_histogram": png_md(charts.score_histogram(scores, config), "score histogram"),
            "band_trend": png_md(charts.band_trend(weekly), "band trend"),
            "worst_10_accounts": worst,
            f"renewal_auc_{LEAD_DAYS}d_before_end": MetadataValue.float(round(auc, 4)) if auc is not None else "n/a",
            "renewals_scored": validation["renewals"],
            "loss_rate_by_band": table_md(validation["by_band"], ["band at -60d", "renewals", "churned or downgraded"]),
        },
        check_results=[AssetCheckResult(check_name="coverage_of_active_accounts", passed=coverage >= 0.99,
                                        severity=AssetCheckSeverity.WARN,
                                        metadata={"coverage": coverage, "active_accounts": active, "scored": rows})],
    )


@asset(pool=WAREHOUSE_POOL, key=TRANSITIONS_KEY, group_name="health", kinds={"duckdb"}, deps=[HISTORY_KEY],
       description="Every band change between consecutive days, with score before/after and component deltas.")
def health_band_transitions(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        rows = replace_table(con, "core.health_band_transitions", transitions_sql())
        counts = con.execute("SELECT from_band || ' -> ' || to_band, count(*) FROM core.health_band_transitions "
                             "GROUP BY 1 ORDER BY 2 DESC").fetchall()
        latest = preview(con, "SELECT * FROM core.health_band_transitions ORDER BY transition_date DESC, account_id", 10)
    return MaterializeResult(metadata={"dagster/row_count": rows, "by_direction": table_md(counts, ["transition", "count"]),
                                       "latest": latest})


health_assets = [health_weights, account_health_components, account_health_history, account_health_score,
                 health_band_transitions]
