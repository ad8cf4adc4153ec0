"""GRR, NRR, logo retention, plan currency and QBR completion on a small book worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from csm_analytics.health.config import DEFAULT_CONFIG, load_health_config
from csm_analytics.lib.warehouse import replace_table
from csm_analytics.portfolio.metrics import (
    QBR_COMPLIANCE_BY_CSM, account_plan_status_sql, qbr_records_sql, retention_cohorts_sql, revenue_retention_sql,
)
from csm_analytics_tests.fixtures import empty_raw_warehouse, insert

D = dt.date


def _account(aid, tier="Enterprise"):
    return dict(account_id=aid, account_name=aid, tier=tier, segment="Large", industry="Media", country="US",
                product="EOR", created_date=D(2024, 1, 1))


def _contract(cid, aid, start, end, arr, outcome):
    return dict(contract_id=cid, account_id=aid, start_date=start, end_date=end, arr=arr, mrr=arr / 12, term_months=12,
                licensed_seats=10, renewal_outcome=outcome, downgrade_amount=0.0)


@pytest.fixture
def con(tmp_path):
    con = empty_raw_warehouse(tmp_path / "wh.duckdb")
    insert(con, "accounts", [_account(a) for a in "ABCE"] + [_account("D", "Growth")])
    insert(con, "contracts", [
        _contract("A0", "A", D(2024, 6, 1), D(2025, 5, 31), 100_000.0, "renewed"),      # expands to 120k
        _contract("A1", "A", D(2025, 6, 1), D(2026, 5, 31), 120_000.0, None),
        _contract("B0", "B", D(2024, 3, 1), D(2025, 2, 28), 50_000.0, "churned"),       # churns
        _contract("C0", "C", D(2024, 9, 1), D(2025, 8, 31), 80_000.0, "downgraded"),    # 80k -> 60k
        _contract("C1", "C", D(2025, 9, 1), D(2026, 8, 31), 60_000.0, None),
        _contract("D0", "D", D(2025, 3, 1), D(2026, 2, 28), 30_000.0, None),            # new logo: not in the cohort
        _contract("E0", "E", D(2024, 12, 1), D(2025, 11, 30), 20_000.0, "renewed"),     # flat
        _contract("E1", "E", D(2025, 12, 1), D(2026, 11, 30), 20_000.0, None),
    ])
    insert(con, "csm_assignments", [dict(account_id=a, csm_id=c, valid_from=D(2024, 1, 1), valid_to=None)
                                    for a, c in [("A", "CSM01"), ("B", "CSM01"), ("C", "CSM02"), ("D", "CSM02"), ("E", "CSM02")]])
    insert(con, "product_usage", [dict(account_id="A", usage_date=d, grain="day", active_users=1.0, licensed_seats=1,
                                       logins=1, key_feature_events=1, worker_count=1) for d in (D(2024, 1, 1), D(2025, 12, 31))])
    insert(con, "account_plans", [
        dict(plan_id="PA", account_id="A", period="2025", objectives="x", expansion_targets=None, risk_mitigations=None,
             qbr_schedule="quarterly", last_updated=D(2025, 11, 15)),
        dict(plan_id="PC", account_id="C", period="2025", objectives="x", expansion_targets=None, risk_mitigations=None,
             qbr_schedule="quarterly", last_updated=D(2025, 8, 1)),
    ])
    # C goes red and gets a call within 2 weeks, then renews (downgraded): 80k of churn prevented.
    # B goes red and gets a call, but churns anyway: nothing prevented.
    con.execute("CREATE SCHEMA core")
    con.execute("CREATE TABLE core.health_band_transitions (account_id VARCHAR, transition_date DATE, to_band VARCHAR)")
    con.execute("INSERT INTO core.health_band_transitions VALUES ('C', '2025-04-01', 'At risk'), ('B', '2025-01-20', 'At risk')")
    insert(con, "activities", [
        dict(activity_id="R1", csm_id="CSM02", account_id="C", activity_type="call", activity_date=D(2025, 4, 5),
             duration_minutes=30, contact_role="Champion"),
        dict(activity_id="R2", csm_id="CSM01", account_id="B", activity_type="call", activity_date=D(2025, 1, 22),
             duration_minutes=30, contact_role="Champion")])
    insert(con, "expansion_opportunities", [
        dict(opportunity_id="O1", account_id="A", stage="closed won", amount=20_000.0, created_date=D(2025, 3, 1),
             close_date=D(2025, 5, 20), status="won", source_signal="seat_ceiling", attributed_csm_id="CSM01",
             evidence_link="https://crm/o1"),
        dict(opportunity_id="O2", account_id="E", stage="closed won", amount=5_000.0, created_date=D(2025, 3, 1),
             close_date=D(2025, 5, 20), status="won", source_signal="inbound", attributed_csm_id="CSM02",
             evidence_link=None)])  # no evidence: organic
    qbrs = [("A", D(2024, 11, 10)), ("A", D(2025, 2, 10)), ("A", D(2025, 5, 10)), ("A", D(2025, 8, 10)),
            *[("C", D(2025, m, 5)) for m in (2, 4, 6, 8, 10)], ("D", D(2025, 7, 1))]
    insert(con, "qbrs", [dict(qbr_id=f"Q{i}", account_id=a, csm_id="CSM01", qbr_date=d, topics="x", action_items="x",
                              attendee_roles="Champion;Executive Sponsor", nps_at_qbr=8, expansion_discussed=False,
                              referral_intent=False) for i, (a, d) in enumerate(qbrs)])
    return con


def _retention(con):
    replace_table(con, "marts.retention_cohorts", retention_cohorts_sql())
    return con.execute(revenue_retention_sql()).df()


def test_retention_for_the_whole_book(con):
    rows = _retention(con)
    # 2024-12-31 is a quarter end with a full year of data, but nobody had a contract a year before it
    assert sorted(rows.quarter_end.dt.date.unique()) == [D(2025, 3, 31), D(2025, 6, 30), D(2025, 9, 30), D(2025, 12, 31)]
    book = rows[(rows.dimension == "all") & (rows.quarter_end == "2025-12-31")].iloc[0]
    # cohort on 2025-01-01: A 100k, B 50k, C 80k, E 20k = 250k; a year later A 120k, C 60k, E 20k = 200k
    assert (book.accounts_at_start, book.accounts_retained, book.accounts_net_arr_down) == (4, 3, 1)
    assert (book.start_arr, book.end_arr) == (250_000, 200_000)
    assert (book.churned_arr, book.contraction_arr, book.expansion_arr) == (50_000, 20_000, 20_000)
    assert (book.grr, book.nrr, book.logo_retention, book.net_arr_down_rate) == (0.72, 0.8, 0.75, 0.25)
    assert (book.churn_prevented_arr, book.expansion_attributed_arr, book.expansion_organic_arr) == (80_000, 20_000, 5_000)


def test_retention_by_csm(con):
    rows = _retention(con)
    csm = rows[(rows.dimension == "csm") & (rows.quarter_end == "2025-12-31")].set_index("dimension_value")
    assert (csm.loc["CSM01", "grr"], csm.loc["CSM01", "nrr"], csm.loc["CSM01", "logo_retention"]) == (0.6667, 0.8, 0.5)
    assert (csm.loc["CSM02", "grr"], csm.loc["CSM02", "nrr"], csm.loc["CSM02", "net_arr_down_rate"]) == (0.8, 0.8, 0.5)
    assert (csm.loc["CSM02", "churn_prevented_arr"], csm.loc["CSM01", "churn_prevented_arr"]) == (80_000, 0)
    assert (csm.loc["CSM01", "expansion_attributed_arr"], csm.loc["CSM02", "expansion_organic_arr"]) == (20_000, 5_000)


def test_account_plan_currency(con):
    plans = con.execute(account_plan_status_sql()).df().set_index("account_id")
    assert dict(plans.plan_status) == {"A": "current", "C": "stale", "E": "missing", "D": "missing"}
    required = plans[plans.plan_required]
    assert sorted(required.index) == ["A", "C", "E"] and (required.plan_status == "current").mean() == pytest.approx(1 / 3)
    assert plans.loc["A", "days_since_update"] == 46


def test_qbr_completion(con):
    replace_table(con, "marts.qbr_records", qbr_records_sql(load_health_config(DEFAULT_CONFIG)))
    records = con.execute("SELECT * FROM marts.qbr_records").df().set_index("account_id")
    # A: 365-day window, every 90 days -> 4 required, 3 held in the window; D (Growth, 180): 306 days -> 1
    assert tuple(records.loc["A", ["qbrs_required", "qbrs_held", "qbrs_missed"]]) == (4, 3, 1)
    assert tuple(records.loc["C", ["qbrs_required", "qbrs_held", "qbrs_missed"]]) == (4, 5, 0)
    assert tuple(records.loc["E", ["qbrs_required", "qbrs_held", "qbrs_missed"]]) == (4, 0, 4)
    assert tuple(records.loc["D", ["qbrs_required", "qbrs_held", "qbrs_missed"]]) == (1, 1, 0)
    by_csm = con.execute(QBR_COMPLIANCE_BY_CSM).df().set_index("csm_id")
    assert by_csm.loc["CSM01", "qbr_completion_rate"] == 0.75  # 3 of 4
    assert by_csm.loc["CSM02", "qbr_completion_rate"] == 0.5556  # C 4 (capped) + E 0 + D 1 of 9
    assert list(by_csm.loc["CSM02", "accounts_to_escalate"]) == ["E"]


def test_engagement_cadence(con):
    from csm_analytics.portfolio.metrics import engagement_cadence_sql

    insert(con, "activities", [
        dict(activity_id=f"X{i}", csm_id="CSM01", account_id="A", activity_type=kind, activity_date=day,
             duration_minutes=30, contact_role=role)
        for i, (kind, day, role) in enumerate([
            ("call", D(2025, 11, 3), "Champion"), ("email", D(2025, 11, 20), "Admin"),
            ("meeting", D(2025, 11, 25), "Champion"), ("internal_review", D(2025, 11, 26), None),
            ("call", D(2025, 12, 2), "Champion")])
    ])
    rows = con.execute(engagement_cadence_sql(load_health_config(DEFAULT_CONFIG))).df()
    a = rows[rows.account_id == "A"].set_index(rows[rows.account_id == "A"].month.dt.strftime("%Y-%m"))
    # Enterprise target: 4 touches a month. November: 3 touches (the internal review does not count), 2 roles
    assert tuple(a.loc["2025-11", ["touches", "on_target", "distinct_roles", "multi_role"]]) == (3, False, 2, True)
    assert tuple(a.loc["2025-12", ["touches", "distinct_roles", "multi_role"]]) == (1, 1, False)
    assert sorted(a.index)[0] == "2025-01" and len(a) == 12  # the last 12 complete months
