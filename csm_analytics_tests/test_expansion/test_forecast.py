"""The forecast arithmetic on a book small enough to work out by hand.

Last day 2025-09-30. Calibration for the quarter starting 2025-07-01 may read the monthly snapshots
2025-01-01 .. 2025-04-01 (their following quarter ended by 2025-07-01):
  2025-02-01: O1 at signal identified (won by 05-01: yes), O2 at signal identified (no)
  2025-03-01: O1 at committed (yes), O2 at signal identified (no)
  signal identified 1 won of 3, committed 1 of 1; pooled 2 of 4 = 0.5; prior weight 5:
  p(signal) = (1 + 2.5) / (3 + 5) = 0.4375, p(conversation) = p(proposal) = 2.5 / 5 = 0.5,
  p(committed) = (1 + 2.5) / (1 + 5) = 0.583333
Pipeline on 2025-07-01: O3 (A1, conversation, 200, won 08-01), O5 (A1, committed, 40, lost 07-15),
O4 (A2, signal, 80, still open): weighted 200 * 0.5 + 40 * 0.583333 + 80 * 0.4375 = 158.33.
New business (created and won in the same quarter): Q1 100 (O1), Q2 0, so the run rate for Q3 is 50;
Q3 actually closed O6 (30). Forecast 208.33 against actual 230: variance -9.42 %; the pipeline alone
158.33 (summed from the rounded CSM rows) against 200: -20.84 %.
"""

import duckdb
import pytest

from csm_analytics.expansion import forecast
from csm_analytics_tests.fixtures import empty_raw_warehouse, insert


def _opp(opp, acc, amount, created, status, close=None):
    stage = {"won": "closed won", "lost": "closed lost", "open": "signal identified"}[status]
    return {"opportunity_id": opp, "account_id": acc, "stage": stage, "amount": amount, "created_date": created,
            "close_date": close, "status": status, "source_signal": "inbound"}


@pytest.fixture
def book(tmp_path) -> duckdb.DuckDBPyConnection:
    con = empty_raw_warehouse(tmp_path / "w.duckdb")
    con.execute("CREATE SCHEMA marts")
    insert(con, "accounts", [
        {"account_id": "A1", "account_name": "a", "tier": "Core", "segment": "Large", "industry": "x", "country": "US",
         "product": "EOR", "created_date": "2024-01-01"},
        {"account_id": "A2", "account_name": "b", "tier": "Core", "segment": "SMB", "industry": "x", "country": "US",
         "product": "EOR", "created_date": "2024-01-01"}])
    insert(con, "csm_assignments", [{"account_id": "A1", "csm_id": "C1", "valid_from": "2024-01-01"},
                                    {"account_id": "A2", "csm_id": "C2", "valid_from": "2024-01-01"}])
    insert(con, "product_usage", [{"account_id": "A1", "usage_date": "2025-09-30", "grain": "day", "active_users": 1,
                                   "licensed_seats": 1, "logins": 1, "key_feature_events": 1, "worker_count": 1}])
    insert(con, "expansion_opportunities", [
        _opp("O1", "A1", 100, "2025-01-05", "won", "2025-03-15"), _opp("O2", "A2", 50, "2025-01-10", "lost", "2025-03-20"),
        _opp("O3", "A1", 200, "2025-06-01", "won", "2025-08-01"), _opp("O4", "A2", 80, "2025-06-20", "open"),
        _opp("O5", "A1", 40, "2025-05-01", "lost", "2025-07-15"), _opp("O6", "A2", 30, "2025-07-10", "won", "2025-08-20")])
    history = [("O1", "A1", "signal identified", "2025-01-05"), ("O1", "A1", "committed", "2025-02-10"),
               ("O1", "A1", "closed won", "2025-03-15"), ("O2", "A2", "signal identified", "2025-01-10"),
               ("O2", "A2", "closed lost", "2025-03-20"), ("O3", "A1", "signal identified", "2025-06-01"),
               ("O3", "A1", "conversation initiated", "2025-06-15"), ("O3", "A1", "closed won", "2025-08-01"),
               ("O4", "A2", "signal identified", "2025-06-20"), ("O5", "A1", "signal identified", "2025-05-01"),
               ("O5", "A1", "committed", "2025-06-01"), ("O5", "A1", "closed lost", "2025-07-15"),
               ("O6", "A2", "signal identified", "2025-07-10"), ("O6", "A2", "closed won", "2025-08-20")]
    insert(con, "opportunity_stage_history", [dict(zip(["opportunity_id", "account_id", "stage", "entered_date"], r))
                                              for r in history])
    con.execute("CREATE TABLE marts.expansion_stage_calibration AS " + forecast.calibration_sql(5))
    con.execute("CREATE TABLE marts.expansion_forecast AS " + forecast.forecast_sql())
    return con


def test_stage_probabilities_come_from_earlier_close_rates_only(book):
    rows = book.execute("SELECT stage, history_observed, history_won, probability FROM marts.expansion_stage_calibration "
                        "WHERE quarter_start = DATE '2025-07-01' ORDER BY stage_order").fetchall()
    assert rows == [("signal identified", 3, 1, 0.4375), ("conversation initiated", 0, 0, 0.5),
                    ("proposal sent", 0, 0, 0.5), ("committed", 1, 1, 0.5833)]
    # Before any snapshot's quarter has ended there is nothing to calibrate from: no probability, no forecast.
    assert book.execute("SELECT count(*) FROM marts.expansion_stage_calibration WHERE quarter_start <= DATE '2025-04-01' "
                        "AND probability IS NOT NULL").fetchall() == [(0,)]


def test_weighted_forecast_by_csm_and_segment(book):
    rows = book.execute("SELECT csm_id, segment, open_opportunities, pipeline_amount, weighted_forecast, won_from_pipeline "
                        "FROM marts.expansion_forecast WHERE quarter_start = DATE '2025-07-01' ORDER BY csm_id").fetchall()
    assert rows == [("C1", "Large", 2, 240.0, 123.33, 200.0), ("C2", "SMB", 1, 80.0, 35.0, 0.0)]
    # The quarter after the last day is a live forecast: O4 is still open, nothing has closed yet.
    live = book.execute("SELECT quarter_complete, open_opportunities, won_from_pipeline FROM marts.expansion_forecast "
                        "WHERE quarter_start = DATE '2025-10-01'").fetchall()
    assert live == [(False, 1, None)]


def test_accuracy_replays_each_complete_quarter(book):
    rows = book.execute(f"SELECT quarter_start::VARCHAR, pipeline_forecast, new_business_forecast, forecast, "
                        f"won_from_pipeline, won_new_business, actual, variance, pipeline_variance, within_target "
                        f"FROM ({forecast.accuracy_sql()})").fetchall()
    assert rows == [("2025-07-01", 158.33, 50.0, 208.33, 200.0, 30.0, 230.0, -0.0942, -0.2084, True)]
