"""Partition ranges come from settings, else from the data, never from the demo generator's defaults."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from csm_analytics.lib import partitions


@pytest.fixture
def raw_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CSM_RAW_DIR", str(tmp_path))
    for name in ("CSM_HISTORY_START", "CSM_HISTORY_END", "CSM_REPORT_START"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _usage(raw_dir, first: str, last: str, suffix: str = "parquet") -> None:
    frame = pd.DataFrame({"account_id": ["A1", "A1"], "usage_date": pd.to_datetime([first, last]).date})
    if suffix == "parquet":
        frame.to_parquet(raw_dir / "product_usage.parquet")
    else:
        frame.to_csv(raw_dir / "product_usage.csv", index=False)


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_the_data_sets_the_history_and_the_report_months(raw_dir, suffix):
    _usage(raw_dir, "2023-03-15", "2025-06-10", suffix)
    assert partitions.history_range() == (dt.date(2023, 3, 15), dt.date(2025, 6, 10))
    days = partitions.history_partitions().get_partition_keys()
    assert (days[0], days[-1], len(days)) == ("2023-03-15", "2025-06-10", 819)  # 2023-03-15 .. 2025-06-10 inclusive
    months = partitions.report_months().get_partition_keys()
    # a year after 2023-03-15 is 2024-03-14 (2024 is a leap year); the first whole month after it is April 2024
    assert (months[0], months[-1]) == ("2024-04-01", "2025-06-01")


def test_settings_win_over_the_data(raw_dir, monkeypatch):
    _usage(raw_dir, "2023-03-15", "2025-06-10")
    monkeypatch.setenv("CSM_HISTORY_START", "2024-01-01")
    monkeypatch.setenv("CSM_HISTORY_END", "2024-01-31")
    keys = partitions.history_partitions().get_partition_keys()
    assert (keys[0], keys[-1], len(keys)) == ("2024-01-01", "2024-01-31", 31)


def test_an_empty_end_setting_leaves_the_history_open(raw_dir, monkeypatch):
    _usage(raw_dir, "2023-03-15", "2025-06-10")
    monkeypatch.setenv("CSM_HISTORY_END", "")
    assert partitions.history_range() == (dt.date(2023, 3, 15), None)


def test_without_data_or_settings_the_range_is_open_and_recent(raw_dir):
    first, last = partitions.history_range()
    assert last is None and first == dt.date.today() - dt.timedelta(days=partitions.FALLBACK_DAYS)
