"""Cold start: on a two-week history nothing recorded before the first day counts as bad (issue 19).

Two Growth accounts (2 touches a month, a QBR every 180 days) whose contracts began a year before the data
starts. The data hold 14 days of product usage and nothing else: no touch, no contact role, no QBR. Before the
fix those absences scored engagement 0, relationship 0 and QBR 0 ("overdue"), dragging both accounts to At risk.
"""

from __future__ import annotations

import datetime as dt

import pytest

from csm_analytics.health.components import components_sql
from csm_analytics.health.config import DEFAULT_CONFIG, load_health_config
from csm_analytics.health.scoring import history_sql
from csm_analytics_tests.fixtures import empty_raw_warehouse, insert

FIRST = dt.date(2025, 3, 1)  # first day of the data
D = FIRST + dt.timedelta(days=13)  # the 14th day


def _history(con, days: int):
    accounts = ["H1", "H2"]
    insert(con, "accounts", [
        dict(account_id=a, account_name=a, tier="Growth", segment="SMB", industry="Media", country="US", product="EOR",
             created_date=dt.date(2024, 3, 1)) for a in accounts])
    insert(con, "contracts", [
        dict(contract_id=f"{a}-C0", account_id=a, start_date=dt.date(2024, 3, 1), end_date=dt.date(2026, 2, 28),
             arr=12000.0, mrr=1000.0, term_months=24, licensed_seats=50, renewal_outcome=None, downgrade_amount=0.0)
        for a in accounts])
    insert(con, "product_usage", [
        dict(account_id=a, usage_date=FIRST + dt.timedelta(days=i), grain="day", active_users=40.0, licensed_seats=50,
             logins=60, key_feature_events=40, worker_count=80) for a in accounts for i in range(days)])


@pytest.fixture
def two_weeks(tmp_path):
    con = empty_raw_warehouse(tmp_path / "wh.duckdb")
    _history(con, 14)
    return con


def test_components_without_enough_history_are_null(two_weeks):
    df = two_weeks.execute(components_sql(D, D, load_health_config(DEFAULT_CONFIG))).df().set_index("account_id")
    h1 = df.loc["H1"]
    assert h1.engagement != h1.engagement and h1.relationship != h1.relationship  # NULL: 14 < 90 days of history
    assert h1.qbr != h1.qbr  # NULL: no QBR on record, but 14 < 180 days (Growth's cadence) of history
    # 40/50 seats -> 0.6 x (0.8-0.3)/0.6 = 0.5; 1 key event per user-day, capped: 0.2; no prior month -> neutral 0.2 x 0.5
    assert h1.usage == 80.0
    assert (h1.support, h1.incidents) == (100.0, 100.0)  # nothing on record is clean for these, as before


def test_the_score_re_weights_the_known_components_and_no_account_is_at_risk(two_weeks):
    config = load_health_config(DEFAULT_CONFIG)
    two_weeks.execute("CREATE SCHEMA IF NOT EXISTS core")
    two_weeks.execute(f"CREATE TABLE core.account_health_components AS {components_sql(FIRST, D, config)}")
    scores = two_weeks.execute(history_sql(FIRST, D, config)).df()
    assert len(scores) == 2 * 14
    assert "At risk" not in set(scores.band)
    h1 = scores[(scores.account_id == "H1") & (scores.as_of_date == pd_date(D))].iloc[0]
    assert h1.pts_engagement != h1.pts_engagement and h1.pts_qbr != h1.pts_qbr  # dropped, not scored 0
    weights = config.weights["Growth"]
    # known: usage, support, renewal, incidents (no invoice or survey either: payment and sentiment are NULL too);
    # their weights are scaled up to sum to 100
    known = {c: weights[c] for c in ("usage", "support", "renewal", "incidents")}
    assert h1.pts_usage == pytest.approx(round(80.0 * weights["usage"] / sum(known.values()), 2), abs=0.011)


def test_once_the_window_is_inside_the_data_an_absence_scores_as_before(tmp_path):
    """With 200 days of data and still no touch, role or QBR, the absences are real: 0, as before the fix."""
    con = empty_raw_warehouse(tmp_path / "wh.duckdb")
    _history(con, 200)
    day = FIRST + dt.timedelta(days=199)
    df = con.execute(components_sql(day, day, load_health_config(DEFAULT_CONFIG))).df().set_index("account_id")
    assert (df.loc["H1", "engagement"], df.loc["H1", "relationship"], df.loc["H1", "qbr"]) == (0.0, 0.0, 0.0)


def pd_date(d):
    import pandas as pd

    return pd.Timestamp(d)
