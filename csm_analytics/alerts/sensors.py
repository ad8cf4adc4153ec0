"""The alerts' sensors: delivery from the outbox to Slack (exactly once, within a time budget per tick), and
failed runs posted to the ops channel."""

import datetime as dt
import json
import os
import time

from dagster import (
    DefaultSensorStatus,
    RunFailureSensorContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from csm_analytics.alerts import delivery
from csm_analytics.alerts.resources import AlertOutboxResource
from csm_analytics.alerts.slack import SlackMessenger
from csm_analytics.lib.actions_store import SideStoreError

# Seconds between ticks; the scenario tests shorten it (with DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS) to stay quick.
SENSOR_INTERVAL_SECONDS = int(os.environ.get("CSM_ALERT_SENSOR_INTERVAL_SECONDS", "30"))


@sensor(minimum_interval_seconds=SENSOR_INTERVAL_SECONDS, default_status=DefaultSensorStatus.RUNNING,
        description="Applies acknowledgments and dismissals made in the workspace app, delivers pending alerts from "
                    "the outbox, polls ✅ acknowledgments and escalates SLA breaches, within a time budget per tick. "
                    "Reads only the SQLite outbox and the workspace side store, never the DuckDB warehouse.")
def alert_delivery_sensor(context: SensorEvaluationContext, alert_outbox: AlertOutboxResource, slack: SlackMessenger):
    """The cursor holds where the ✅ polling stopped when the budget ran out (`ack_poll_after_seq`): the next
    tick resumes there, so every open alert is polled in turn however many there are. Pending alerts need no
    cursor: the outbox statuses and leases are the queue."""
    outbox, config = alert_outbox.outbox(), alert_outbox.config()
    deadline = time.monotonic() + config.tick_budget_seconds
    cursor = json.loads(context.cursor) if context.cursor else {}
    poll_from = int(cursor.get("ack_poll_after_seq", 0))
    now = dt.datetime.now(dt.timezone.utc)
    try:  # first: an alert acknowledged in the app is not escalated, a dismissed one not sent
        answered = delivery.apply_workspace_responses(outbox, alert_outbox.workspace_responses())
    except SideStoreError as exc:
        answered = {}
        context.log.warning(f"workspace acknowledgments not applied this tick: {exc}")
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
    summary = dict(report.outcomes) | {"acknowledged": acked, "escalated": escalated} | {
        f"workspace_{k}": v for k, v in answered.items()}
    context.log.info(f"alerts: {summary}" + (f"; stopped: {report.stopped}" if report.stopped else ""))
    new_cursor = json.dumps({"ack_poll_after_seq": poll_from})
    if not any(summary.values()):
        return SensorResult(skip_reason=SkipReason("no pending alerts"), cursor=new_cursor)
    return SensorResult(cursor=new_cursor)


@run_failure_sensor(description="Posts failed runs to the ops channel.", default_status=DefaultSensorStatus.RUNNING)
def run_failure_to_ops(context: RunFailureSensorContext, alert_outbox: AlertOutboxResource, slack: SlackMessenger):
    config = alert_outbox.config()
    text = f":x: Run {context.dagster_run.job_name} ({context.dagster_run.run_id[:8]}) failed: {context.failure_event.message}"
    # looked up before posting: a tick that failed after Slack took the message must not post it again
    delivery.post_once(alert_outbox.outbox(), slack.transport(), config.ops_channel, text,
                       [{"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}],
                       f"run_failure:{context.dagster_run.run_id}", may_exist=True, since=time.time() - 86400)
