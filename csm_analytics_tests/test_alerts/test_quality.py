"""Alert quality per rule and response time against the SLA."""

from __future__ import annotations

import shutil

import duckdb
from dagster import DagsterInstance, materialize
from dagster_duckdb import DuckDBResource

from csm_analytics.alerts.assets import alert_events, alert_quality
from csm_analytics.alerts.quality import response_sla_rows
from csm_analytics.alerts.resources import AlertOutboxResource


def test_response_sla_by_hand():
    rows = [
        {"severity": "critical", "sent_at": "2026-10-01T09:00:00+00:00", "acknowledged_at": "2026-10-01T11:00:00+00:00", "escalated_at": None},
        {"severity": "critical", "sent_at": "2026-10-01T09:00:00+00:00", "acknowledged_at": "2026-10-01T15:00:00+00:00", "escalated_at": "2026-10-01T13:00:00+00:00"},
        {"severity": "critical", "sent_at": "2026-10-01T09:00:00+00:00", "acknowledged_at": None, "escalated_at": None},
        {"severity": "critical", "sent_at": None, "acknowledged_at": None, "escalated_at": None},  # not delivered
    ]
    critical, warning = response_sla_rows(rows, {"critical": 4, "warning": 24})
    # 3 delivered; acks after 2 h and 6 h: median 4 h; 1 of 3 within 4 h
    assert critical == {"severity": "critical", "sla_hours": 4, "coverage": 3, "acknowledged": 2,
                        "median_hours_to_ack": 4.0, "pct_within_sla": 0.3333, "escalated": 1}
    assert warning["coverage"] == 0 and warning["median_hours_to_ack"] is None and warning["pct_within_sla"] is None


def test_alert_quality_on_the_default_world(tmp_path, scored):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(scored[1], warehouse)
    resources = {"duckdb": DuckDBResource(database=str(warehouse)),
                 "alert_outbox": AlertOutboxResource(path=str(tmp_path / "outbox.sqlite"))}
    assert materialize([alert_events, alert_quality], resources=resources, instance=DagsterInstance.ephemeral()).success
    con = duckdb.connect(str(warehouse), read_only=True)
    quality = con.execute("SELECT * FROM marts.alert_quality").df().set_index("rule")
    fired = con.execute("SELECT count(*) FROM alerts.alert_events").fetchall()[0][0]
    assert quality.loc["all rules", "alerts_fired"] == fired == quality.drop("all rules").alerts_fired.sum()
    assert (quality.recall_60d_before <= quality.loc["all rules", "recall_60d_before"]).all()
    for col in ("pct_followed_up_7d", "precision_churn_or_downgrade_180d", "recall_60d_before"):
        assert quality[col].dropna().between(0, 1).all()
    # a direction, not a quality bar: alerted accounts lose revenue more often than renewals in general (how much
    # more belongs in the evaluation pooled over several worlds; the arithmetic is tested by hand below)
    base = con.execute("""SELECT avg((renewal_outcome IN ('churned', 'downgraded'))::INT) FROM raw.contracts
                          WHERE renewal_outcome IS NOT NULL""").fetchall()[0][0]
    assert quality.loc["at_risk_renewal", "precision_churn_or_downgrade_180d"] > base


def test_alert_quality_by_hand(tmp_path):
    """History 2024-01-01 .. 2025-12-31. A churns 2025-05-31 (alert 2025-02-01, a call 4 days later); B downgrades
    2025-06-30 (alert 2025-03-01, only an internal review after it); C renews 2025-06-30 (alert 2025-03-01);
    D churns 2025-11-30, alerted 2025-10-15: too late for recall (after end - 60) and its 180 days are not observed."""
    import datetime as dt

    from csm_analytics.alerts.quality import QUALITY_SQL
    from csm_analytics_tests.fixtures import empty_raw_warehouse, insert

    D = dt.date
    con = empty_raw_warehouse(tmp_path / "wh.duckdb")
    con.execute("CREATE SCHEMA core; CREATE SCHEMA alerts")
    con.execute("CREATE TABLE core.account_health_history (account_id VARCHAR, as_of_date DATE)")
    con.execute("INSERT INTO core.account_health_history VALUES ('A', '2024-01-01'), ('A', '2025-12-31')")
    con.execute("CREATE TABLE alerts.alert_events (rule VARCHAR, alert_key VARCHAR, account_id VARCHAR, event_date DATE)")
    con.executemany("INSERT INTO alerts.alert_events VALUES ('at_risk_renewal', ?, ?, ?)", [
        ("a1", "A", D(2025, 2, 1)), ("a2", "B", D(2025, 3, 1)), ("a3", "C", D(2025, 3, 1)), ("a4", "D", D(2025, 10, 15))])
    insert(con, "contracts", [
        dict(contract_id=f"{a}0", account_id=a, start_date=start, end_date=end, arr=1000.0, mrr=1000 / 12,
             term_months=12, licensed_seats=10, renewal_outcome=outcome, downgrade_amount=0.0)
        for a, start, end, outcome in [("A", D(2024, 6, 1), D(2025, 5, 31), "churned"),
                                       ("B", D(2024, 7, 1), D(2025, 6, 30), "downgraded"),
                                       ("C", D(2024, 7, 1), D(2025, 6, 30), "renewed"),
                                       ("D", D(2024, 12, 1), D(2025, 11, 30), "churned")]])
    insert(con, "activities", [
        dict(activity_id=f"X{i}", csm_id="CSM01", account_id=a, activity_type=kind, activity_date=day,
             duration_minutes=30, contact_role=None)
        for i, (a, kind, day) in enumerate([("A", "call", D(2025, 2, 5)), ("B", "internal_review", D(2025, 3, 2))])])
    rows = con.execute(QUALITY_SQL).df().set_index("rule")
    assert list(rows.index) == ["at_risk_renewal", "all rules"]
    rule = rows.loc["at_risk_renewal"]
    assert (rule.alerts_fired, rule.alerts_with_outcome_observed) == (4, 3)  # a4 + 180 days is after the last day
    assert rule.precision_churn_or_downgrade_180d == 0.6667  # A and B lost revenue within 180 days, C did not
    assert rule.pct_followed_up_7d == 0.25  # A's call; B's internal review does not count
    assert (rule.churned_contracts, rule.alerted_60d_before, rule.recall_60d_before) == (2, 1, 0.5)


