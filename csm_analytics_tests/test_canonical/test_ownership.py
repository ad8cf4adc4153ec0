"""One rule for "who owns this account on that day", on hand-built assignments."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from csm_analytics.canonical.ownership import OWNER_PERIODS

D = dt.date


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    con.execute("CREATE TABLE raw.csm_assignments (account_id VARCHAR, csm_id VARCHAR, valid_from DATE, valid_to DATE)")
    rows = [
        ("A1", "CSM01", D(2025, 1, 1), D(2025, 6, 30)),   # A1 handed over on 2025-06-01 while the old row was still open:
        ("A1", "CSM02", D(2025, 6, 1), None),             #   from 2025-06-01 the newer assignment wins
        ("A2", "CSM03", D(2025, 1, 1), D(2025, 1, 31)),   # A2 has a gap in February: no owner then
        ("A2", "CSM04", D(2025, 3, 1), None),
        ("A3", "CSM05", D(2025, 1, 1), None),             # two rows from the same day: the greater csm_id
        ("A3", "CSM06", D(2025, 1, 1), None),
    ]
    for row in rows:
        con.execute("INSERT INTO raw.csm_assignments VALUES (?, ?, ?, ?)", list(row))
    return con


def owner(con, account: str, day: dt.date):
    rows = con.execute(f"SELECT csm_id FROM {OWNER_PERIODS} o WHERE account_id = ? AND ? BETWEEN valid_from AND valid_to",
                       [account, day]).fetchall()
    assert len(rows) <= 1, "periods never overlap"
    return rows[0][0] if rows else None


def test_newer_assignment_wins_an_overlap(con):
    assert owner(con, "A1", D(2025, 5, 31)) == "CSM01"
    assert owner(con, "A1", D(2025, 6, 1)) == "CSM02"
    assert owner(con, "A1", D(2030, 1, 1)) == "CSM02"  # open-ended


def test_a_gap_has_no_owner(con):
    assert owner(con, "A2", D(2025, 1, 31)) == "CSM03"
    assert owner(con, "A2", D(2025, 2, 15)) is None
    assert owner(con, "A2", D(2025, 3, 1)) == "CSM04"


def test_same_day_rows_resolve_to_the_greater_csm_id(con):
    assert owner(con, "A3", D(2025, 1, 1)) == "CSM06"
    assert owner(con, "A3", D(2025, 12, 31)) == "CSM06"


def test_before_the_first_assignment_there_is_no_owner(con):
    assert owner(con, "A1", D(2024, 12, 31)) is None
