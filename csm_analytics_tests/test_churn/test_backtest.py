"""Renewal-forecast cohort arithmetic on a hand-built fixture, every number worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from csm_analytics.churn.backtest import forecast_accuracy_sql
from csm_analytics.churn.config import DEFAULT_CONFIG, load_churn_config
from csm_analytics_tests.fixtures import empty_raw_warehouse, insert


def _contract(cid, account, end, outcome):
    return dict(contract_id=cid, account_id=account, start_date=end - dt.timedelta(days=364), end_date=end,
                arr=1000.0, mrr=83.33, term_months=12, licensed_seats=5, renewal_outcome=outcome, downgrade_amount=0.0)


@pytest.fixture
def cohorts(tmp_path):
    config = load_churn_config(DEFAULT_CONFIG)  # lead 60 days, horizon 180, threshold 0.25
    assert (config.lead_days, config.horizon_days, config.flag_threshold) == (60, 180, 0.25)
    con = empty_raw_warehouse(tmp_path / "wh.duckdb")
    ends = {"A": dt.date(2025, 3, 31), "B": dt.date(2025, 2, 15), "C": dt.date(2025, 3, 1),
            "D": dt.date(2025, 5, 10), "E": dt.date(2025, 6, 30)}
    insert(con, "contracts", [
        _contract("C1", "A", ends["A"], "churned"),   # p 0.40 at -60: flagged, churned
        _contract("C2", "B", ends["B"], "renewed"),   # p 0.10 at -60 but 0.30 at -100: flagged, renewed
        _contract("C3", "C", ends["C"], "churned"),   # p 0.20 at -60, 0.90 at -30 (too late): not flagged
        _contract("C4", "D", ends["D"], "churned"),   # Q2: p 0.50 at -60: flagged, churned
        _contract("C5", "E", ends["E"], "renewed"),   # never scored at -60: not in any cohort
    ])
    con.execute("CREATE SCHEMA ml")
    con.execute("CREATE TABLE ml.churn_snapshots (account_id VARCHAR, snapshot_date DATE, churn_probability DOUBLE)")
    points = {"A": {60: 0.40, 120: 0.10}, "B": {60: 0.10, 100: 0.30}, "C": {60: 0.20, 30: 0.90, 150: 0.05},
              "D": {60: 0.50}, "E": {59: 0.99}}
    for account, by_lead in points.items():
        for days_before, p in by_lead.items():
            con.execute("INSERT INTO ml.churn_snapshots VALUES (?, ?, ?)",
                        [account, ends[account] - dt.timedelta(days=days_before), p])
    return con.execute(forecast_accuracy_sql(config)).df().set_index("cohort_quarter")


def test_first_quarter_cohort(cohorts):
    q1 = cohorts.loc["2025-Q1"]
    assert (q1.contracts, q1.actually_churned, q1.flagged_60d_before_end, q1.flagged_churners) == (3, 2, 2, 1)
    assert q1.early_warning_rate == 0.5  # 1 flagged churner of 2 churners
    assert (q1.predicted_churn, q1.actual_churn) == (0.7, 2)  # 0.4 + 0.1 + 0.2
    assert q1.variance_pp == -43.33  # (0.7 - 2) / 3 x 100


def test_second_quarter_cohort_and_unscored_contracts(cohorts):
    assert list(cohorts.index) == ["2025-Q1", "2025-Q2"]  # C5 was never scored 60 days out
    q2 = cohorts.loc["2025-Q2"]
    assert (q2.contracts, q2.actually_churned, q2.flagged_churners, q2.early_warning_rate) == (1, 1, 1, 1.0)
    assert (q2.predicted_churn, q2.variance_pp) == (0.5, -50.0)
