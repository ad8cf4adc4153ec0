"""The CSM-book churn rate feature on a hand-built book, every number worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from csm_analytics.churn.features import CSM_BOOK_PRIOR_RENEWALS, _csm_book_sql
from csm_analytics_tests.fixtures import empty_raw_warehouse, insert

D = dt.date(2026, 3, 1)  # the snapshot day: renewals decided 2025-03-01 .. 2026-02-28 count


def _contract(cid, account, end, outcome):
    return dict(contract_id=cid, account_id=account, start_date=end - dt.timedelta(days=364), end_date=end,
                arr=1000.0, mrr=83.33, term_months=12, licensed_seats=5, renewal_outcome=outcome, downgrade_amount=0.0)


def _owner(account, csm, valid_from, valid_to=None):
    return dict(account_id=account, csm_id=csm, valid_from=valid_from, valid_to=valid_to)


@pytest.fixture
def book(tmp_path):
    con = empty_raw_warehouse(tmp_path / "wh.duckdb")
    start = dt.date(2023, 1, 1)
    insert(con, "csm_assignments", [
        _owner("A1", "X", start), _owner("A2", "X", start), _owner("A3", "X", start), _owner("A4", "X", start),
        _owner("B1", "Y", start), _owner("B2", "Y", start), _owner("B3", "Y", start), _owner("B4", "Y", start),
        _owner("C1", "X", start, dt.date(2025, 10, 31)), _owner("C1", "Y", dt.date(2025, 11, 1)),
    ])
    insert(con, "contracts", [
        _contract("A1-1", "A1", dt.date(2025, 6, 1), "churned"),    # X
        _contract("A2-1", "A2", dt.date(2025, 9, 1), "churned"),    # X
        _contract("A3-1", "A3", dt.date(2026, 1, 10), "renewed"),   # X
        _contract("A4-1", "A4", dt.date(2025, 2, 28), "churned"),   # X, 366 days before D: outside the year
        _contract("C1-1", "C1", dt.date(2025, 8, 1), "renewed"),    # X: owned C1 when it was decided
        _contract("B1-1", "B1", dt.date(2026, 2, 28), "churned"),   # Y, the day before D: counts
        _contract("B2-1", "B2", D, "churned"),                      # Y, decided on D: not yet known
        _contract("B3-1", "B3", dt.date(2025, 12, 1), "renewed"),   # Y
        _contract("B4-1", "B4", dt.date(2025, 3, 1), "renewed"),    # Y, exactly 365 days before D: counts
        _contract("A3-2", "A3", dt.date(2027, 1, 9), None),         # undecided: never counts
    ])
    rows = f"""
WITH contract_on_day AS (
    SELECT * FROM (VALUES ('A3', DATE '{D}'), ('B3', DATE '{D}'), ('C1', DATE '{D}')) t(account_id, snapshot_date)
),
{_csm_book_sql()}
SELECT account_id, csm_book_churn_rate_365d FROM csm_book ORDER BY account_id"""
    return dict(con.execute(rows).fetchall())


def test_book_rate_is_shrunk_towards_the_rate_of_all_renewals(book):
    assert CSM_BOOK_PRIOR_RENEWALS == 10
    # all CSMs: 7 renewals decided in the year (A1, A2, A3, C1 for X; B1, B3, B4 for Y), 3 churned: prior 3/7
    assert book["A3"] == pytest.approx((2 + 10 * 3 / 7) / (4 + 10))  # X: 2 of 4 -> 44/98 = 0.4490
    assert book["B3"] == pytest.approx((1 + 10 * 3 / 7) / (3 + 10))  # Y: 1 of 3 -> 37/91 = 0.4066


def test_the_owner_on_the_day_before_the_snapshot_is_the_book(book):
    """C1 moved from X to Y: its renewal counted for X, but its snapshot reads Y's book."""
    assert book["C1"] == book["B3"]
