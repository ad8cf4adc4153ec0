"""Dagster wiring of the executive monthly report: a monthly-partitioned asset and its schedule."""

import datetime as dt

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

from csm_analytics.lib.partitions import REPORT_MONTHS
from csm_analytics.lib.paths import data_dir
from csm_analytics.lib.warehouse import WAREHOUSE_POOL
from csm_analytics.reports.executive.report import collect_report, render_report

REPORT_KEY = AssetKey(["reports", "executive_monthly_report"])




def report_dir():
    return data_dir() / "reports" / "executive"


@asset(pool=WAREHOUSE_POOL, key=REPORT_KEY, group_name="reports", partitions_def=REPORT_MONTHS, kinds={"html"},
       deps=[AssetKey(["marts", k]) for k in ("revenue_retention", "renewal_forecast_accuracy", "csm_scorecard",
                                               "expansion_signals")]
       + [AssetDep(AssetKey(key), partition_mapping=AllPartitionMapping())
          for key in (["ml", "churn_snapshots"], ["core", "account_health_history"])]
       + [AssetKey(["ml", "churn_predictions"]), AssetKey(["reports", "risk_heatmap"])],
       description="The VP of Client Success's monthly report (HTML + Markdown): retention against target, ARR at "
                   "risk by CSM and segment, health trend, forecast accuracy, top risks and expansions, leaderboard.")
def executive_monthly_report(context: AssetExecutionContext, duckdb: DuckDBResource) -> MaterializeResult:
    month = dt.date.fromisoformat(context.partition_key)
    heatmap = data_dir() / "reports" / "heatmaps" / "team.png"
    with duckdb.get_connection() as con:
        facts = collect_report(con, month)
    markdown, html, _ = render_report(facts, heatmap.read_bytes() if heatmap.exists() else None)
    out = report_dir()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"executive_{month:%Y-%m}.html"
    path.write_text(html)
    (out / f"executive_{month:%Y-%m}.md").write_text(markdown)
    totals = facts["risk"]["totals"]
    return MaterializeResult(metadata={
        "report": MetadataValue.md(markdown), "html": MetadataValue.path(str(path)), "as_of": str(facts["as_of"]),
        "arr_in_force": round(totals["arr"] or 0, 2), "revenue_at_risk": round(totals["revenue_at_risk"] or 0, 2)})


executive_assets = [executive_monthly_report]
