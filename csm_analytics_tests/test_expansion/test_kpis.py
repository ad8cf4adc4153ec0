"""A sample of the account-management KPIs on a book worked out by hand.

T = 2026-09-30; the last 12 months are 2025-10-01 .. 2026-09-30.
  A1 (Large)  C1 2025-01-01..2025-12-31 renewed, C2 2026-01-01..2026-12-31 in force
  A2 (SMB)    C1 2025-04-01..2026-03-31 downgraded, C2 2026-04-01..2027-03-31 in force
  A3 (SMB)    C1 2025-02-01..2026-01-31 churned (exit reason: budget cuts)
  A4 (Large)  C1 2024-01-01..2024-12-31 downgraded, C2 2025-01-01..2025-12-31 churned (no exit reason)
"""

import datetime as dt

import pandas as pd
import pytest

from csm_analytics.expansion import signals
from csm_analytics.expansion.config import load_expansion_config
from csm_analytics.expansion.impact import check_in_accounts_sql, check_in_expansion_impact, check_in_impact
from csm_analytics.expansion.kpis import CATALOGUE, catalogue_rows
from csm_analytics_tests.fixtures import empty_raw_warehouse, insert


def _contract(cid, acc, start, end, outcome=None):
    return {"contract_id": cid, "account_id": acc, "start_date": start, "end_date": end, "arr": 1200.0, "mrr": 100.0,
            "term_months": 12, "licensed_seats": 10, "renewal_outcome": outcome, "downgrade_amount": 0.0}


def _qbr(qid, acc, day, roles, intent):
    return {"qbr_id": qid, "account_id": acc, "csm_id": "C", "qbr_date": day, "topics": "t", "action_items": "a",
            "attendee_roles": roles, "expansion_discussed": False, "referral_intent": intent}


def _won(oid, acc, amount, created, closed):
    return {"opportunity_id": oid, "account_id": acc, "stage": "closed won", "amount": amount, "created_date": created,
            "close_date": closed, "status": "won", "source_signal": "inbound"}


def _referral(rid, acc, day, kind, status, amount=None, close=None):
    return {"referral_id": rid, "account_id": acc, "referral_date": day, "referral_type": kind, "prospect_name": "p",
            "status": status, "opportunity_amount": amount, "close_date": close}


@pytest.fixture
def kpis(tmp_path) -> dict:
    con = empty_raw_warehouse(tmp_path / "w.duckdb")
    insert(con, "accounts", [{"account_id": a, "account_name": a, "tier": "Core", "segment": seg, "industry": "x",
                              "country": "US", "product": "EOR", "created_date": "2024-01-01"}
                             for a, seg in [("A1", "Large"), ("A2", "SMB"), ("A3", "SMB"), ("A4", "Large")]])
    insert(con, "contracts", [
        _contract("A1-C1", "A1", "2025-01-01", "2025-12-31", "renewed"), _contract("A1-C2", "A1", "2026-01-01", "2026-12-31"),
        _contract("A2-C1", "A2", "2025-04-01", "2026-03-31", "downgraded"), _contract("A2-C2", "A2", "2026-04-01", "2027-03-31"),
        _contract("A3-C1", "A3", "2025-02-01", "2026-01-31", "churned"),
        _contract("A4-C1", "A4", "2024-01-01", "2024-12-31", "downgraded"),
        _contract("A4-C2", "A4", "2025-01-01", "2025-12-31", "churned")])
    insert(con, "exit_reasons", [{"contract_id": "A3-C1", "account_id": "A3", "recorded_date": "2026-02-05",
                                  "exit_reason": "budget cuts"}])
    insert(con, "product_usage", [{"account_id": "A1", "usage_date": "2026-09-30", "grain": "day", "active_users": 5,
                                   "licensed_seats": 10, "logins": 1, "key_feature_events": 1, "worker_count": 10}])
    insert(con, "qbrs", [_qbr("Q0", "A1", "2025-06-01", "Champion", True),  # before the 12 months: not counted
                         _qbr("Q1", "A1", "2026-03-01", "Champion", True),
                         _qbr("Q2", "A2", "2026-06-15", "Finance", True),
                         _qbr("Q3", "A1", "2026-08-01", "Executive Sponsor;Champion", False)])
    insert(con, "activities", [
        {"activity_id": "X1", "csm_id": "C", "account_id": "A1", "activity_type": "call", "activity_date": "2026-06-01",
         "duration_minutes": 30, "contact_role": "Champion"},
        {"activity_id": "X2", "csm_id": "C", "account_id": "A1", "activity_type": "email", "activity_date": "2026-07-01",
         "duration_minutes": 5, "contact_role": "Admin"}])
    insert(con, "survey_responses", [{"response_id": "S1", "account_id": "A2", "survey_type": "CSAT",
                                      "response_date": "2026-05-01", "score": 4, "respondent_role": "Finance"}])
    insert(con, "expansion_opportunities", [
        _won("E0", "A1", 500, "2025-03-01", "2025-05-01"), _won("E1", "A1", 300, "2025-12-01", "2026-02-01"),
        _won("E2", "A1", 100, "2026-03-01", "2026-05-01"), _won("E3", "A2", 200, "2026-04-01", "2026-06-01")])
    insert(con, "referrals", [
        _referral("R1", "A1", "2026-05-01", "warm_introduction", "won", 10_000.0, "2026-06-01"),
        _referral("R2", "A3", "2025-03-01", "referral", "won", 5_000.0, "2025-06-01"),
        _referral("R3", "A3", "2026-01-15", "warm_introduction", "offered")])
    rows = catalogue_rows(con, [k for k in CATALOGUE if k.category != "engagement"])
    return {(r[1].split(" (")[0], r[2]): r for r in rows}