def test_at_risk_renewal_waits_for_a_week_at_risk(tmp_path):
    """Hand-built: A is At risk for 6 days, then Watch, then 7 days from 2026-03-10, all within 90 days of its
    renewal on 2026-05-31; B is At risk for 7 days but 120 days before its renewal. One alert: A on 2026-03-16."""
    import datetime as dt

    from csm_analytics.alerts.config import load_alert_config
    from csm_analytics.alerts.rules import alert_events_sql
    from csm_analytics_tests.fixtures import empty_raw_warehouse, insert

    con = empty_raw_warehouse(tmp_path / "wh.duckdb")
    con.execute("CREATE SCHEMA core")
    con.execute("CREATE TABLE core.account_health_history (account_id VARCHAR, as_of_date DATE, health_score DOUBLE, band VARCHAR)")
    con.execute("CREATE TABLE core.health_band_transitions (account_id VARCHAR, transition_date DATE, from_band VARCHAR, "
                "to_band VARCHAR, score_before DOUBLE, score_after DOUBLE, moved_by VARCHAR)")
    start = dt.date(2026, 3, 1)
    bands = {"A": ["At risk"] * 6 + ["Watch"] * 3 + ["At risk"] * 7, "B": ["At risk"] * 7 + ["Watch"] * 9}
    for account, days in bands.items():
        con.executemany("INSERT INTO core.account_health_history VALUES (?, ?, ?, ?)",
                        [(account, start + dt.timedelta(days=i), 30.0 if b == "At risk" else 55.0, b) for i, b in enumerate(days)])
    for account, end in (("A", dt.date(2026, 5, 31)), ("B", dt.date(2026, 7, 1))):
        insert(con, "accounts", [{"account_id": account, "account_name": account, "tier": "Growth"}])
        insert(con, "contracts", [{"contract_id": f"{account}-C1", "account_id": account, "start_date": dt.date(2025, 6, 1),
                                   "end_date": end, "arr": 50_000.0}])
    config = load_alert_config()
    assert config.rules["at_risk_renewal"]["min_days_at_risk"] == 7
    rows = con.execute(f"SELECT rule, account_id, event_date, headline FROM ({alert_events_sql(config, False)}) "
                       "WHERE rule = 'at_risk_renewal'").fetchall()
    assert rows == [("at_risk_renewal", "A", dt.date(2026, 3, 16), "At risk for 7 days and renewing on 2026-05-31")]


def test_non_critical_response_sla_is_timed_from_the_digest_by_hand():
    """Warnings reach the CSM in a digest: 12 h and 26 h to acknowledge, one never, one not digested yet."""
    digest, later = "2026-10-05T08:00:00+00:00", None
    rows = [
        {"severity": "warning", "sent_at": None, "digested_at": digest, "acknowledged_at": "2026-10-05T20:00:00+00:00",
         "escalated_at": None},
        {"severity": "warning", "sent_at": None, "digested_at": digest, "acknowledged_at": "2026-10-06T10:00:00+00:00",
         "escalated_at": None},
        {"severity": "warning", "sent_at": None, "digested_at": digest, "acknowledged_at": None, "escalated_at": None},
        {"severity": "warning", "sent_at": None, "digested_at": later, "acknowledged_at": None, "escalated_at": None},
    ]
    _, warning = response_sla_rows(rows, {"critical": 4, "warning": 24})
    # 3 delivered; median of 12 h and 26 h = 19 h; 1 of 3 within 24 h (the unacknowledged one is a miss)
    assert warning == {"severity": "warning", "sla_hours": 24, "coverage": 3, "acknowledged": 2,
                       "median_hours_to_ack": 19.0, "pct_within_sla": 0.3333, "escalated": 0}
