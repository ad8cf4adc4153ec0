"""The QBR pipeline and action-item statuses on a hand-built book, worked out by hand."""

from __future__ import annotations

import datetime as dt

from csm_analytics.health.config import load_health_config
from csm_analytics.lib.warehouse import fetch_dicts
from csm_analytics.reports.qbr.pipeline import qbr_action_items_sql, qbr_pipeline_sql
from csm_analytics_tests.fixtures import empty_raw_warehouse, insert

AS_OF = dt.date(2026, 9, 30)


def _book(path):
    con = empty_raw_warehouse(path)
    con.execute("CREATE SCHEMA core")
    con.execute("CREATE TABLE core.account_health_score (account_id VARCHAR, as_of_date DATE)")
    con.execute("INSERT INTO core.account_health_score VALUES ('A1', ?)", [AS_OF])
    insert(con, "accounts", [
        {"account_id": a, "account_name": f"Acme {a}", "tier": tier, "segment": "SMB"}
        for a, tier in [("A1", "Strategic"), ("A2", "Growth"), ("A3", "Core"), ("A4", "Strategic")]])
    insert(con, "contracts", [
        {"contract_id": f"{a}-C", "account_id": a, "start_date": dt.date(2025, 1, 1), "end_date": end, "arr": 1000.0}
        for a, end in [("A1", dt.date(2026, 12, 31)), ("A2", dt.date(2026, 12, 31)), ("A3", dt.date(2026, 12, 31)),
                       ("A4", dt.date(2026, 6, 30))]])  # A4 is no longer active
    insert(con, "csm_assignments", [{"account_id": a, "csm_id": "C1", "valid_from": dt.date(2025, 1, 1)}
                                    for a in ("A1", "A2", "A3", "A4")])
    insert(con, "qbrs", [
        # A1 (every 90 days): last QBR 2026-08-01 -> due 2026-10-30, next quarter
        {"qbr_id": "Q1", "account_id": "A1", "csm_id": "C1", "qbr_date": dt.date(2026, 8, 1),
         "action_items": "schedule admin training;review open tickets;enable SSO"},
        # A2 (every 180 days): last QBR 2026-01-10 -> due 2026-07-09, inside this quarter (2026-07-01 .. 09-30)
        {"qbr_id": "Q2", "account_id": "A2", "csm_id": "C1", "qbr_date": dt.date(2026, 1, 10),
         "action_items": "draft expansion proposal"},
    ])
    insert(con, "activities", [
        {"activity_id": "X1", "csm_id": "C1", "account_id": "A1", "activity_type": "meeting",
         "activity_date": dt.date(2026, 8, 20), "contact_role": "Admin"},
        {"activity_id": "X2", "csm_id": "C1", "account_id": "A1", "activity_type": "call",
         "activity_date": dt.date(2026, 7, 20), "contact_role": "Admin"},  # before the QBR: no evidence
    ])
    insert(con, "support_tickets", [
        {"ticket_id": "T1", "account_id": "A1", "opened_at": dt.datetime(2026, 7, 25), "resolved_at": dt.datetime(2026, 8, 5)},
    ])
    return con


def test_next_qbr_due_and_window(tmp_path):
    con = _book(tmp_path / "w.duckdb")
    rows = {r["account_id"]: r for r in fetch_dicts(con, qbr_pipeline_sql(load_health_config()))}
    # A3 (Core, yearly): no QBR -> first contract start 2025-01-01 + 365 = 2026-01-01, overdue (before 2026-07-01)
    # A4 is not active on 2026-09-30, so it is not in the pipeline.
    assert set(rows) == {"A1", "A2", "A3"}
    assert rows["A1"]["next_qbr_due"] == dt.date(2026, 10, 30) and rows["A1"]["due_window"] == "next quarter"
    assert rows["A2"]["next_qbr_due"] == dt.date(2026, 7, 9) and rows["A2"]["due_window"] == "this quarter"
    assert rows["A3"]["next_qbr_due"] == dt.date(2026, 1, 1) and rows["A3"]["due_window"] == "overdue"
    assert {r["pack_status"] for r in rows.values()} == {"missing"}


def test_pack_status_ready_stale_missing(tmp_path):
    con = _book(tmp_path / "w.duckdb")
    con.execute("CREATE TABLE packs AS SELECT * FROM (VALUES ('A1', DATE '2026-09-30', 'a1.html'), "
                "('A2', DATE '2026-09-01', 'a2.html')) t(account_id, as_of_date, html_path)")
    rows = {r["account_id"]: r["pack_status"] for r in fetch_dicts(con, qbr_pipeline_sql(load_health_config(), "packs"))}
    assert rows == {"A1": "ready", "A2": "stale", "A3": "missing"}


def test_action_item_status_from_evidence(tmp_path):
    con = _book(tmp_path / "w.duckdb")
    items = {(r["account_id"], r["action"]): r for r in fetch_dicts(con, qbr_action_items_sql())}
    # Admin meeting 19 days after the QBR: done on 2026-08-20
    assert items[("A1", "schedule admin training")]["status"] == "done"
    assert items[("A1", "schedule admin training")]["completed_on"] == dt.date(2026, 8, 20)
    # the only ticket open at the QBR was resolved on 2026-08-05
    assert items[("A1", "review open tickets")]["completed_on"] == dt.date(2026, 8, 5)
    # the Admin call came before the QBR: no evidence, and 60 days > 30 since the QBR -> overdue
    assert items[("A1", "enable SSO")]["status"] == "overdue" and items[("A1", "enable SSO")]["due_date"] == dt.date(2026, 8, 31)
    # A2's QBR (2026-01-10) is within 365 days; no opportunity was opened after it -> overdue
    assert items[("A2", "draft expansion proposal")]["status"] == "overdue"
    assert len(items) == 4


def test_action_items_bind_the_account_id_and_date(tmp_path):
    """Issue 16: an id is a bound parameter. `x' OR 1=1 --` matches no account, and O'Brien is matched exactly."""
    from csm_analytics.reports.qbr.pipeline import qbr_action_items_query

    con = _book(tmp_path / "w.duckdb")
    insert(con, "qbrs", [{"qbr_id": "Q3", "account_id": "O'Brien", "csm_id": "C1", "qbr_date": dt.date(2026, 9, 1),
                          "action_items": "enable SSO"}])
    every = fetch_dicts(con, qbr_action_items_sql())
    assert {r["account_id"] for r in every} == {"A1", "A2", "O'Brien"}
    for hostile in ["x' OR 1=1 --", "A1' OR '1'='1", "'; DROP TABLE raw.qbrs; --"]:
        sql, params = qbr_action_items_query(AS_OF, hostile)
        assert hostile not in sql and fetch_dicts(con, sql, params) == []
    rows = fetch_dicts(con, *qbr_action_items_query(AS_OF, "O'Brien"))
    assert [(r["account_id"], r["action"]) for r in rows] == [("O'Brien", "enable SSO")]
    assert {r["account_id"] for r in fetch_dicts(con, *qbr_action_items_query(AS_OF, "A1"))} == {"A1"}
    assert con.execute("SELECT count(*) FROM raw.qbrs").fetchall()[0][0] == 3