@pytest.mark.parametrize("kpi, dimension, numerator, denominator, value", [
    ("Customer Retention Rate", "all", 2, 4, 0.5),  # in force on 2025-09-30: A1-A4; on T: A1, A2
    ("Customer Downgrade Rate", "all", 1, 4, 0.25),  # decided in the 12 months: A1-C1, A2-C1, A3-C1, A4-C2
    ("Downgrade-to-Churn Conversion Rate", "all", 1, 1, 1.0),  # A4-C1 -> A4-C2 churned; A2's next one is undecided
    ("Exit Reason Frequency", "all / budget cuts", 1, 2, 0.5),
    ("Exit Reason Frequency", "all / not recorded", 1, 2, 0.5),
    ("Exit Reason Frequency", "SMB / budget cuts", 1, 1, 1.0),
    ("Exit Reason Frequency", "Large / not recorded", 1, 1, 1.0),
    ("Expansion Revenue Growth Rate", "all", 600, 500, 0.2),  # 300 + 100 + 200 against E0's 500
    ("Average Revenue per Expansion Account", "all", 600, 2, 300.0),
    ("Relationship Depth Score", "all", 4, 14, 28.5714),  # A1: Champion, Admin, Executive Sponsor; A2: Finance
    ("Referral Intent Identified in QBRs", "all", 2, 3, 0.6667),
    ("Referral Engagement Rate", "all", 1, 2, 0.5),  # A1 referred after its intent QBR, A2 did not
    ("Referral-Driven Expansion Revenue", "all", 10_000, None, 10_000),
    ("Warm Introduction Offer Rate", "all", 1, 2, 0.5),  # A3's intro does not count: A3 is gone
])
def test_kpi_by_hand(kpis, kpi, dimension, numerator, denominator, value):
    row = kpis[(kpi, dimension)]
    assert (row[4], row[5], row[6]) == (numerator, denominator, value)


def test_check_in_impact_by_hand():
    # Checked in (>= 3 check-ins): 4 contracts, 1 churned (75 % retained); the others: 4, 3 churned (25 %).
    renewals = pd.DataFrame({"check_ins_90d": [3, 4, 5, 3, 0, 1, 2, 0],
                             "churned": [False, False, False, True, True, True, True, False]})
    row = check_in_impact(renewals)["row"]
    # +50 pp; se = sqrt(.75 * .25 / 4 * 2) = 0.30619 -> +-60.01 pp; Fisher's exact p for [[1, 3], [3, 1]] = 0.48571
    assert (row["value"], row["ci_low"], row["ci_high"], row["p_value"]) == (50.0, -10.01, 110.01, 0.48571)
    assert (row["numerator"], row["denominator"], row["coverage"]) == (75.0, 25.0, 8)


