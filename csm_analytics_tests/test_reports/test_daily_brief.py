"""marts.csm_daily_brief on the hand-built book (briefs_world.py), its weekday schedule and the Slack DMs."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from dagster import DagsterInstance, build_schedule_context, materialize
from dagster_duckdb import DuckDBResource

from csm_analytics.alerts.outbox import Outbox
from csm_analytics.alerts.resources import AlertOutboxResource
from csm_analytics.alerts.slack import SlackMessenger
from csm_analytics.health.config import load_health_config
from csm_analytics.health.resources import HealthConfigResource
from csm_analytics.lib.fake_slack import FakeSlack
from csm_analytics.reports.briefs import daily
from csm_analytics.reports.briefs.assets import csm_daily_brief
from csm_analytics.reports.briefs.jobs import csm_daily_brief_job
from csm_analytics.reports.briefs.resources import BriefsConfigResource
from csm_analytics.reports.briefs.schedules import weekday_csm_daily_brief_schedule
from csm_analytics.reports.briefs.config import DEFAULT_CONFIG, load_briefs_config
from csm_analytics_tests.test_reports.briefs_world import ALERTS, build_book

EXPECTED = [  # CSM01, highest priority first; CSM02's only account has nothing to flag
    ("CSM01", "A2 Corp (A2)", "At risk", 90_000.0, "2026-10-10", "2026-09-20", 2, "At risk, renews in 10 days"),
    ("CSM01", "A Corp (A)", "At risk", 50_000.0, "2026-11-11", "2026-09-21", 2, "At risk, renews in 42 days"),
    ("CSM01", "B Corp (B)", "Watch", 80_000.0, "2027-06-30", "2026-09-22", 2,
     "Health fell 14 points in 30 days, driven by support and engagement"),
    ("CSM01", "C Corp (C)", "Watch", 30_000.0, "2027-06-30", "2026-09-23", 2, "Open critical alert: payroll error (critical)"),
    ("CSM01", "D Corp (D)", "Healthy", 200_000.0, "2027-06-30", "2026-09-24", 1,
     "QBR overdue: last held 2026-05-01, due every 90 days"),
    ("CSM01", "E Corp (E)", "Healthy", 300_000.0, "2027-06-30", "2026-09-25", 2, "Account plan not updated for 152 days"),
    ("CSM01", "F Corp (F)", "Healthy", 20_000.0, "2027-06-30", "2026-08-01", 2,
     "2 QBR action items overdue, the oldest from the QBR on 2026-08-01"),
]


def _rows(con):
    return [tuple(str(v) if isinstance(v, dt.date) else v for v in r) for r in con.execute(daily.READ_SQL).fetchall()]


@pytest.fixture
def book(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    build_book(path).close()
    return path


def test_priority_order_reasons_and_exactly_seven_columns(book):
    con = duckdb.connect(str(book))
    written = daily.write_daily_brief(con, load_briefs_config(), load_health_config(), ALERTS)
    columns = [r[0] for r in con.execute("DESCRIBE marts.csm_daily_brief").fetchall()]
    assert columns == daily.COLUMNS and len(columns) == 1 + 7
    assert written == 7 and _rows(con) == EXPECTED


def test_the_list_is_capped_per_csm_keeping_the_highest_priorities(book, tmp_path):
    custom = tmp_path / "briefs.toml"
    custom.write_text(DEFAULT_CONFIG.read_text().replace("max_accounts_per_csm = 10", "max_accounts_per_csm = 3"))
    con = duckdb.connect(str(book))
    daily.write_daily_brief(con, load_briefs_config(custom), load_health_config(), [])
    assert [r[1] for r in _rows(con)] == ["A2 Corp (A2)", "A Corp (A)", "B Corp (B)"]


def test_acknowledged_or_warning_alerts_do_not_list_an_account(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite")
    base = {"rule": "critical_incident", "account_id": "C", "event_date": "2026-09-29", "headline": "payroll error"}
    outbox.enqueue([base | {"alert_key": "k1", "severity": "critical"}, base | {"alert_key": "k2", "severity": "critical"},
                    base | {"alert_key": "k3", "severity": "warning"}])
    outbox.acknowledge("k2", by="test")
    assert [a["account_id"] for a in daily.open_critical_alerts(outbox.rows())] == ["C"]
    outbox.dismiss("k1")
    assert daily.open_critical_alerts(outbox.rows()) == []


def _resources(book, tmp_path, slack=None):
    outbox = Outbox(tmp_path / "outbox.sqlite")
    outbox.enqueue([{"alert_key": "critical_incident:I1", "rule": "critical_incident", "severity": "critical",
                     **ALERTS[0]}])
    resources = {"duckdb": DuckDBResource(database=str(book)), "health_config": HealthConfigResource(),
                 "alert_outbox": AlertOutboxResource(path=str(tmp_path / "outbox.sqlite")),
                 "briefs_config": BriefsConfigResource()}
    if slack is not None:
        resources["slack"] = SlackMessenger(token=slack.token, base_url=slack.url, backoff_factor=0.01)
    return resources


def test_asset_reads_open_alerts_from_the_outbox_and_shows_the_table(book, tmp_path):
    result = materialize([csm_daily_brief], resources=_resources(book, tmp_path), instance=DagsterInstance.ephemeral())
    meta = result.asset_materializations_for_node("marts__csm_daily_brief")[0].metadata
    assert meta["dagster/row_count"].value == 7 and meta["open_critical_alerts"].value == 1
    table = meta["brief"].value
    assert table.index("At risk, renews in 10 days") < table.index("Open critical alert") < table.index("2 QBR action")
    assert "| CSM02 |" not in table


def test_weekday_schedule_sends_each_csm_one_dm_a_day(book, tmp_path, monkeypatch):
    from dagster._core.test_utils import instance_for_test

    assert weekday_csm_daily_brief_schedule.cron_schedule == "30 7 * * 1-5"
    assert weekday_csm_daily_brief_schedule.job_name == "csm_daily_brief_job"
    monkeypatch.setenv("CSM_RAW_DIR", str(tmp_path / "no_exports"))  # the brief is current: no newer export
    resources = _resources(book, tmp_path)
    tuesday = dt.datetime(2026, 10, 6, 7, 30, tzinfo=dt.timezone.utc)
    with instance_for_test() as instance:  # the schedule sends only a brief built after the latest exports
        materialize([csm_daily_brief], resources=resources, instance=instance)
        request = weekday_csm_daily_brief_schedule.evaluate_tick(
            build_schedule_context(instance=instance, scheduled_execution_time=tuesday)).run_requests[0]
    assert request.run_key == "csm_daily_brief:2026-10-06"
    slack = FakeSlack().start()
    try:
        send = {"duckdb": resources["duckdb"], "slack": SlackMessenger(token=slack.token, base_url=slack.url)}
        first = csm_daily_brief_job.execute_in_process(run_config=request.run_config, resources=send)
        assert first.output_for_node("send_csm_daily_briefs") == {"CSM01": "sent"}  # CSM02 has nothing on the list
        dms = slack.posts(slack.dm_id("UCSM01"))
        assert len(dms) == 1 and slack.posts(slack.dm_id("UCSM02")) == []
        text = dms[0]["text"] + "\n" + dms[0]["blocks"][1]["text"]["text"]
        assert dms[0]["text"] == "Good morning Ada: 7 of your accounts need attention today (Tue 06 Oct)"
        lines = [line.strip() for line in dms[0]["blocks"][1]["text"]["text"].splitlines()]
        assert lines[0] == "1. *A2 Corp (A2)* · At risk · $90,000 · renews 2026-10-10"
        assert lines[1] == "At risk, renews in 10 days · last touch 2026-09-20 · 2 open actions"
        assert [line.split("*")[1] for line in lines[::2]] == [r[1] for r in EXPECTED]
        assert "Data as of 2026-09-30" in str(dms[0]["blocks"][2]) and "Internal" in str(dms[0]["blocks"][2])
        assert "F Corp" in text
        again = csm_daily_brief_job.execute_in_process(run_config=request.run_config, resources=send)
        assert again.output_for_node("send_csm_daily_briefs") == {"CSM01": "already sent"}
        assert slack.calls("chat.postMessage") == 1
    finally:
        slack.stop()


def test_without_a_token_the_dm_goes_to_the_file_outbox(book, tmp_path):
    resources = _resources(book, tmp_path)
    materialize([csm_daily_brief], resources=resources, instance=DagsterInstance.ephemeral())
    send = {"duckdb": resources["duckdb"], "slack": SlackMessenger(outbox_dir=str(tmp_path / "outbox"))}
    config = {"ops": {"send_csm_daily_briefs": {"config": {"date": "2026-10-06"}}}}
    for _ in range(2):  # the second run finds the first message: idempotent offline too
        csm_daily_brief_job.execute_in_process(run_config=config, resources=send)
    lines = (tmp_path / "outbox" / "messages.jsonl").read_text().splitlines()
    assert len(lines) == 1 and '"channel": "DM-UCSM01"' in lines[0] and "daily_brief:CSM01:2026-10-06" in lines[0]
