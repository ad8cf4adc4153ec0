"""Dagster wiring of the briefs: the daily brief mart, its weekday Slack DMs, and the risk heatmap PNGs."""

import base64

from dagster import (
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_duckdb import DuckDBResource

from csm_analytics.alerts.resources import AlertOutboxResource
from csm_analytics.health.resources import HealthConfigResource
from csm_analytics.lib import paths
from csm_analytics.lib.metadata import table_md
from csm_analytics.lib.warehouse import WAREHOUSE_POOL, replace_table
from csm_analytics.reports.briefs import daily
from csm_analytics.reports.briefs.heatmap import (
    heatmap_rows,
    render_risk_heatmap,
    risk_sql,
)
from csm_analytics.reports.briefs.resources import BriefsConfigResource

BRIEF_KEY = AssetKey(["marts", "csm_daily_brief"])
HEATMAP_KEY = AssetKey(["reports", "risk_heatmap"])
RAW = [AssetKey(["raw", t]) for t in ("accounts", "contracts", "csm_assignments", "csms")]



def heatmap_dir():
    return paths.data_dir() / "reports" / "heatmaps"


def _png(data: bytes, title: str) -> MetadataValue:
    return MetadataValue.md(f"![{title}](data:image/png;base64,{base64.b64encode(data).decode()})")


@asset(pool=WAREHOUSE_POOL, key=BRIEF_KEY, group_name="reports", kinds={"duckdb"},
       deps=[AssetKey(["core", "account_health_score"]), AssetKey(["marts", "account_plan_status"]),
             AssetKey(["alerts", "alert_events"]), AssetKey(["marts", "qbr_action_items"]), AssetKey(["raw", "activities"]),
             AssetKey(["raw", "qbrs"]), *RAW],
       description="Per CSM, the accounts that need attention today in priority order (red renewals, health drops, "
                   "critical alerts, missed QBRs, stale plans, overdue actions): 7 columns besides csm_id, at most 10 "
                   "rows per CSM. Row order is the priority (read with ORDER BY rowid).")
def csm_daily_brief(duckdb: DuckDBResource, health_config: HealthConfigResource, alert_outbox: AlertOutboxResource,
                    briefs_config: BriefsConfigResource) -> MaterializeResult:
    config = briefs_config.load()
    alerts = daily.open_critical_alerts(alert_outbox.outbox().rows("severity = 'critical'"))
    with duckdb.get_connection() as con:
        rows = daily.write_daily_brief(con, config, health_config.load(), alerts)
        brief = con.execute(daily.READ_SQL).df()
        as_of = con.execute("SELECT max(as_of_date) FROM core.account_health_score").fetchall()[0][0]
    per_csm = brief.groupby("csm_id").size()
    reasons = brief["reason"].str.extract(r"^(At risk, renews|Health fell|Open critical|\d+ open critical|QBR overdue|"
                                          r"No QBR|Account plan|No account plan|\d+ QBR action)")[0].value_counts()
    return MaterializeResult(metadata={
        "dagster/row_count": rows, "as_of_date": str(as_of)[:10], "open_critical_alerts": len(alerts),
        "accounts_per_csm": table_md(list(per_csm.items()), ["CSM", "accounts on the list"]),
        "why_listed": table_md(list(reasons.items()), ["reason starts with", "accounts"]),
        "brief": MetadataValue.md(brief.to_markdown(index=False) if len(brief) else "_no account needs attention_")})


@asset(pool=WAREHOUSE_POOL, key=HEATMAP_KEY, group_name="reports", kinds={"duckdb", "matplotlib"},
       deps=[AssetKey(["core", "account_health_components"]), *RAW],
       description="Risk by account on five dimensions (payroll accuracy, payment health, engagement, growth, "
                   "sentiment) = 100 minus health components; a PNG per CSM and one for the team in "
                   "data/reports/heatmaps/.")
def risk_heatmap(duckdb: DuckDBResource, briefs_config: BriefsConfigResource) -> MaterializeResult:
    config = briefs_config.load()
    order = "overall_risk DESC NULLS LAST, arr DESC, account_id"
    with duckdb.get_connection() as con:
        rows = replace_table(con, "reports.risk_heatmap", risk_sql())
        team = con.execute(f"SELECT * FROM reports.risk_heatmap ORDER BY {order} LIMIT {config.team_rows}").df()
        books = con.execute(f"SELECT * FROM reports.risk_heatmap QUALIFY row_number() OVER "
                            f"(PARTITION BY csm_id ORDER BY {order}) <= {config.csm_rows}").df()
        sizes = dict(con.execute("SELECT csm_id, count(*) FROM reports.risk_heatmap GROUP BY csm_id").fetchall())
        as_of = con.execute("SELECT max(as_of_date) FROM core.account_health_components").fetchall()[0][0]
    folder = heatmap_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):  # a CSM who left keeps no stale picture
        old.unlink()
    note = f"As of {str(as_of)[:10]}. Risk = 100 minus the health component; grey = no data."
    shown_rows = {"team": (len(team), rows)}
    images = {"team": render_risk_heatmap(heatmap_rows(team, with_csm=True),
                                          f"Team risk heatmap: the {len(team)} riskiest of {rows} accounts",
                                          note + " Each row names the account's CSM.")}
    for csm_id, book in books.groupby("csm_id"):
        shown = (f"the {len(book)} riskiest of {sizes[csm_id]} accounts" if sizes[csm_id] > len(book)
                 else f"{len(book)} accounts")
        images[csm_id] = render_risk_heatmap(heatmap_rows(book), f"{csm_id} risk heatmap: {shown}", note)
        shown_rows[csm_id] = (len(book), sizes[csm_id])
    for name, data in images.items():
        (folder / f"{name}.png").write_bytes(data)
    metadata = {"dagster/row_count": rows, "as_of_date": str(as_of)[:10], "folder": str(folder), "files": len(images),
                "rows_shown": table_md([(k, *v) for k, v in shown_rows.items()], ["picture", "rows", "accounts"])}
    metadata |= {f"heatmap_{name}": _png(data, name) for name, data in images.items()}
    return MaterializeResult(metadata=metadata)


brief_assets = [csm_daily_brief, risk_heatmap]
