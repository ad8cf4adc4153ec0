"""Dagster wiring of the QBR pipeline and the per-account QBR packs (dynamic partitions)."""

import pandas as pd
from dagster import (
    AllPartitionMapping,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_duckdb import DuckDBResource

from csm_analytics.health.resources import HealthConfigResource
from csm_analytics.lib.metadata import preview
from csm_analytics.lib.partitions import QBR_ACCOUNTS
from csm_analytics.lib.paths import data_dir
from csm_analytics.lib.warehouse import WAREHOUSE_POOL, replace_table
from csm_analytics.reports.qbr.pack import build_pack, built_packs
from csm_analytics.reports.qbr.pipeline import qbr_action_items_sql, qbr_pipeline_sql

PACK_KEY = AssetKey(["reports", "qbr_pack"])
PIPELINE_KEY = AssetKey(["marts", "qbr_pipeline"])
DUE_FOR_PACKS = ("overdue", "this quarter")


def qbr_dir():
    return data_dir() / "reports" / "qbr"


@asset(pool=WAREHOUSE_POOL, key=["marts", "qbr_action_items"], group_name="reports", kinds={"duckdb"},
       deps=[AssetKey(["raw", t]) for t in ("qbrs", "activities", "support_tickets", "expansion_opportunities")]
       + [AssetKey(["core", "account_health_score"])],
       description="Action items of the last year's QBRs, each done / open / overdue from evidence in the data.")
def qbr_action_items(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        rows = replace_table(con, "marts.qbr_action_items", qbr_action_items_sql())
        summary = preview(con, "SELECT action, count(*) FILTER (status = 'done') AS done, count(*) FILTER "
                               "(status = 'open') AS open, count(*) FILTER (status = 'overdue') AS overdue "
                               "FROM marts.qbr_action_items GROUP BY 1 ORDER BY 1", 20)
    return MaterializeResult(metadata={"dagster/row_count": rows, "by_action": summary})


@asset(pool=WAREHOUSE_POOL, key=PIPELINE_KEY, group_name="reports", kinds={"duckdb"},
       deps=[AssetKey(["raw", t]) for t in ("accounts", "contracts", "qbrs", "csm_assignments")]
       + [AssetKey(["core", "account_health_score"])],
       description="Next QBR due per account (this quarter and next) and whether its pack is ready, stale or missing. "
                   "Adds a qbr_accounts partition for every QBR overdue or due this quarter.")
def qbr_pipeline(context: AssetExecutionContext, duckdb: DuckDBResource,
                 health_config: HealthConfigResource) -> MaterializeResult:
    packs = pd.DataFrame(built_packs(qbr_dir()), columns=["account_id", "as_of_date", "html_path"])
    packs["as_of_date"] = pd.to_datetime(packs["as_of_date"]).dt.date
    with duckdb.get_connection() as con:
        con.register("built_packs", packs)
        rows = replace_table(con, "marts.qbr_pipeline", qbr_pipeline_sql(health_config.load(), "built_packs"))
        con.unregister("built_packs")
        due = [r[0] for r in con.execute(
            "SELECT account_id FROM marts.qbr_pipeline WHERE due_window IN ('overdue', 'this quarter') "
            "ORDER BY account_id").fetchall()]
        to_build = [r[0] for r in con.execute(
            "SELECT account_id FROM marts.qbr_pipeline WHERE due_window IN ('overdue', 'this quarter') "
            "AND pack_status <> 'ready' ORDER BY next_qbr_due, account_id").fetchall()]
        summary = preview(con, "SELECT due_window, pack_status, count(*) AS accounts FROM marts.qbr_pipeline "
                               "GROUP BY ALL ORDER BY ALL", 20)
        soonest = preview(con, "SELECT account_id, account_name, tier, csm_id, last_qbr_date, next_qbr_due, "
                               "due_window, pack_status FROM marts.qbr_pipeline", 15)
    known = set(context.instance.get_dynamic_partitions(QBR_ACCOUNTS.name))
    new = [a for a in due if a not in known]
    if new:
        context.instance.add_dynamic_partitions(QBR_ACCOUNTS.name, new)
    return MaterializeResult(metadata={"dagster/row_count": rows, "status": summary, "soonest_due": soonest,
                                       "packs_due_this_quarter": len(due), "partitions_added": len(new),
                                       # due, not built from today's data, soonest first: the refresh builds these
                                       "packs_to_build": MetadataValue.json(to_build)})


@asset(pool=WAREHOUSE_POOL, key=PACK_KEY, group_name="reports", partitions_def=QBR_ACCOUNTS, kinds={"html"},
       deps=[PIPELINE_KEY, AssetKey(["ml", "churn_predictions"]), AssetKey(["marts", "qbr_action_items"]),
             AssetDep(AssetKey(["core", "account_health_history"]), partition_mapping=AllPartitionMapping())],
       description="One account's QBR data pack: ten sections, Markdown here and a self-contained HTML file "
                   "under data/reports/qbr/. `csm-analytics qbr pack ACCOUNT_ID` builds one on demand.")
def qbr_pack(context: AssetExecutionContext, duckdb: DuckDBResource,
             health_config: HealthConfigResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        pack = build_pack(con, context.partition_key, health_config.load(), out_dir=qbr_dir())
    return MaterializeResult(metadata={
        "pack": MetadataValue.md(pack.markdown), "html": MetadataValue.path(str(pack.html_path)),
        "as_of": str(pack.as_of), "seconds": round(pack.seconds, 3), "health_band": pack.facts["health"]["band"]})


qbr_assets = [qbr_action_items, qbr_pipeline, qbr_pack]
