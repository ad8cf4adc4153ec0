"""The daily refresh's triggers, the brief's gating and the freshness message, evaluated as the daemon evaluates them."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from contextlib import contextmanager

import duckdb
import pytest
from dagster import (
    AssetMaterialization,
    DagsterRun,
    DagsterRunStatus,
    RunRequest,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
)

from dagster._core.test_utils import instance_for_test

from csm_analytics import automation
from csm_analytics.churn.assets import VERSIONS_KEY
from csm_analytics.lib.raw_files import changed_files, file_versions, folder_version, still_settling
from csm_analytics.reports.briefs import schedules as brief_schedules
from csm_analytics.reports.briefs.assets import BRIEF_KEY

LAST_DAY = dt.date(2026, 9, 29)  # inside the suite's history (conftest: the default world's 730 days)


def _export(raw, last_day: dt.date, age_seconds: float = 60.0) -> None:
    """A product_usage export whose last usage_date is `last_day`, written `age_seconds` ago."""
    raw.mkdir(exist_ok=True)
    path = raw / "product_usage.parquet"
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT 'A1' AS account_id, DATE '{last_day - dt.timedelta(days=1)}' + CAST(i AS INTEGER) AS usage_date "
                    f"FROM range(2) t(i)) TO '{path}' (FORMAT parquet)")
    then = time.time() - age_seconds
    os.utime(path, (then, then))


@contextmanager
def instance_with_a_model():
    """A test instance on which the churn model was trained once (as `make materialize` leaves it)."""
    with instance_for_test() as instance:
        instance.report_runless_asset_event(AssetMaterialization(asset_key=VERSIONS_KEY))
        yield instance


@pytest.fixture
def raw(tmp_path, monkeypatch):
    monkeypatch.setenv("CSM_RAW_DIR", str(tmp_path / "raw"))
    monkeypatch.setenv("CSM_DATA_DIR", str(tmp_path))
    return tmp_path / "raw"


def test_file_versions_change_with_the_file_and_ignore_non_exports(tmp_path):
    _export(tmp_path, LAST_DAY)
    (tmp_path / "_manifest.json").write_text("{}")
    first = file_versions(tmp_path)
    assert list(first) == ["product_usage.parquet"]
    assert folder_version(first) == folder_version(dict(first))
    _export(tmp_path, LAST_DAY + dt.timedelta(days=1), age_seconds=0)
    second = file_versions(tmp_path)
    assert changed_files(first, second) == ["product_usage.parquet"]
    assert folder_version(first) != folder_version(second)
    assert still_settling(second) == ["product_usage.parquet"] and still_settling(first) == []


def test_refresh_targets_the_last_day_of_the_exports_once_per_version(raw):
    _export(raw, LAST_DAY)
    with instance_with_a_model() as instance:
        request = automation.refresh_request(instance, file_versions(raw), "test")
        assert isinstance(request, RunRequest)
        assert request.partition_key == LAST_DAY.isoformat()
        version = request.tags[automation.RAW_VERSION_TAG]
        assert request.run_key == f"{LAST_DAY}:{version}"
        instance.add_run(DagsterRun(job_name=automation.DAILY_REFRESH_JOB, run_id=str(uuid.uuid4()),
                                    status=DagsterRunStatus.SUCCESS, tags=request.tags))
        again = automation.refresh_request(instance, file_versions(raw), "test")
        assert isinstance(again, SkipReason) and "already refreshed" in again.skip_message


def test_a_failed_refresh_is_retried_and_a_day_past_the_partitions_is_refused(raw):
    _export(raw, LAST_DAY)
    with instance_with_a_model() as instance:
        request = automation.refresh_request(instance, file_versions(raw), "test")
        instance.add_run(DagsterRun(job_name=automation.DAILY_REFRESH_JOB, run_id=str(uuid.uuid4()),
                                    status=DagsterRunStatus.FAILURE, tags=request.tags))
        assert isinstance(automation.refresh_request(instance, file_versions(raw), "test"), RunRequest)
        _export(raw, dt.date(2027, 1, 5))
        skip = automation.refresh_request(instance, file_versions(raw), "test")
        assert isinstance(skip, SkipReason) and "past the code location's last daily partition" in skip.skip_message


def test_raw_files_sensor_requests_one_refresh_per_file_version(raw):
    _export(raw, LAST_DAY)
    with instance_with_a_model() as instance:
        context = build_sensor_context(instance=instance)
        first = automation.raw_files_sensor(context)
        assert isinstance(first, RunRequest) and first.partition_key == LAST_DAY.isoformat()
        context = build_sensor_context(instance=instance, cursor=context.cursor)
        assert isinstance(automation.raw_files_sensor(context), SkipReason)  # nothing changed

        _export(raw, LAST_DAY, age_seconds=0)  # being copied right now: wait for the next tick
        settling = automation.raw_files_sensor(build_sensor_context(instance=instance, cursor=context.cursor))
        assert isinstance(settling, SkipReason) and "still being written" in settling.skip_message
        _export(raw, LAST_DAY, age_seconds=30)
        changed = automation.raw_files_sensor(build_sensor_context(instance=instance, cursor=context.cursor))
        assert isinstance(changed, RunRequest) and changed.run_key != first.run_key


def _brief_built(instance, as_of: dt.date) -> None:
    instance.report_runless_asset_event(AssetMaterialization(asset_key=BRIEF_KEY, metadata={"as_of_date": str(as_of)}))


def test_the_0730_brief_waits_for_a_brief_built_on_the_latest_exports(raw, monkeypatch):
    _export(raw, LAST_DAY)
    day = dt.datetime(2026, 9, 30, 7, 30, tzinfo=dt.timezone.utc)
    with instance_with_a_model() as instance:
        waiting = brief_schedules.weekday_csm_daily_brief_schedule(
            build_schedule_context(instance=instance, scheduled_execution_time=day))
        assert isinstance(waiting, SkipReason) and "never been built" in waiting.skip_message

        _brief_built(instance, LAST_DAY - dt.timedelta(days=1))  # yesterday's brief, rebuilt after the export
        stale = brief_schedules.weekday_csm_daily_brief_schedule(
            build_schedule_context(instance=instance, scheduled_execution_time=day))
        assert isinstance(stale, SkipReason) and f"exports reach {LAST_DAY}" in stale.skip_message

        monkeypatch.setattr(brief_schedules, "SEND", brief_schedules.SEND.__class__(
            **{**brief_schedules.SEND.__dict__, "when_stale": "send_with_notice"}))
        noticed = brief_schedules.weekday_csm_daily_brief_schedule(
            build_schedule_context(instance=instance, scheduled_execution_time=day))
        note = noticed.run_config["ops"]["send_csm_daily_briefs"]["config"]["stale_note"]
        assert note.startswith("Data may be stale: the brief is as of")

        _brief_built(instance, LAST_DAY)
        sent = brief_schedules.weekday_csm_daily_brief_schedule(
            build_schedule_context(instance=instance, scheduled_execution_time=day))
        assert isinstance(sent, RunRequest)
        assert sent.run_config["ops"]["send_csm_daily_briefs"]["config"] == {"date": "2026-09-30", "stale_note": ""}


def test_the_stale_note_leads_the_dm():
    from csm_analytics.reports.briefs.daily import brief_message

    row = {"account": "Acme", "health_band": "At risk", "arr": 1000, "renewal_date": "2026-10-01",
           "reason": "At risk, renews in 1 day", "last_activity_date": None, "open_actions": 0}
    text, _ = brief_message("Ana Lopez", dt.date(2026, 9, 30), [row], dt.date(2026, 9, 28), "Data may be stale: x.")
    assert text.startswith("Data may be stale: x. Good morning Ana: 1 of your accounts")


def _freshness(instance, key, state, at: float | None = None) -> None:
    """The event the daemon's freshness loop stores when an asset's freshness state changes."""
    from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange

    instance._report_runless_asset_event(FreshnessStateChange(  # noqa: SLF001 - what FreshnessDaemon calls
        key=key, previous_state=FreshnessState.UNKNOWN, new_state=FreshnessState(state),
        state_change_timestamp=at or time.time()))


def test_a_failing_freshness_posts_one_ops_message_per_incident(raw, tmp_path):
    """The policies fail when the assets were not refreshed in time. The assets of one refresh turn Fail seconds
    apart (each from its own last update): ops hears once per incident, until all pass again."""
    from csm_analytics.alerts.resources import AlertOutboxResource
    from csm_analytics.alerts.slack import SlackMessenger

    slack = SlackMessenger(token=None, outbox_dir=str(tmp_path / "outbox"))
    resources = {"alert_outbox": AlertOutboxResource(), "slack": slack}

    def tick(cursor):
        context = build_sensor_context(instance=instance, cursor=cursor, resources=resources)
        return automation.freshness_to_ops(context).skip_message, context.cursor

    with instance_for_test() as instance:
        first, *others = automation.FRESHNESS_KEYS
        _freshness(instance, first, "FAIL")
        assert [key for key, _ in automation.failed_freshness(instance)] == [first]
        said, cursor = tick(None)
        assert said == f"posted to ops: {first.to_user_string()}"
        for key in others:  # the rest of the same refresh, a few seconds later
            _freshness(instance, key, "FAIL")
        said, cursor = tick(cursor)
        assert said.startswith("still late: ") and all(k.to_user_string() in said for k in others)

        for key in automation.FRESHNESS_KEYS:  # the next refresh lands: the incident is over
            _freshness(instance, key, "PASS")
        assert tick(cursor)[0] == "every freshness policy passes"
        cursor = tick(cursor)[1]
        _freshness(instance, automation.SCORE_KEY, "FAIL", time.time() + 1)  # late again another day
        said, cursor = tick(cursor)
        assert said == "posted to ops: core/account_health_score"
    ops = [m for m in _messages(tmp_path / "outbox") if str(m.get("alert_key", "")).startswith("freshness:")]
    assert len(ops) == 2 and ops[0]["alert_key"] != ops[1]["alert_key"]
    assert f"Late data: {first.to_user_string()} not refreshed by the 0 6 * * * (UTC) deadline" in ops[0]["text"]
    assert "core/account_health_score" in ops[1]["text"]


def _messages(outbox) -> list[dict]:
    return [json.loads(line) for f in outbox.glob("*") for line in f.read_text().splitlines() if line.strip()]


def test_the_key_assets_carry_the_freshness_policy():
    """Health score, alert events, daily brief and the serving snapshot: the UI shows their freshness."""
    from dagster import FreshnessPolicy

    from csm_analytics.definitions import defs
    from csm_analytics.serving.assets import SNAPSHOT_KEY

    graph = defs.resolve_asset_graph()
    assert SNAPSHOT_KEY in automation.FRESHNESS_KEYS
    expected = FreshnessPolicy.cron(deadline_cron="0 6 * * *", lower_bound_delta=dt.timedelta(hours=24))
    assert {key: graph.get(key).freshness_policy for key in automation.FRESHNESS_KEYS} == \
        {key: expected for key in automation.FRESHNESS_KEYS}
    assert [n.key for n in graph.asset_nodes if n.freshness_policy and n.key not in automation.FRESHNESS_KEYS] == []


def test_packs_due_are_requested_after_a_refresh_one_run_each(monkeypatch):
    from dagster import MetadataValue

    from csm_analytics.reports.qbr.assets import PIPELINE_KEY

    with instance_with_a_model() as instance:
        assert automation.qbr_pack_requests(instance, "2026-09-29") == []
        instance.report_runless_asset_event(AssetMaterialization(
            asset_key=PIPELINE_KEY, metadata={"packs_to_build": MetadataValue.json(["A3", "A1", "A2"])}))
        monkeypatch.setattr(automation, "PACKS_PER_REFRESH", 2)
        requests = automation.qbr_pack_requests(instance, "2026-09-29")
    assert [(r.partition_key, r.run_key) for r in requests] == [("A3", "qbr_pack:A3:2026-09-29"),
                                                               ("A1", "qbr_pack:A1:2026-09-29")]


def test_raw_files_sensor_looks_again_while_the_day_has_no_partition(raw):
    """Exports past the last partition are not forgotten: once the code location knows the day, they refresh."""
    _export(raw, dt.date(2027, 1, 5))
    with instance_with_a_model() as instance:
        context = build_sensor_context(instance=instance)
        skip = automation.raw_files_sensor(context)
        assert isinstance(skip, SkipReason) and context.cursor is None


def test_a_late_refresh_that_failed_is_not_posted_twice(raw, tmp_path):
    """A failed refresh reaches ops through run_failure_to_ops; the freshness failure it causes adds no message."""
    from csm_analytics.alerts.resources import AlertOutboxResource
    from csm_analytics.alerts.slack import SlackMessenger

    slack = SlackMessenger(token=None, outbox_dir=str(tmp_path / "outbox"))
    with instance_with_a_model() as instance:
        instance.add_run(DagsterRun(job_name=automation.DAILY_REFRESH_JOB, run_id=str(uuid.uuid4()),
                                    status=DagsterRunStatus.FAILURE))
        _freshness(instance, automation.SCORE_KEY, "FAIL")
        context = build_sensor_context(instance=instance, resources={"alert_outbox": AlertOutboxResource(),
                                                                      "slack": slack})
        skip = automation.freshness_to_ops(context)
        assert "ops already told" in skip.skip_message and context.cursor
    assert not (tmp_path / "outbox" / "messages.jsonl").exists()


def test_a_fresh_instance_waits_for_the_first_full_materialization_instead_of_a_failing_refresh(raw):
    """Issue 17: on an instance where nothing was materialized (a new deployment, or the first daemon tick
    before "Materialize all" finished), the raw-files sensor started a daily_refresh that failed in
    ml.churn_snapshots (no ml.churn_model_versions) and posted the failure to ops. It now says what to do
    and leaves its cursor, so the refresh follows once the model exists."""
    _export(raw, LAST_DAY)
    with instance_for_test() as instance:
        context = build_sensor_context(instance=instance)
        skip = automation.raw_files_sensor(context)
        assert isinstance(skip, SkipReason) and "materialize everything once" in skip.skip_message
        assert context.cursor is None
        instance.report_runless_asset_event(AssetMaterialization(asset_key=VERSIONS_KEY))
        request = automation.raw_files_sensor(build_sensor_context(instance=instance, cursor=context.cursor))
        assert isinstance(request, RunRequest) and request.partition_key == LAST_DAY.isoformat()


def test_exports_the_full_materialize_loaded_are_not_refreshed_again(raw):
    """`make run` materializes everything, tagged with the raw folder's version (runner.py): the sensor's first
    tick after it finds those files loaded and queues no needless daily_refresh."""
    from csm_analytics.lib.raw_files import RAW_VERSION_TAG

    _export(raw, LAST_DAY)
    with instance_with_a_model() as instance:
        instance.add_run(DagsterRun(job_name="materialize_everything", run_id=str(uuid.uuid4()),
                                    status=DagsterRunStatus.SUCCESS,
                                    tags={RAW_VERSION_TAG: folder_version(file_versions(raw))}))
        context = build_sensor_context(instance=instance)
        skip = automation.raw_files_sensor(context)
        assert isinstance(skip, SkipReason) and "already refreshed or queued" in skip.skip_message
        assert json.loads(context.cursor) == file_versions(raw)  # and it does not look at them again


def test_the_full_materialize_is_tagged_with_the_raw_version(raw, monkeypatch):
    """The tag the sensor looks for is on the run materialize_everything starts (a one-asset stand-in graph)."""
    from dagster import Definitions, asset, define_asset_job

    from csm_analytics import runner
    from csm_analytics.definitions import MATERIALIZE_JOB
    from csm_analytics.lib.raw_files import RAW_VERSION_TAG

    @asset
    def broken():  # fails, so materialize_everything stops before the QBR packs and the monthly report
        raise RuntimeError("stop here")

    _export(raw, LAST_DAY)
    defs = Definitions(assets=[broken], jobs=[define_asset_job(MATERIALIZE_JOB)])
    with instance_for_test() as instance:
        assert runner.materialize_everything(instance=instance, definitions=defs) is False
        [run] = instance.get_runs()
    assert run.tags[RAW_VERSION_TAG] == folder_version(file_versions(raw))


def test_a_brief_whose_freshness_failed_is_not_sent_as_todays(raw):
    """The exports did not move (the day's files never came): the brief matches them, but its freshness policy
    fails, so the 07:30 DM waits instead of sending yesterday's brief as news."""
    _export(raw, LAST_DAY)
    day = dt.datetime(2026, 9, 30, 7, 30, tzinfo=dt.timezone.utc)
    with instance_for_test() as instance:
        _brief_built(instance, LAST_DAY)
        with build_schedule_context(instance=instance, scheduled_execution_time=day) as context:
            assert isinstance(brief_schedules.weekday_csm_daily_brief_schedule(context), RunRequest)
        _freshness(instance, BRIEF_KEY, "FAIL")
        with build_schedule_context(instance=instance, scheduled_execution_time=day) as context:
            waiting = brief_schedules.weekday_csm_daily_brief_schedule(context)
    assert isinstance(waiting, SkipReason) and "the brief is not fresh (failing its freshness policy since" \
        in waiting.skip_message
