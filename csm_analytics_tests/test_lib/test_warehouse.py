"""replace_date_range: a range write never silently empties the other dates when the columns change."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from csm_analytics.lib.warehouse import ColumnsChangedError, replace_date_range

D1, D2 = dt.date(2026, 9, 1), dt.date(2026, 9, 2)


def _day(day: dt.date, extra: bool = False) -> str:
    return f"SELECT DATE '{day}' AS d, 1 AS a" + (", 2 AS b" if extra else "")


def test_same_columns_replace_only_the_range():
    con = duckdb.connect()
    replace_date_range(con, "core.t", "d", D1, D1, _day(D1))
    replace_date_range(con, "core.t", "d", D2, D2, _day(D2))
    replace_date_range(con, "core.t", "d", D2, D2, _day(D2))
    assert con.execute("SELECT d, count(*) FROM core.t GROUP BY d ORDER BY d").fetchall() == [(D1, 1), (D2, 1)]


def test_new_columns_with_other_dates_present_are_refused_and_nothing_is_written():
    con = duckdb.connect()
    replace_date_range(con, "core.t", "d", D1, D1, _day(D1))
    replace_date_range(con, "core.t", "d", D2, D2, _day(D2))
    with pytest.raises(ColumnsChangedError, match=r"added b.*would empty the other 1 rows \(2026-09-01..2026-09-01\)"):
        replace_date_range(con, "core.t", "d", D2, D2, _day(D2, extra=True))
    assert con.execute("SELECT d, a FROM core.t ORDER BY d").fetchall() == [(D1, 1), (D2, 1)]


def test_new_columns_over_every_date_rebuild_the_table():
    con = duckdb.connect()
    replace_date_range(con, "core.t", "d", D1, D2, f"{_day(D1)} UNION ALL {_day(D2)}")
    written = replace_date_range(con, "core.t", "d", D1, D2, f"{_day(D1, True)} UNION ALL {_day(D2, True)}")
    assert written == 2
    assert con.execute("SELECT d, a, b FROM core.t ORDER BY d").fetchall() == [(D1, 1, 2), (D2, 1, 2)]
