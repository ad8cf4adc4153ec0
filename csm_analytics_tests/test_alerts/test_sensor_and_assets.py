"""The delivery sensor (cursor, restart, no DuckDB), the alert_events asset on the default world, and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys

import duckdb
from dagster import DagsterInstance, build_sensor_context, materialize
from dagster_duckdb import DuckDBResource

from csm_analytics.alerts.assets import alert_events
from csm_analytics.alerts.sensors import alert_delivery_sensor
from csm_analytics.alerts.outbox import Outbox
from csm_analytics.alerts.resources import AlertOutboxResource
from csm_analytics.alerts.slack import SlackMessenger
from csm_analytics_tests.test_alerts.conftest import TEAM, make_alert, rules_file


def _context(outbox_path, slack, cursor=None, rules_path=""):
    return build_sensor_context(cursor=cursor, resources={
        "alert_outbox": AlertOutboxResource(path=str(outbox_path), rules_path=rules_path,
                                            workspace_actions_path=str(outbox_path.parent / "actions.sqlite")),
        "slack": SlackMessenger(token=slack.token, base_url=slack.url, backoff_factor=0.01)})


def test_a_restarted_sensor_delivers_what_landed_while_it_was_down(tmp_path, slack):
    """The queue is the outbox, not the cursor: an alert enqueued between two ticks (or while the daemon
    was down) is delivered by the next tick, whatever cursor it starts from."""
    path = tmp_path / "outbox.sqlite"
    Outbox(path).enqueue([make_alert("k1")])
    alert_delivery_sensor(_context(path, slack))
    Outbox(path).enqueue([make_alert("k2", account="A2")])  # lands between two ticks
    second = alert_delivery_sensor(_context(path, slack, cursor=None))  # a restarted daemon that lost its cursor
    assert second.skip_reason is None and Outbox(path).get("k2")["status"] == "sent"
    third = alert_delivery_sensor(_context(path, slack, cursor=second.cursor))
    assert third.skip_reason is not None
    assert len(slack.posts(TEAM)) == 2 and {m["metadata"]["event_payload"]["alert_key"] for m in slack.posts(TEAM)} == {"k1", "k2"}


def test_the_cursor_resumes_acknowledgment_polling_where_the_budget_stopped_it(tmp_path, slack):
    """With no time budget each tick polls one open alert. The cursor (`ack_poll_after_seq`) makes the next
    tick, or a restarted daemon given the stored cursor, poll the next alert; without it every tick would poll
    the first alert again and never see the ✅ on the third."""
    path = tmp_path / "outbox.sqlite"
    outbox = Outbox(path)
    outbox.enqueue([make_alert(f"k{i}", account=f"A{i}", csm=f"CSM0{i}", slack_id=f"UCSM0{i}") for i in (1, 2, 3)])
    alert_delivery_sensor(_context(path, slack))  # delivers all three
    slack.react(TEAM, outbox.get("k3")["ts"], "white_check_mark", "UCSM03")
    no_budget = rules_file(tmp_path, tick_budget_seconds=0)

    cursor = None
    for _ in range(3):  # without the cursor: always the first alert
        alert_delivery_sensor(_context(path, slack, cursor=cursor, rules_path=no_budget))
    assert outbox.get("k3")["acknowledged_at"] is None

    seqs = [outbox.get(f"k{i}")["seq"] for i in (1, 2, 3)]
    stored = []
    for _ in range(3):  # each tick a fresh context from the stored cursor, as after a restart
        cursor = alert_delivery_sensor(_context(path, slack, cursor=cursor, rules_path=no_budget)).cursor
        stored.append(json.loads(cursor)["ack_poll_after_seq"])
    assert stored == [seqs[0], seqs[1], 0]  # polled k1, then k2, then k3 and wrapped to the top
    assert outbox.get("k3")["acknowledged_by"] == "slack:UCSM03"
    assert outbox.get("k1")["acknowledged_at"] is None and outbox.get("k2")["acknowledged_at"] is None


def test_sensor_works_while_the_warehouse_is_locked_by_a_writer(tmp_path, slack, scored):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(scored[1], warehouse)
    writer = duckdb.connect(str(warehouse))  # a materialization holds the single-writer lock
    writer.execute("BEGIN TRANSACTION")
    writer.execute("CREATE TABLE core.lock_holder AS SELECT 1")
    path = tmp_path / "outbox.sqlite"
    Outbox(path).enqueue([make_alert("k1")])
    alert_delivery_sensor(_context(path, slack))
    assert Outbox(path).get("k1")["status"] == "sent"
    writer.execute("ROLLBACK")


def test_alert_events_on_the_default_world(tmp_path, scored):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(scored[1], warehouse)
    outbox_path = tmp_path / "outbox.sqlite"
    resources = {"duckdb": DuckDBResource(database=str(warehouse)), "alert_outbox": AlertOutboxResource(path=str(outbox_path))}
    first = materialize([alert_events], resources=resources, instance=DagsterInstance.ephemeral())
    meta = first.asset_materializations_for_node("alerts__alert_events")[0].metadata
    con = duckdb.connect(str(warehouse), read_only=True)
    keys = con.execute("SELECT count(*), count(DISTINCT alert_key), count(*) FILTER (csm_slack_id IS NULL), "
                       "count(DISTINCT rule) FROM alerts.alert_events").fetchall()[0]
    con.close()
    assert keys[0] == keys[1] > 100 and keys[2] == 0 and keys[3] == 6
    assert meta["newly_enqueued"].value == meta["live_alerts"].value == len(Outbox(outbox_path).rows())
    second = materialize([alert_events], resources=resources, instance=DagsterInstance.ephemeral())
    assert second.asset_materializations_for_node("alerts__alert_events")[0].metadata["newly_enqueued"].value == 0


def test_cli_ack_dismiss_snooze(tmp_path):
    env = dict(os.environ, CSM_DATA_DIR=str(tmp_path))
    outbox = Outbox(tmp_path / "alerts" / "outbox.sqlite")
    outbox.enqueue([make_alert("k1"), make_alert("k2", account="A2")])

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "csm_analytics", "alerts", *args], capture_output=True, text=True, env=env)

    assert cli("ack", "k1").returncode == 0 and outbox.get("k1")["acknowledged_by"] == "cli"
    assert cli("ack", "k1").returncode == 1  # already acknowledged
    assert cli("dismiss", "k2").returncode == 0 and outbox.get("k2")["status_reason"] == "dismissed"
    assert cli("snooze", "A1", "--rule", "payment_failure", "--until", "2026-12-31").returncode == 0
    assert outbox.snoozed("A1", "payment_failure", dt.date(2026, 12, 31))
    assert not outbox.snoozed("A1", "payment_failure", dt.date(2027, 1, 1))
    listing = cli("list")
    assert "k1" in listing.stdout and "k2" in listing.stdout


def test_run_failure_sensor_posts_to_the_ops_channel(tmp_path, slack):
    from dagster import (
        DagsterEventType,
        DagsterInstance,
        build_run_status_sensor_context,
        job,
        op,
    )

    from csm_analytics.alerts.sensors import run_failure_to_ops

    @op
    def broken():
        raise RuntimeError("warehouse unreachable")

    @job
    def nightly():
        broken()

    instance = DagsterInstance.ephemeral()
    result = nightly.execute_in_process(instance=instance, raise_on_error=False)
    failure = next(e for e in result.all_events if e.event_type == DagsterEventType.RUN_FAILURE)
    context = build_run_status_sensor_context(
        sensor_name="run_failure_to_ops", dagster_event=failure, dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"alert_outbox": AlertOutboxResource(path=str(tmp_path / "outbox.sqlite")),
                   "slack": SlackMessenger(token=slack.token, base_url=slack.url)},
    ).for_run_failure()
    run_failure_to_ops(context)
    ops = slack.posts("#cs-ops")
    assert len(ops) == 1 and "nightly" in ops[0]["text"] and "failed" in ops[0]["text"]


def test_monday_digest_schedule_runs_the_digest_job():
    from dagster import build_schedule_context

    from csm_analytics.alerts.schedules import monday_alert_digest_schedule

    assert monday_alert_digest_schedule.cron_schedule == "0 8 * * 1"
    assert monday_alert_digest_schedule.job_name == "weekly_alert_digest"
    context = build_schedule_context(scheduled_execution_time=dt.datetime(2026, 10, 5, 8, 0, tzinfo=dt.timezone.utc))
    requests = monday_alert_digest_schedule.evaluate_tick(context).run_requests
    assert len(requests) == 1


def test_digest_job_posts_each_csms_digest(tmp_path, slack):
    from csm_analytics.alerts.jobs import weekly_alert_digest

    path = tmp_path / "outbox.sqlite"
    outbox = Outbox(path)
    outbox.enqueue([make_alert("w1", rule="score_drop", severity="warning"),
                    make_alert("w2", account="A2", rule="band_transition", severity="warning", csm="CSM02", slack_id="UCSM02")])
    outbox.update("w1", status="digest")
    outbox.update("w2", status="digest")
    result = weekly_alert_digest.execute_in_process(resources={
        "alert_outbox": AlertOutboxResource(path=str(path)), "slack": SlackMessenger(token=slack.token, base_url=slack.url)})
    assert result.success and result.output_for_node("post_alert_digests") == 2
    assert len(slack.posts(slack.dm_id("UCSM01"))) == 1 and len(slack.posts(slack.dm_id("UCSM02"))) == 1


def test_a_slack_outage_does_not_fail_the_sensor_tick(tmp_path):
    from csm_analytics.lib.fake_slack import free_port

    path = tmp_path / "outbox.sqlite"
    outbox = Outbox(path)
    outbox.enqueue([make_alert("k1"), make_alert("k2", account="A2")])
    outbox.update("k1", status="sent", channel=TEAM, ts="1.0", sent_at="2026-01-01T00:00:00+00:00")
    dead = build_sensor_context(resources={
        "alert_outbox": AlertOutboxResource(path=str(path)),
        "slack": SlackMessenger(token="xoxb-x", base_url=f"http://127.0.0.1:{free_port()}/api/", max_retries=1,
                                backoff_factor=0.01)})
    result = alert_delivery_sensor(dead)  # no exception
    assert json.loads(result.cursor) == {"ack_poll_after_seq": 0}  # nothing was polled: the next tick starts at the top
    assert outbox.get("k2")["status"] == "pending" and outbox.get("k1")["escalated_at"] is None
