"""How values read to a person: money, percentages, empty cells, labels and counts (lib.display, lib.metadata)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from csm_analytics.lib.display import EMPTY, count, label, money, pct, points
from csm_analytics.lib.metadata import column_kind, frame_md, rows_md, table_md


def test_money_carries_the_configured_currency(monkeypatch):
    monkeypatch.delenv("CSM_CURRENCY", raising=False)
    assert money(11864800.4) == "$11,864,800"
    assert money(-1234.5) == "-$1,234" or money(-1234.5) == "-$1,235"
    monkeypatch.setenv("CSM_CURRENCY", "eur")
    assert money(63858) == "€63,858"
    monkeypatch.setenv("CSM_CURRENCY", "CHF")
    assert money(63858) == "CHF 63,858"
    assert money(None) == money(float("nan")) == EMPTY == "—"
    monkeypatch.setenv("CSM_CURRENCY", "US'D")  # never reaches SQL or a page unchecked
    with pytest.raises(ValueError, match="three-letter ISO 4217 code"):
        money(1)


def test_ratios_read_as_percentages_and_changes_as_points():
    assert pct(1.0784, 1) == "107.8 %"
    assert pct(0.18) == "18 %"
    assert pct(-0.05, signed=True) == "-5 %"
    assert pct(math.nan) == "—"
    assert points(-7.25) == "−7.2 points" or points(-7.25) == "−7.3 points"
    assert points(52.4 - 45.2) == "+7.2 points"
    assert points(0.0) == "±0.0 points"


def test_labels_and_counts():
    assert label("payroll_error") == "Payroll error"
    assert label("csm_book_churn_rate_365d") == "Churn rate of the CSM's book"
    assert label("some_new_code") == "Some new code"
    assert label("usage (-12.3)") == "Product usage (-12.3)" and label("support +4.0") == "Support experience +4.0"
    assert label(None) == "—"
    assert [count(n, "ticket") for n in (0, 1, 2)] == ["0 tickets", "1 ticket", "2 tickets"]
    assert count(1, "touch") == "1 touch" and count(3, "touch") == "3 touches"


def test_metadata_tables_format_money_ratios_and_empty_cells(monkeypatch):
    monkeypatch.delenv("CSM_CURRENCY", raising=False)
    frame = pd.DataFrame({"csm_id": ["CSM01", "CSM02"], "total_arr": [11864800.0, None],
                          "nrr": [1.0784, float("nan")], "accounts": [1200, 3]})
    text = frame_md(frame).value
    assert text.splitlines()[2] == "| CSM01 | $11,864,800 | 107.8 % | 1,200 |"
    assert text.splitlines()[3] == "| CSM02 | — | — | 3 |"
    assert "nan" not in text and "e+0" not in text
    assert rows_md([("At risk", 1.186e7)], ["band", "revenue at risk"]).splitlines()[2] == "| At risk | $11,860,000 |"
    assert table_md([], ["a"]).value == "_none_"
    assert column_kind("estimated_expansion_arr") == "money" and column_kind("early_warning_rate") == "pct1"
    assert column_kind("accounts") is None


@pytest.mark.parametrize("value,expected", [(0.123456, "0.1235"), (12.345, "12.35"), (1234567.0, "1,234,567"),
                                            (True, "yes"), ("x|y", "x\\|y")])
def test_cells_guessed_from_the_value(value, expected):
    assert rows_md([(value,)], ["v"]).splitlines()[2] == f"| {expected} |"
