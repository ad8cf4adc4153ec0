"""deploy/dagster.yaml against a real PostgreSQL server, with CSM_ENV=prod.

Materializes the sources, the health score and the alerts into a temporary DuckDB warehouse
through a Postgres-backed instance, evaluates the alert sensor (band transitions and other
alerts, delivered to a fake Slack) the way dagster-daemon does, then restarts: a new instance
object and a new code server, reading the stored cursor from Postgres. No alert is posted twice.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance
from dagster._core.scheduler.instigation import InstigatorType, TickStatus
from dagster._core.test_utils import create_test_daemon_workspace_context, freeze_time
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.sensor import execute_sensor_iteration

from csm_analytics.alerts.outbox import Outbox
from csm_analytics.lib.fake_slack import FakeSlack
from csm_analytics_tests.test_deploy import postgres_server

ROOT = Path(__file__).resolve().parents[2]
SENSOR = "alert_delivery_sensor"


@pytest.fixture(scope="module")
def postgres():
    """Skips without PostgreSQL binaries, except in CI: .ci/run installs them and sets CSM_REQUIRE_POSTGRES_TEST."""
    reason = postgres_server.why_unavailable()
    if reason:
        (pytest.fail if os.environ.get("CSM_REQUIRE_POSTGRES_TEST") else pytest.skip)(reason)
    server = postgres_server.start()
    yield server
    postgres_server.stop(server)


@pytest.fixture
def prod(postgres, monkeypatch, tmp_path, default_world):
    """CSM_ENV=prod: Postgres instance from deploy/dagster.yaml, DuckDB warehouse on a 'volume', fake Slack."""
    postgres.create_database("dagster_test")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (tmp_path / "volume").mkdir()  # the persistent volume is mounted before the code runs
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    slack = FakeSlack().start()
    env = {**postgres.env("dagster_test"), "CSM_ENV": "prod", "DAGSTER_HOME": str(home),
           "CSM_DATA_DIR": str(tmp_path / "volume"), "CSM_RAW_DIR": str(default_world),
           "CSM_WAREHOUSE": str(tmp_path / "volume" / "warehouse.duckdb"),
           "SLACK_BOT_TOKEN": slack.token, "SLACK_BASE_URL": slack.url}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield home, slack, tmp_path / "volume"
    slack.stop()


HISTORY_DAYS = 60  # the last 60 daily partitions keep the Postgres event log small and the test quick


def _materialize(instance: DagsterInstance, groups: list[str]) -> bool:
    """The sources, health and alert groups in one in-process run, as `csm-analytics materialize` runs them."""
    from dagster import AssetSelection, Definitions, define_asset_job
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from csm_analytics.definitions import build_definitions

    subset = define_asset_job("pg_test", selection=AssetSelection.groups(*groups))
    job = Definitions.merge(build_definitions(), Definitions(jobs=[subset])).resolve_job_def("pg_test")
    tags = {}
    if job.partitions_def is not None:
        keys = job.partitions_def.get_partition_keys()[-HISTORY_DAYS:]
        tags = {ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]}
    return job.execute_in_process(instance=instance, tags=tags, raise_on_error=False).success


def _sensor_tick(instance: DagsterInstance, at: dt.datetime) -> None:
    """One sensor-daemon iteration: loads the code location in a gRPC server (as the daemon does) and ticks."""
    target = ModuleTarget(module_name="csm_analytics.definitions", attribute=None, working_directory=str(ROOT),
                          location_name="csm_analytics")
    with create_test_daemon_workspace_context(target, instance) as workspace, freeze_time(at):
        list(execute_sensor_iteration(workspace, logging.getLogger("sensor-test"), threadpool_executor=None,
                                      submit_threadpool_executor=None))


def _sensor_state(instance: DagsterInstance):
    states = [s for s in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR) if s.name == SENSOR]
    assert len(states) == 1
    return states[0]


def _posts(slack: FakeSlack) -> list[tuple[str, str]]:
    """(channel, alert key) of every alert posted; a critical alert goes to a team channel and to its CSM's DM."""
    return [(channel, m["metadata"]["event_payload"]["alert_key"]) for channel, messages in slack.channels.items()
            for m in messages if (m.get("metadata") or {}).get("event_type") == "csm_alert"]


