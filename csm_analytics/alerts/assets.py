"""Dagster wiring of alerts: the alert_events asset, the delivery sensor, the digest schedule, run-failure posts."""

import datetime as dt
import json
import os
import time

from dagster import (
    AssetKey,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    MaterializeResult,
    RunFailureSensorContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset,
    job,
    op,
    run_failure_sensor,
    schedule,
    sensor,
)
from dagster_duckdb import DuckDBResource

from csm_analytics.alerts import delivery
from csm_analytics.alerts.quality import (
    HISTORY_SQL, QUALITY_SQL, WORKSPACE_ACKS_SQL, response_sla_rows, with_workspace_acknowledgments,
)
from csm_analytics.alerts.resources import AlertOutboxResource
from csm_analytics.alerts.rules import alert_events_sql
from csm_analytics.alerts.slack import SlackMessenger
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


# Seconds between ticks; the scenario tests shorten it (with DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS) to stay quick.
SENSOR_INTERVAL_SECONDS = int(os.environ.get("CSM_ALERT_SENSOR_INTERVAL_SECONDS", "30"))


@sensor(minimum_interval_seconds=SENSOR_INTERVAL_SECONDS, default_status=DefaultSensorStatus.RUNNING,
        description="Delivers pending alerts from the outbox, polls ✅ acknowledgments and escalates SLA breaches, "
                    "within a time budget per tick. Reads only the SQLite outbox, never the DuckDB warehouse.")
def alert_delivery_sensor(context: SensorEvaluationContext, alert_outbox: AlertOutboxResource, slack: SlackMessenger):
    """The cursor holds where the ✅ polling stopped when the budget ran out (`ack_poll_after_seq`): the next
    tick resumes there, so every open alert is polled in turn however many there are. Pending alerts need no
    cursor: the outbox statuses and leases are the queue."""
    outbox, config = alert_outbox.outbox(), alert_outbox.config()
    deadline = time.monotonic() + config.tick_budget_seconds
    cursor = json.loads(context.cursor) if context.cursor else {}
    poll_from = int(cursor.get("ack_poll_after_seq", 0))
    now = dt.datetime.now(dt.timezone.utc)
    transport = slack.transport()
    report = delivery.deliver_pending(outbox, transport, config, now, deadline=deadline)
    acked = escalated = 0
    if report.stopped:  # Slack unavailable, or the budget went on deliveries: polling would overrun the tick
        context.log.warning(f"delivery stopped: {report.stopped}; acknowledgments and escalations wait for the next tick")
    else:
        try:
            acked, poll_from = delivery.poll_acknowledgments_after(outbox, transport, poll_from, deadline)
            escalated = delivery.escalate_breaches(outbox, transport, config, now, deadline=deadline)
        except Exception as exc:  # noqa: BLE001 - Slack down: acks and escalations wait for the next tick
            context.log.warning(f"acknowledgments/escalations deferred: {type(exc).__name__}: {str(exc)[:200]}")
    summary = dict(report.outcomes) | {"acknowledged": acked, "escalated": escalated}
    context.log.info(f"alerts: {summary}" + (f"; stopped: {report.stopped}" if report.stopped else ""))
    new_cursor = json.dumps({"ack_poll_after_seq": poll_from})
    if not any(summary.values()):
        return SensorResult(skip_reason=SkipReason("no pending alerts"), cursor=new_cursor)
    return SensorResult(cursor=new_cursor)


@op(description="Post each CSM's weekly digest of non-critical and overflow alerts.")
def post_alert_digests(alert_outbox: AlertOutboxResource, slack: SlackMessenger) -> int:
    return delivery.send_digests(alert_outbox.outbox(), slack.transport(), dt.datetime.now(dt.timezone.utc),
                                 alert_outbox.config().unassigned_channel)


@job(description="Send the weekly alert digests.")
def weekly_alert_digest():
    post_alert_digests()


@schedule(job=weekly_alert_digest, cron_schedule="0 8 * * 1", default_status=DefaultScheduleStatus.RUNNING,
          description="Monday 08:00: each CSM's digest.")
def monday_alert_digest_schedule():
    return {}


@run_failure_sensor(description="Posts failed runs to the ops channel.", default_status=DefaultSensorStatus.RUNNING)
def run_failure_to_ops(context: RunFailureSensorContext, alert_outbox: AlertOutboxResource, slack: SlackMessenger):
    config = alert_outbox.config()
    text = f":x: Run {context.dagster_run.job_name} ({context.dagster_run.run_id[:8]}) failed: {context.failure_event.message}"
    # looked up before posting: a tick that failed after Slack took the message must not post it again
    delivery.post_once(alert_outbox.outbox(), slack.transport(), config.ops_channel, text,
                       [{"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}],
                       f"run_failure:{context.dagster_run.run_id}", may_exist=True, since=time.time() - 86400)


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
