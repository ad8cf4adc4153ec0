"""Dagster wiring of the executive monthly report: a monthly-partitioned asset and its schedule."""

import datetime as dt
import os

from dagster import (
    AllPartitionMapping, AssetDep, AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue,
    MonthlyPartitionsDefinition, asset,
    build_schedule_from_partitioned_job, define_asset_job,
)
from dagster_duckdb import DuckDBResource

from csm_analytics.lib.warehouse import WAREHOUSE_POOL
from csm_analytics.lib.paths import data_dir
from csm_analytics.reports.executive.report import collect_report, render_report
from csm_analytics.world.spec import DEFAULT_AS_OF

REPORT_KEY = AssetKey(["reports", "executive_monthly_report"])


def report_months() -> MonthlyPartitionsDefinition:
    """Months from the first with a full year of history to the month of the last scored day (CSM_HISTORY_END)."""
    end = os.environ.get("CSM_HISTORY_END", DEFAULT_AS_OF.isoformat())
    end_exclusive = None
    if end:
        last = dt.date.fromisoformat(end)
        end_exclusive = ((last.replace(day=28) + dt.timedelta(days=4)).replace(day=1)).isoformat()
    return MonthlyPartitionsDefinition(start_date=os.environ.get("CSM_REPORT_START", "2025-10-01"),
                                       end_date=end_exclusive)


REPORT_MONTHS = report_months()


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


executive_report_job = define_asset_job("executive_monthly_report", selection=[REPORT_KEY],
                                        partitions_def=REPORT_MONTHS)
# Runs on the 1st at 06:00 for the month just ended.
executive_report_schedule = build_schedule_from_partitioned_job(executive_report_job, hour_of_day=6)
executive_assets = [executive_monthly_report]