def test_check_in_expansion_impact_by_hand():
    # Checked in: 4 accounts, 3 expanded (75 %); the others: 4, none expanded (0 %).
    accounts = pd.DataFrame({"check_ins_90d": [3, 4, 6, 3, 0, 2, 1, 0],
                             "expanded": [True, True, True, False, False, False, False, False]})
    result = check_in_expansion_impact(accounts, dt.date(2026, 4, 3))
    row = result["row"]
    # +75 pp; se = sqrt(.75 * .25 / 4 + 0) = 0.216506 -> +-42.435 pp;
    # Fisher's exact p for [[3, 1], [0, 4]]: tables as or less likely (k = 3 and k = 0) = (5 + 5) / 70 = 0.14286
    assert (row["value"], row["ci_low"], row["ci_high"], row["p_value"]) == (75.0, 32.56, 117.44, 0.14286)
    assert (row["numerator"], row["denominator"], row["coverage"], row["unit"]) == (75.0, 0.0, 8, "pp")
    assert "75.0 % vs 0.0 %" in result["finding"] and "2026-04-03" in result["finding"]


def test_check_in_expansion_accounts_by_hand(tmp_path):
    """The SQL behind the expansion score: who was in force on the start date, their check-ins, who expanded."""
    start = dt.date(2026, 4, 3)  # T - 180 for T = 2026-09-30
    con = empty_raw_warehouse(tmp_path / "w.duckdb")
    insert(con, "contracts", [_contract(f"{a}-C1", a, "2025-06-01", "2026-05-31") for a in ("B1", "B2", "B3", "B4")]
           + [_contract("B5-C1", "B5", "2025-01-01", "2026-03-31", "churned")])  # B5 gone before the start
    calls = {"B1": ["2026-01-04", "2026-02-01", "2026-04-03"],  # 3, the first exactly 89 days before the start
             "B2": ["2026-01-03", "2026-02-01", "2026-03-01"],  # 2: the first is 90 days before, outside
             "B3": ["2026-02-01", "2026-02-15", "2026-03-01", "2026-03-15"], "B5": ["2026-03-01"] * 3}
    insert(con, "activities", [
        {"activity_id": f"{a}{i}", "csm_id": "C", "account_id": a, "activity_type": "call" if i % 2 else "meeting",
         "activity_date": day, "duration_minutes": 30, "contact_role": "Champion"}
        for a, days in calls.items() for i, day in enumerate(days)]
        + [{"activity_id": "B4e", "csm_id": "C", "account_id": "B4", "activity_type": "email", "activity_date": "2026-03-01",
            "duration_minutes": 5, "contact_role": "Admin"}])  # an email is not a check-in
    insert(con, "expansion_opportunities", [
        _won("O1", "B1", 100, "2026-05-01", "2026-07-01"),  # created after the start, won inside 180 days: expanded
        _won("O2", "B2", 100, "2026-03-01", "2026-05-01"),  # already in the pipeline on the start date: not counted
        {**_won("O3", "B3", 100, "2026-05-01", "2026-07-01"), "status": "lost", "stage": "closed lost"},
        _won("O4", "B4", 100, "2026-05-01", "2026-10-01")])  # closes 181 days after the start: too late
    accounts = con.execute(check_in_accounts_sql(start, signals.outcomes_sql(load_expansion_config(), [start]))).df()
    assert list(accounts.itertuples(index=False, name=None)) == [
        ("B1", 3, True), ("B2", 2, False), ("B3", 4, False), ("B4", 0, False)]
    row = check_in_expansion_impact(accounts, start)["row"]
    # checked in: B1 (expanded), B3 -> 50 %; the others: B2, B4 -> 0 %; se = sqrt(.5 * .5 / 2) = 0.353553 -> +-69.30;
    # Fisher's exact p for [[1, 1], [0, 2]] = 3/6 + 3/6 = 1
    assert (row["value"], row["ci_low"], row["ci_high"], row["p_value"]) == (50.0, -19.3, 119.3, 1.0)
