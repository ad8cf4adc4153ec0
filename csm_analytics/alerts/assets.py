"""Dagster wiring of the alert assets: alert events, alert quality and the response SLA (sensors, jobs and
schedules are in sensors.py, jobs.py and schedules.py)."""

import datetime as dt

from dagster import (
    AssetKey,
    MaterializeResult,
    asset,
)
from dagster_duckdb import DuckDBResource

from csm_analytics.alerts.quality import (
    HISTORY_SQL, QUALITY_SQL, WORKSPACE_ACKS_SQL, response_sla_rows, with_workspace_acknowledgments,
)
from csm_analytics.alerts.resources import AlertOutboxResource
from csm_analytics.alerts.rules import alert_events_sql
from csm_analytics.lib.metadata import preview, table_md
from csm_analytics.lib.warehouse import (
    WAREHOUSE_POOL,
    fetch_dicts,
    replace_table,
    table_exists,
)

EVENTS_KEY = AssetKey(["alerts", "alert_events"])
UPSTREAM = [AssetKey(["core", "health_band_transitions"]), AssetKey(["core", "account_health_history"]),
            AssetKey(["ml", "churn_predictions"])] + [
    AssetKey(["raw", t]) for t in ("invoices", "support_tickets", "incidents", "contracts", "csm_assignments", "csms")]



@asset(pool=WAREHOUSE_POOL, key=EVENTS_KEY, group_name="alerts", kinds={"duckdb", "slack"}, deps=UPSTREAM,
       description="Every alert the rules raise, with a stable key; the live ones are recorded in the outbox for delivery.")
def alert_events(duckdb: DuckDBResource, alert_outbox: AlertOutboxResource) -> MaterializeResult:
    config = alert_outbox.config()
    with duckdb.get_connection() as con:
        has_predictions = table_exists(con, "ml.churn_predictions")
        rows = replace_table(con, "alerts.alert_events", alert_events_sql(config, has_predictions))
        latest = con.execute("SELECT max(as_of_date) FROM core.account_health_history").fetchall()[0][0]
        live_from = latest - dt.timedelta(days=config.live_lookback_days)
        live = fetch_dicts(con, "SELECT * FROM alerts.alert_events WHERE event_date >= ?", [live_from])
        by_rule = con.execute("SELECT rule, severity, count(*) FROM alerts.alert_events GROUP BY ALL ORDER BY 1, 2").fetchall()
        recent = preview(con, "SELECT alert_key, severity, account_id, csm_id, headline FROM alerts.alert_events "
                              "ORDER BY event_date DESC, alert_key LIMIT 10")
    added = alert_outbox.outbox().enqueue(live)
    return MaterializeResult(metadata={
        "dagster/row_count": rows, "by_rule": table_md(by_rule, ["rule", "severity", "alerts"]),
        "live_from": str(live_from), "live_alerts": len(live), "newly_enqueued": added, "latest": recent})


QUALITY_KEY = AssetKey(["marts", "alert_quality"])
SLA_KEY = AssetKey(["marts", "alert_response_sla"])


@asset(pool=WAREHOUSE_POOL, key=QUALITY_KEY, group_name="alerts", kinds={"duckdb"},
       deps=[EVENTS_KEY, AssetKey(["raw", "activities"]), AssetKey(["raw", "contracts"]),
             AssetKey(["raw", "alert_acknowledgments"])],
       description="Per rule: alerts fired, follow-up within 7 days, precision and recall against renewal outcomes.")
def alert_quality(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        rows = replace_table(con, "marts.alert_quality", QUALITY_SQL)
        table = preview(con, "SELECT * FROM marts.alert_quality", 20)
    return MaterializeResult(metadata={"dagster/row_count": rows, "quality": table})


@asset(pool=WAREHOUSE_POOL, key=SLA_KEY, group_name="alerts", kinds={"duckdb"},
       deps=[EVENTS_KEY, AssetKey(["raw", "alert_acknowledgments"]), AssetKey(["raw", "workspace_actions"])],
       description="Response time to delivered alerts against the SLA (4 h critical, 24 h warning), from the outbox; "
                   "an acknowledgment in the workspace app counts like a Slack ✅.")
def alert_response_sla(duckdb: DuckDBResource, alert_outbox: AlertOutboxResource) -> MaterializeResult:
    import pandas as pd

    config = alert_outbox.config()
    with duckdb.get_connection() as con:
        history = fetch_dicts(con, HISTORY_SQL)
        workspace_acks = fetch_dicts(con, WORKSPACE_ACKS_SQL) if table_exists(con, "raw.workspace_actions") else []
    live = with_workspace_acknowledgments([dict(r) for r in alert_outbox.outbox().rows()], workspace_acks)
    everything = history + live
    frame = pd.DataFrame(response_sla_rows(everything, config.sla_hours))
    by_csm = response_sla_rows(everything, config.sla_hours, group="csm_id")
    with duckdb.get_connection() as con:
        rows = replace_table(con, "marts.alert_response_sla", "SELECT * FROM frame", frame=frame)
        table = preview(con, "SELECT * FROM marts.alert_response_sla")
    per_csm = [(r["csm_id"], r["coverage"], r["median_hours_to_ack"], r["pct_within_sla"])
               for r in by_csm if r["severity"] == "critical"]
    return MaterializeResult(metadata={
        "dagster/row_count": rows, "sla": table, "history_alerts": len(history), "live_alerts": len(live),
        "critical_by_csm": table_md(per_csm, ["CSM", "alerts", "median hours to ack", "share within SLA"])})


alert_assets = [alert_events, alert_quality, alert_response_sla]
