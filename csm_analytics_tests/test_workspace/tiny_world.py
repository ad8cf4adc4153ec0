"""A tiny hand-built warehouse (2 CSMs under one manager plus a third CSM, 4 accounts, as of 2026-06-30) and its
serving snapshot, for the workspace tests. Every number the tests assert is computed by hand from these rows.

Accounts (as of 2026-06-30):
| account | name | CSM | ARR | MRR | workers | health | band | renews | churn p |
| A1 | Acme <b>Corp</b> | C1 | 120,000 | 10,000 | 50 | 42.5 | At risk | 2026-08-15 (46 d) | 0.40 |
| A2 | Beta | C1 | 60,000 | 5,000 | 20 | 81.0 | Healthy | 2027-03-31 (274 d) | 0.05 |
| A3 | Gamma | C2 | 24,000 | 2,000 | 10 | 65.0 | Watch | 2026-09-01 (63 d) | 0.20 |
| A4 | Delta | C3 | 36,000 | 3,000 | 30 | 55.0 | Watch | 2026-12-31 (184 d) | 0.10 |
Health 30 days earlier (2026-05-31): A1 60.0, A2 80.0, A3 65.0, A4 55.0. Bands: Healthy >= 75, Watch >= 50.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd

from csm_analytics.health.config import COMPONENTS
from csm_analytics.lib.actions_store import ActionsStore
from csm_analytics.serving.ingest import ingest
from csm_analytics.serving.publish import publish

AS_OF = dt.date(2026, 6, 30)
ACCOUNTS = [  # id, name, csm, arr, workers, score now, score 30 d ago, renewal end
    ("A1", "Acme <b>Corp</b>", "C1", 120_000, 50, 42.5, 60.0, "2026-08-15", 0.40),
    ("A2", "Beta", "C1", 60_000, 20, 81.0, 80.0, "2027-03-31", 0.05),
    ("A3", "Gamma", "C2", 24_000, 10, 65.0, 65.0, "2026-09-01", 0.20),
    ("A4", "Delta", "C3", 36_000, 30, 55.0, 55.0, "2026-12-31", 0.10),
]


# The health config: days before 2026-04-20 were scored before versions were recorded (NULL: not a change), version
# cfg-a scored until 2026-06-09, cfg-b from 2026-06-10: the one change day in the 90-day window.
VERSIONED_FROM = dt.date(2026, 4, 20)
CONFIG_CHANGED_ON = dt.date(2026, 6, 10)


def band(score: float) -> str:
    return "Healthy" if score >= 75 else "Watch" if score >= 50 else "At risk"


def _history_rows(account_id: str, tier: str, now: float, then: float):
    """90 days: `then` until 30 days before AS_OF, then a straight line to `now`. Usage carries the whole change."""
    rows = []
    for back in range(89, -1, -1):
        day = AS_OF - dt.timedelta(days=back)
        score = then if back >= 30 else round(then + (now - then) * (30 - back) / 30, 2)
        pts = {c: 0.0 for c in COMPONENTS}
        lost = {c: 0.0 for c in COMPONENTS}
        pts["usage"], lost["usage"] = score - 30, 100 - score - 10  # usage carries the change
        pts["payment"], lost["payment"] = 30.0, 10.0
        version = None if day < VERSIONED_FROM else "cfg-a" if day < CONFIG_CHANGED_ON else "cfg-b"
        rows.append((account_id, day, tier, score, band(score), *[pts[c] for c in COMPONENTS],
                     *[lost[c] for c in COMPONENTS], None, version))
    return rows


def build_warehouse(path: Path) -> None:
    con = duckdb.connect(str(path))
    for schema in ("raw", "core", "marts", "ml", "alerts", "reports"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute("CREATE TABLE raw.csms (csm_id VARCHAR, name VARCHAR, capacity INT, start_date DATE, manager VARCHAR, "
                "slack_user_id VARCHAR)")
    con.executemany("INSERT INTO raw.csms VALUES (?, ?, 40, DATE '2024-01-01', ?, ?)",
                    [("C1", "Cara One", "Mona Manager", "U1"), ("C2", "Carl Two", "Mona Manager", "U2"),
                     ("C3", "Cleo Three", "Other Boss", "U3")])
    con.execute("CREATE TABLE raw.accounts (account_id VARCHAR, account_name VARCHAR, tier VARCHAR, segment VARCHAR, "
                "industry VARCHAR, country VARCHAR, product VARCHAR, created_date DATE)")
    con.execute("CREATE TABLE raw.csm_assignments (account_id VARCHAR, csm_id VARCHAR, valid_from DATE, valid_to DATE)")
    con.execute("CREATE TABLE raw.contracts (contract_id VARCHAR, account_id VARCHAR, start_date DATE, end_date DATE, "
                "arr DOUBLE, mrr DOUBLE, term_months INT, licensed_seats INT, renewal_outcome VARCHAR, downgrade_amount DOUBLE)")
    con.execute("CREATE TABLE raw.product_usage (account_id VARCHAR, usage_date DATE, grain VARCHAR, active_users DOUBLE, "
                "licensed_seats INT, logins INT, key_feature_events INT, worker_count INT)")
    con.execute("CREATE TABLE ml.churn_predictions (as_of_date DATE, account_id VARCHAR, churn_probability DOUBLE, "
                "flag_threshold DOUBLE, top_drivers VARCHAR)")
    pts = ", ".join(f"pts_{c} DOUBLE" for c in COMPONENTS)
    lost = ", ".join(f"lost_{c} DOUBLE" for c in COMPONENTS)
    con.execute(f"CREATE TABLE core.account_health_history (account_id VARCHAR, as_of_date DATE, tier VARCHAR, "
                f"health_score DOUBLE, band VARCHAR, {pts}, {lost}, trend_30d DOUBLE, config_version VARCHAR)")
    comps = ", ".join(f"{c} DOUBLE" for c in COMPONENTS)
    con.execute(f"CREATE TABLE core.account_health_components (account_id VARCHAR, as_of_date DATE, tier VARCHAR, {comps})")
    for i, (acc, name, csm, arr, workers, now, then, end, p) in enumerate(ACCOUNTS):
        tier = "enterprise" if arr >= 100_000 else "mid_market"
        con.execute("INSERT INTO raw.accounts VALUES (?, ?, ?, ?, 'software', 'DE', 'payroll', DATE '2024-01-01')",
                    [acc, name, tier, "mid_market" if arr < 100_000 else "enterprise"])
        con.execute("INSERT INTO raw.csm_assignments VALUES (?, ?, DATE '2024-01-01', NULL)", [acc, csm])
        con.execute("INSERT INTO raw.contracts VALUES (?, ?, DATE '2025-01-01', ?, ?, ?, 12, 100, NULL, 0)",
                    [f"K{i}", acc, end, arr, arr / 12])
        con.execute("INSERT INTO raw.product_usage VALUES (?, ?, 'month', 10, 100, 5, 5, ?)", [acc, AS_OF, workers])
        con.execute("INSERT INTO ml.churn_predictions VALUES (?, ?, ?, 0.3, 'usage_trend')", [AS_OF, acc, p])
        history = pd.DataFrame(_history_rows(acc, tier, now, then))  # noqa: F841 - read by the INSERT below
        con.execute("INSERT INTO core.account_health_history SELECT * FROM history")
        con.execute(f"INSERT INTO core.account_health_components SELECT ?, ?, ?, {', '.join('50' for _ in COMPONENTS)}",
                    [acc, AS_OF, tier])
    con.execute("CREATE TABLE core.health_weights AS SELECT 'enterprise' AS tier, 'usage' AS component, 30.0 AS weight, "
                "75.0 AS healthy_from, 50.0 AS watch_from")
    con.execute("CREATE TABLE raw.support_tickets (ticket_id VARCHAR, account_id VARCHAR, opened_at TIMESTAMP, "
                "resolved_at TIMESTAMP, priority VARCHAR, escalated BOOLEAN, csat INT)")
    con.execute("INSERT INTO raw.support_tickets VALUES ('T1', 'A1', TIMESTAMP '2026-06-20 09:00', NULL, 'high', true, NULL)")
    con.execute("CREATE TABLE raw.activities (activity_id VARCHAR, csm_id VARCHAR, account_id VARCHAR, activity_type VARCHAR, "
                "activity_date DATE, duration_minutes INT, contact_role VARCHAR)")
    con.execute("INSERT INTO raw.activities VALUES ('X1', 'C1', 'A1', 'call', DATE '2026-06-25', 30, 'admin')")
    con.execute("CREATE TABLE raw.qbrs (qbr_id VARCHAR, account_id VARCHAR, csm_id VARCHAR, qbr_date DATE, topics VARCHAR, "
                "action_items VARCHAR, attendee_roles VARCHAR, nps_at_qbr INT, expansion_discussed BOOLEAN, referral_intent BOOLEAN)")
    con.execute("INSERT INTO raw.qbrs VALUES ('Q1', 'A1', 'C1', DATE '2026-04-01', 'roadmap', 'fix payroll export; train admins', "
                "'admin', 7, false, false)")
    con.execute("CREATE TABLE raw.dashboard_logins (csm_id VARCHAR, login_at TIMESTAMP, page VARCHAR)")
    # simulated logins, one a day at 09:00 from 2026-06-03 to 2026-06-30 for each CSM (REAL_LOGINS replace some)
    con.execute("INSERT INTO raw.dashboard_logins SELECT c, TIMESTAMP '2026-06-30 09:00' - INTERVAL (d) DAY, 'home' "
                "FROM range(28) t(d), (VALUES ('C1'), ('C2'), ('C3')) v(c)")
    con.execute("CREATE TABLE alerts.alert_events (alert_key VARCHAR, rule VARCHAR, severity VARCHAR, account_id VARCHAR, "
                "csm_id VARCHAR, event_date DATE, headline VARCHAR)")
    con.executemany("INSERT INTO alerts.alert_events VALUES (?, ?, ?, ?, ?, ?, ?)", [
        ("health_drop:A1:2026-06-29", "health_drop", "critical", "A1", "C1", dt.date(2026, 6, 29), "Acme fell 17.5 points"),
        ("payment_failure:A3:2026-06-28", "payment_failure", "warning", "A3", "C2", dt.date(2026, 6, 28), "Gamma payment failed"),
        ("health_drop:A4:2026-06-27", "health_drop", "warning", "A4", "C3", dt.date(2026, 6, 27), "Delta <script>x</script>")])
    con.execute("CREATE TABLE marts.csm_daily_brief (csm_id VARCHAR, account VARCHAR, health_band VARCHAR, arr DOUBLE, "
                "renewal_date DATE, last_activity_date DATE, open_actions INT, reason VARCHAR)")
    con.executemany("INSERT INTO marts.csm_daily_brief VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
        ("C1", "Acme <b>Corp</b> (A1)", "At risk", 120000, dt.date(2026, 8, 15), dt.date(2026, 6, 25), 2, "At risk, renews in 46 days"),
        ("C2", "Gamma (A3)", "Watch", 24000, dt.date(2026, 9, 1), None, 0, "QBR overdue")])
    con.execute("CREATE TABLE marts.qbr_action_items AS SELECT * FROM (VALUES "
                "('Q1', 'A1', 'C1', DATE '2026-04-01', 'fix payroll export', DATE '2026-05-01', NULL::DATE, 'overdue', DATE '2026-06-30'), "
                "('Q1', 'A1', 'C1', DATE '2026-04-01', 'train admins', DATE '2026-07-15', NULL::DATE, 'open', DATE '2026-06-30')) "
                "t(qbr_id, account_id, csm_id, qbr_date, action, due_date, completed_on, status, as_of_date)")
    con.execute("CREATE TABLE marts.qbr_pipeline AS SELECT * FROM (VALUES "
                "('A1', 'C1', 'enterprise', DATE '2026-04-01', DATE '2026-07-01', 'this quarter', 'missing', NULL::DATE, NULL::VARCHAR), "
                "('A2', 'C1', 'mid_market', DATE '2026-03-01', DATE '2026-05-30', 'overdue', 'ready', DATE '2026-06-01', NULL::VARCHAR), "
                "('A3', 'C2', 'mid_market', DATE '2026-05-01', DATE '2026-11-01', 'next quarter', 'missing', NULL::DATE, NULL::VARCHAR)) "
                "t(account_id, csm_id, tier, last_qbr_date, next_qbr_due, due_window, pack_status, pack_as_of, pack_path)")
    con.execute("CREATE TABLE marts.qbr_records AS SELECT 'A1' AS account_id, 'C1' AS csm_id, 1 AS qbrs_missed")
    con.execute("CREATE TABLE marts.account_plan_status AS SELECT * FROM (VALUES "
                "('A1', 'enterprise', true, DATE '2025-10-01', 272, 'stale', DATE '2026-06-30'), "
                "('A2', 'mid_market', true, DATE '2026-06-01', 29, 'current', DATE '2026-06-30'), "
                "('A4', 'mid_market', true, NULL::DATE, NULL::INT, 'missing', DATE '2026-06-30')) "
                "t(account_id, tier, plan_required, last_updated, days_since_update, plan_status, as_of_date)")
    con.execute("CREATE TABLE marts.expansion_signals AS SELECT * FROM (VALUES "
                "(1, 'A2', 88.0, 15000.0, 'seat_utilization', 'Propose more seats', 'C1'), "
                "(2, 'A3', 70.0, 5000.0, 'new_country', 'Offer the EOR add-on', 'C2'), "
                "(3, 'A4', 60.0, 4000.0, 'seat_utilization', 'Propose more seats', 'C3')) "
                "t(rank, account_id, readiness_index, estimated_expansion_arr, strongest_signal, recommended_action, csm_id)")
    con.execute("CREATE TABLE marts.expansion_forecast AS SELECT 'C1' AS csm_id, 1000.0 AS weighted_forecast")
    con.execute("CREATE TABLE marts.csm_scorecard AS SELECT * FROM (VALUES "
                "(DATE '2026-03-31', 'C1', 70.0, 65.0, 1, NULL::DOUBLE, 68.0, 80.0, 50.0, 60.0, 70.0, 90.0), "
                "(DATE '2026-03-31', 'C2', 60.0, 65.0, 2, NULL::DOUBLE, 66.0, 70.0, 40.0, 55.0, 65.0, 80.0), "
                "(DATE '2026-06-30', 'C1', 72.5, 66.0, 1, 2.5, 61.8, 80.0, 55.0, 60.0, 70.0, 90.0), "
                "(DATE '2026-06-30', 'C2', 59.5, 66.0, 2, -0.5, 65.0, 70.0, 40.0, 55.0, 65.0, 80.0)) "
                "t(quarter_end, csm_id, overall_score, team_average, peer_rank, change_vs_last_quarter, portfolio_health, "
                "retention, expansion, activity_engagement, customer_satisfaction, efficiency)")
    con.execute("CREATE TABLE marts.coaching_insights AS SELECT * FROM (VALUES ('qbr_after_drop', "
                "'A QBR within 14 days of a health drop: churn 12 pp lower')) t(insight, finding)")
    con.execute("CREATE TABLE marts.csm_portfolio AS SELECT csm_id, 2 AS accounts FROM raw.csms")
    con.execute("CREATE TABLE marts.account_management_kpis AS SELECT 'retention' AS category, 'grr' AS kpi, "
                "NULL::VARCHAR AS dimension, 0.9 AS value")
    con.execute("CREATE TABLE marts.cs_ops_kpis AS SELECT 'ops' AS category, 'adoption' AS kpi, NULL::VARCHAR AS dimension, 0.5 AS value")
    con.execute("CREATE TABLE marts.revenue_retention AS SELECT 'C1' AS csm_id, 'enterprise' AS segment, 0.95 AS grr, 1.05 AS nrr")
    con.execute("CREATE TABLE marts.renewal_forecast_accuracy AS SELECT DATE '2026-03-31' AS quarter_end, 0.9 AS accuracy")
    con.execute("CREATE TABLE marts.expansion_forecast_accuracy AS SELECT DATE '2026-03-31' AS quarter_end, 0.8 AS accuracy")
    con.execute("CREATE TABLE marts.alert_quality AS SELECT 'all rules' AS rule, 3 AS alerts_fired")
    con.execute("CREATE TABLE marts.alert_response_sla AS SELECT * FROM (VALUES ('critical', 4.0, 10, 8, 2.5, 0.7, 1), "
                "('warning', 24.0, 20, 15, 10.0, 0.6, 0)) t(severity, sla_hours, coverage, acknowledged, "
                "median_hours_to_ack, pct_within_sla, escalated)")
    con.execute("CREATE TABLE marts.rebalancing_plan AS SELECT 'A2' AS account_id, 'C1' AS from_csm, 'C2' AS to_csm")
    con.execute("CREATE TABLE reports.risk_heatmap AS SELECT * FROM (VALUES "
                "('C1', 'A1', 'Acme <b>Corp</b>', 120000.0, 80.0, 60.0, 50.0, 40.0, 20.0, 50.0), "
                "('C1', 'A2', 'Beta', 60000.0, 10.0, 10.0, 20.0, 30.0, 30.0, 20.0), "
                "('C2', 'A3', 'Gamma', 24000.0, 30.0, 40.0, 40.0, 40.0, 50.0, 40.0), "
                "('C3', 'A4', 'Delta', 36000.0, 60.0, 60.0, 60.0, 60.0, 60.0, 60.0)) "
                "t(csm_id, account_id, account_name, arr, payroll_accuracy, payment_health, engagement, growth, sentiment, overall_risk)")
    con.close()


# Real workspace logins (10:00 UTC). Adoption window: the four weeks 06-24..06-30 (week 0), 06-17..06-23, 06-10..06-16,
# 06-03..06-09 (week 3). C1: none, its 28 simulated logins count: 7 a week, adopted, source simulated.
# C2: first real login 05-20 (before the window): only real ones count, 3, 3, 3 and 2 a week: 11 / 4 = 2.75 a week,
#     not adopted (its 7 simulated a week are replaced), source workspace.
# C3: first real login 06-20 10:00, inside the window: simulated 06-03..06-20 09:00 (18) + that real one = 19,
#     weeks 0, 5, 7, 7 (4.75 a week), not adopted, source mixed.
REAL_LOGINS = [("c2", "C2", dt.date(2026, 5, 20))] + [
    ("c2", "C2", AS_OF - dt.timedelta(days=7 * week + d)) for week in range(4) for d in (0, 2, 4)[:3 if week < 3 else 2]] + [
    ("c3", "C3", dt.date(2026, 6, 20))]


def build_snapshot(folder: Path, outbox_rows: list[dict] | None = None) -> tuple[Path, Path, Path]:
    """(warehouse, serving snapshot, side store) in `folder`, the snapshot published from the warehouse."""
    warehouse, serving, actions = folder / "warehouse.duckdb", folder / "serving" / "serving.duckdb", folder / "actions.sqlite"
    build_warehouse(warehouse)
    store = ActionsStore(actions)
    for username, csm_id, day in REAL_LOGINS:
        store.record_event(username=username, csm_id=csm_id, role="csm", event="login", at=f"{day}T10:00:00+00:00")
    with duckdb.connect(str(warehouse)) as con:
        ingest(con, store)
        publish(con, serving, outbox_rows if outbox_rows is not None else DEFAULT_OUTBOX)
    return warehouse, serving, actions


DEFAULT_OUTBOX = [  # the A1 critical alert was sent 2026-06-30 08:00 UTC; the others are not sent yet
    {"alert_key": "health_drop:A1:2026-06-29", "status": "sent", "sent_at": "2026-06-30T08:00:00+00:00",
     "acknowledged_at": None, "acknowledged_by": None, "escalated_at": None},
]
