"""Each component's formula (docs/health.md) on a hand-built account whose values are worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from csm_analytics.health.components import components_sql
from csm_analytics.health.config import DEFAULT_CONFIG, load_health_config
from csm_analytics_tests.fixtures import empty_raw_warehouse, insert

D = dt.date(2025, 10, 31)


def day(offset: int) -> dt.date:
    return D - dt.timedelta(days=offset)


def at(offset: int, hours: float = 9) -> dt.datetime:
    return dt.datetime.combine(day(offset), dt.time()) + dt.timedelta(hours=hours)


@pytest.fixture
def components(tmp_path):
    con = empty_raw_warehouse(tmp_path / "wh.duckdb")
    insert(con, "accounts", [
        dict(account_id="G1", account_name="G1", tier="Growth", segment="SMB", industry="Media", country="US",
             product="EOR", created_date=dt.date(2025, 1, 1)),
        dict(account_id="NEW", account_name="NEW", tier="Growth", segment="SMB", industry="Media", country="US",
             product="EOR", created_date=day(10)),
    ])
    insert(con, "contracts", [
        dict(contract_id="G1-C0", account_id="G1", start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 12, 31),
             arr=12000.0, mrr=1000.0, term_months=12, licensed_seats=50, renewal_outcome=None, downgrade_amount=0.0),
        dict(contract_id="NEW-C0", account_id="NEW", start_date=day(10), end_date=day(10) + dt.timedelta(days=364),
             arr=12000.0, mrr=1000.0, term_months=12, licensed_seats=50, renewal_outcome=None, downgrade_amount=0.0),
    ])
    insert(con, "product_usage", [
        dict(account_id="G1", usage_date=day(i), grain="day", active_users=40.0 if i >= 60 else 30.0,
             licensed_seats=50, logins=60, key_feature_events=15, worker_count=80)
        for i in range(90)
    ])
    insert(con, "activities", [
        dict(activity_id=f"A{i}", csm_id="C1", account_id="G1", activity_type=kind, activity_date=day(offset),
             duration_minutes=30, contact_role=role)
        for i, (kind, offset, role) in enumerate([
            ("call", 5, "Champion"), ("email", 60, "Admin"), ("meeting", 80, "Executive Sponsor"),
            ("internal_review", 3, None)])
    ])
    insert(con, "qbrs", [dict(qbr_id="Q1", account_id="G1", csm_id="C1", qbr_date=day(200), topics="roadmap",
                              action_items="x", attendee_roles="Finance;HR", nps_at_qbr=8,
                              expansion_discussed=False, referral_intent=False)])
    insert(con, "support_tickets", [
        dict(ticket_id="T1", account_id="G1", opened_at=at(40), resolved_at=at(40, 9 + 16), priority="high", escalated=True, csat=2),
        dict(ticket_id="T2", account_id="G1", opened_at=at(10), resolved_at=at(10, 13), priority="low", escalated=False, csat=5),
        dict(ticket_id="T3", account_id="G1", opened_at=at(2), resolved_at=None, priority="normal", escalated=False, csat=None),
        dict(ticket_id="T4", account_id="G1", opened_at=at(150), resolved_at=at(150, 11), priority="high", escalated=True, csat=None),
    ])
    insert(con, "invoices", [
        dict(invoice_id="I1", account_id="G1", contract_id="G1-C0", amount=1000.0, due_date=day(150), paid_date=day(150), days_late=0, failed_payment=False),
        dict(invoice_id="I2", account_id="G1", contract_id="G1-C0", amount=1000.0, due_date=day(120), paid_date=day(90), days_late=30, failed_payment=True),
        dict(invoice_id="I3", account_id="G1", contract_id="G1-C0", amount=1000.0, due_date=day(30), paid_date=day(25), days_late=5, failed_payment=False),
        dict(invoice_id="I4", account_id="G1", contract_id="G1-C0", amount=1000.0, due_date=day(5), paid_date=None, days_late=0, failed_payment=False),
    ])
    insert(con, "survey_responses", [
        dict(response_id="S1", account_id="G1", survey_type="NPS", response_date=day(300), score=9, respondent_role="HR"),
        dict(response_id="S2", account_id="G1", survey_type="NPS", response_date=day(20), score=6, respondent_role="HR"),
        dict(response_id="S3", account_id="G1", survey_type="CSAT", response_date=day(50), score=4, respondent_role="HR"),
    ])
    insert(con, "incidents", [
        dict(incident_id="N1", account_id="G1", occurred_at=at(100), incident_type="payroll_error", severity="medium", description="x"),
        dict(incident_id="N2", account_id="G1", occurred_at=at(50), incident_type="platform_outage", severity="high", description="x"),
        dict(incident_id="N3", account_id="G1", occurred_at=at(200), incident_type="data_issue", severity="critical", description="x"),
    ])
    df = con.execute(components_sql(D, D, load_health_config(DEFAULT_CONFIG))).df().set_index("account_id")
    return df


def test_usage(components):
    # utilisation 30/50 = 0.6 -> (0.6-0.3)/0.6 = 0.5; key events 450/900 = 0.5 per user-day -> 0.5/0.7;
    # trend 30/40 = 0.75 -> (0.75-0.7)/0.4 = 0.125.  100 * (0.6*0.5 + 0.2*0.5/0.7 + 0.2*0.125) = 46.79
    assert components.loc["G1", "usage"] == 46.79


def test_engagement_and_relationship(components):
    g1 = components.loc["G1"]
    assert (g1.touches_30d, g1.touches_90d) == (1, 3)  # the internal review does not count
    assert g1.engagement == 50.0  # 100 * (0.4 * 1/2 + 0.6 * 3/6) with Growth's 2 touches a month
    assert g1.relationship == 60.0  # Champion, Admin, Executive Sponsor: 3 of 5; the QBR was 200 days ago


def test_qbr_cadence(components):
    assert components.loc["G1", "qbr"] == 88.89  # 200 days since, Growth every 180: (360-200)/180


def test_support(components):
    # 1 escalation in 90 days, 1 open ticket, median resolution of (16h, 4h) = 10h: 100-15-5-10*log2(10/8)
    assert components.loc["G1", "support"] == 76.78


def test_payment(components):
    assert components.loc["G1", "payment"] == 29.0  # 1 failed (-30), 2 paid late (-16), 1 overdue (-25)


def test_sentiment(components):
    # latest NPS 6 -> 100*(6-3)/7; CSAT mean of survey 4 and tickets 2, 5 = 3.667 -> 100*(3.667-2)/3
    assert components.loc["G1", "sentiment"] == 47.94


def test_renewal_and_incidents(components):
    assert components.loc["G1", "renewal"] == 79.81  # 40 + 60*303/365 - 10 (renews in 61 days)
    assert components.loc["G1", "incidents"] == 50.0  # a payroll error (-40) and an outage (-10) in 180 days


def test_components_without_data_are_null(components):
    new = components.loc["NEW"]
    assert new[["usage", "qbr", "payment", "sentiment"]].isna().all()
    assert (new.engagement, new.support, new.relationship, new.incidents, new.renewal) == (0.0, 100.0, 0.0, 100.0, 41.64)
