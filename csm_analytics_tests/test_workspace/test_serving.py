"""The serving snapshot: what it holds, its as-of date, the atomic swap; the side store and its ingestion."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from csm_analytics.alerts.quality import response_sla_rows, with_workspace_acknowledgments
from csm_analytics.lib.actions_store import ActionsStore, InvalidAction, SideStoreError
from csm_analytics.serving.ingest import ingest
from csm_analytics.serving.publish import publish
from csm_analytics_tests.test_workspace.tiny_world import AS_OF, build_snapshot


def test_snapshot_holds_the_hand_computed_accounts_and_meta(tmp_path):
    _, serving, _ = build_snapshot(tmp_path)
    with duckdb.connect(str(serving), read_only=True) as con:
        as_of, published = con.execute("SELECT as_of_date, published_at FROM meta").fetchall()[0]
        accounts = con.execute("SELECT account_id, csm_id, arr, mrr, days_to_renewal, band, revenue_at_risk "
                               "FROM accounts ORDER BY 1").fetchall()
        history = con.execute("SELECT count(*), min(as_of_date), max(as_of_date) FROM health_history").fetchall()[0]
        weeks = con.execute("SELECT week_end, band, sum(accounts) FROM band_weeks GROUP BY ALL ORDER BY 1 DESC, 2 LIMIT 3").fetchall()
        alerts = con.execute("SELECT alert_key, delivery_status, sent_at FROM alerts ORDER BY alert_key").fetchall()
        brief = con.execute("SELECT priority, csm_id FROM daily_brief ORDER BY priority").fetchall()
        bands = con.execute("SELECT healthy_from, watch_from, typeof(healthy_from) FROM health_bands").fetchall()
    assert as_of == AS_OF
    assert abs((dt.datetime.now(dt.timezone.utc) - published).total_seconds()) < 120
    assert accounts == [("A1", "C1", 120000.0, 10000.0, 46, "At risk", 48000.0),
                        ("A2", "C1", 60000.0, 5000.0, 274, "Healthy", 3000.0),
                        ("A3", "C2", 24000.0, 2000.0, 63, "Watch", 4800.0),
                        ("A4", "C3", 36000.0, 3000.0, 184, "Watch", 3600.0)]
    assert history == (4 * 90, AS_OF - dt.timedelta(days=89), AS_OF)  # the 90-day window only
    assert weeks == [(AS_OF, "At risk", 1), (AS_OF, "Healthy", 1), (AS_OF, "Watch", 2)]
    assert alerts[0] == ("health_drop:A1:2026-06-29", "sent", "2026-06-30T08:00:00+00:00")
    assert alerts[1][1] is None  # not in the outbox yet
    assert brief == [(1, "C1"), (2, "C2")]  # the brief's priority order survives the copy
    assert bands == [(75.0, 50.0, "DOUBLE")]  # DECIMAL in the warehouse; a chart cannot draw Decimal objects


def test_publish_swaps_atomically_and_an_open_reader_keeps_the_old_snapshot(tmp_path):
    warehouse, serving, _ = build_snapshot(tmp_path)
    reader = duckdb.connect(str(serving), read_only=True)
    first = reader.execute("SELECT published_at FROM meta").fetchall()[0][0]
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE raw.contracts SET arr = arr * 2")
        report = publish(con, serving, [])
    assert report.rows["accounts"] == 4 and report.as_of == AS_OF
    assert reader.execute("SELECT sum(arr) FROM accounts").fetchall()[0][0] == 240000.0  # old file, still whole
    reader.close()
    with duckdb.connect(str(serving), read_only=True) as con:
        assert con.execute("SELECT sum(arr) FROM accounts").fetchall()[0][0] == 480000.0
        assert con.execute("SELECT published_at FROM meta").fetchall()[0][0] >= first
    assert sorted(p.name for p in serving.parent.iterdir()) == ["serving.duckdb"]  # no temporary file left


def test_a_failed_publish_keeps_the_previous_snapshot(tmp_path):
    warehouse, serving, _ = build_snapshot(tmp_path)
    before = serving.read_bytes()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DROP TABLE marts.rebalancing_plan")
        with pytest.raises(duckdb.CatalogException):
            publish(con, serving, [])
    assert serving.read_bytes() == before
    assert sorted(p.name for p in serving.parent.iterdir()) == ["serving.duckdb"]


def test_side_store_rules_and_ingestion(tmp_path):
    store = ActionsStore(tmp_path / "actions.sqlite")
    with pytest.raises(InvalidAction, match="reason"):
        store.record_action(username="c1", csm_id="C1", action="dismiss", account_id="A1", alert_key="k", reason="  ")
    store.record_action(username="c1", csm_id="C1", action="acknowledge", account_id="A1", alert_key="k",
                        at="2026-06-30T09:30:00+00:00")
    store.record_action(username="c1", csm_id="C1", action="note", account_id="A1", note="called <b>them</b>")
    store.record_event(username="c1", csm_id="C1", role="csm", event="login")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("CREATE SCHEMA raw")
        assert ingest(con, store) == {"raw.workspace_actions": 2, "raw.workspace_events": 1}
        assert ingest(con, store) == {"raw.workspace_actions": 2, "raw.workspace_events": 1}  # idempotent
        assert con.execute("SELECT action, note FROM raw.workspace_actions ORDER BY action_id").fetchall() == [
            ("acknowledge", None), ("note", "called <b>them</b>")]


def test_an_unreachable_side_store_says_so(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    with pytest.raises(SideStoreError, match="unreachable"):
        ActionsStore(blocker / "actions.sqlite")


def test_a_workspace_ack_stops_the_sla_clock_like_a_slack_ack():
    sent = {"alert_key": "k1", "severity": "critical", "csm_id": "C1", "sent_at": "2026-06-30T08:00:00+00:00",
            "acknowledged_at": None, "escalated_at": None}
    slack_later = sent | {"alert_key": "k2", "acknowledged_at": "2026-06-30T20:00:00+00:00"}
    rows = with_workspace_acknowledgments([sent, slack_later], [
        {"alert_key": "k1", "acknowledged_at": "2026-06-30T09:30:00+00:00", "acknowledged_by": "workspace:c1"},
        {"alert_key": "k2", "acknowledged_at": "2026-06-30T10:00:00+00:00", "acknowledged_by": "workspace:c1"}])
    critical = response_sla_rows(rows, {"critical": 4.0, "warning": 24.0})[0]
    # k1: 1.5 h (workspace); k2: the workspace ack at 2 h beats Slack's 12 h. Median 1.75 h, both within 4 h.
    assert (critical["coverage"], critical["acknowledged"], critical["median_hours_to_ack"], critical["pct_within_sla"]) == (
        2, 2, 1.75, 1.0)
    assert response_sla_rows([sent, slack_later], {"critical": 4.0, "warning": 24.0})[0]["acknowledged"] == 1