@pytest.mark.slow
def test_postgres_instance_keeps_the_sensor_cursor_across_a_restart(prod):
    home, slack, volume = prod
    instance = DagsterInstance.from_config(str(home))
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
    concurrency = instance.get_concurrency_config()  # what the run-queue daemon reads
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert concurrency.run_queue_config.max_concurrent_runs == 1
    assert concurrency.pool_config.default_pool_limit == 1

    assert _materialize(instance, ["sources", "health", "alerts"])
    run = instance.get_runs()[0]
    materialized = {r.asset_entry.asset_key.to_user_string() for r in instance.get_asset_records()}
    assert {"raw/accounts", "core/account_health_score", "core/health_band_transitions",
            "alerts/alert_events"} <= materialized
    assert instance.get_run_stats(run.run_id).steps_succeeded >= 20
    outbox = Outbox(volume / "alerts" / "outbox.sqlite")
    enqueued = outbox.rows()
    assert enqueued, "the default world raises live alerts on its last day"
    with duckdb.connect(str(volume / "warehouse.duckdb"), read_only=True) as con:
        band_alerts = con.execute("SELECT count(*) FROM alerts.alert_events WHERE rule = 'band_transition'").fetchall()[0][0]
        transitions = con.execute("SELECT count(*) FROM core.health_band_transitions").fetchall()[0][0]
    assert transitions > 0 and band_alerts > 0

    # first tick, "before the restart"
    t0 = dt.datetime.now(dt.timezone.utc)
    _sensor_tick(instance, t0)
    first = _sensor_state(instance).instigator_data.cursor
    first_posts = _posts(slack)
    # the cursor is where ✅ polling stopped when the tick budget ran out; this tick polled every open alert
    assert json.loads(first) == {"ack_poll_after_seq": 0}
    assert first_posts and len(first_posts) == len(set(first_posts))
    assert {r["alert_key"] for r in outbox.rows() if r["status"] == "sent"} == {key for _, key in first_posts}
    instance.dispose()

    # a new critical incident lands while the daemon is down
    with duckdb.connect(str(volume / "warehouse.duckdb")) as con:
        account, day = con.execute("SELECT account_id, as_of_date FROM core.account_health_score "
                                   "ORDER BY account_id LIMIT 1").fetchall()[0]
        con.execute("INSERT INTO raw.incidents VALUES ('PG-RESTART', ?, ?, 'payroll_error', 'critical', 'test')",
                    [account, dt.datetime.combine(day, dt.time(12))])

    # restart: a new instance object and a new code server; the cursor comes back from Postgres
    restarted = DagsterInstance.from_config(str(home))
    assert _sensor_state(restarted).instigator_data.cursor == first
    assert _materialize(restarted, ["alerts"])
    _sensor_tick(restarted, t0 + dt.timedelta(seconds=31))  # past the sensor's 30 s minimum interval
    second = json.loads(_sensor_state(restarted).instigator_data.cursor)
    posts = _posts(slack)
    new_rows = [r for r in outbox.rows() if r["seq"] > len(enqueued)]
    assert second == {"ack_poll_after_seq": 0} and "critical_incident:PG-RESTART" in {r["alert_key"] for r in new_rows}
    assert {key for _, key in set(posts) - set(first_posts)} == {"critical_incident:PG-RESTART"}
    assert not [post for post, n in Counter(posts).items() if n > 1], "an alert was posted twice"
    ticks = restarted.get_ticks(_sensor_state(restarted).instigator_origin_id, _sensor_state(restarted).selector_id)
    # both evaluations are recorded in Postgres, newest first, each with the cursor it stored
    # (a tick that requests no run is SKIPPED in Dagster's terms, even when it delivered alerts)
    assert [t.cursor for t in ticks] == [json.dumps(second), first]
    assert all(t.status in (TickStatus.SKIPPED, TickStatus.SUCCESS) for t in ticks)
    restarted.dispose()
