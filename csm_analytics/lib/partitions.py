"""Every partitions definition of the code location, from settings and the data, in one place.

The history is the range of days the data covers. A setting wins; otherwise the data decides:

| bound | setting | from the data |
|---|---|---|
| first day | `CSM_HISTORY_START` (YYYY-MM-DD) | the first `usage_date` of the raw `product_usage` file |
| last day | `CSM_HISTORY_END` (YYYY-MM-DD, inclusive; empty = open-ended, a partition a day) | its last `usage_date` |

With neither a setting nor a raw file (a code location started before any data arrived) the range
is open-ended and starts `FALLBACK_DAYS` before today, so the UI still loads.
Product usage is the daily heartbeat of every account, which is why it defines "the days we have data for";
`canonical/calendar.py` states the same rule inside the warehouse.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from dagster import (
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    MonthlyPartitionsDefinition,
)

from csm_analytics.lib import paths

FALLBACK_DAYS = 730
# A year of history comes before the first monthly report: its trailing-twelve-month figures need it.
REPORT_LEAD_DAYS = 365
QBR_ACCOUNTS = DynamicPartitionsDefinition(name="qbr_accounts")


def _usage_file(raw_dir: Path) -> Path | None:
    for suffix in (".parquet", ".csv"):
        if (path := raw_dir / f"product_usage{suffix}").exists():
            return path
    return None


def data_range(raw_dir: Path | None = None) -> tuple[dt.date, dt.date] | None:
    """First and last `usage_date` of the raw product_usage file, or None when there is none (or it is unreadable)."""
    path = _usage_file(raw_dir or paths.raw_dir())
    if path is None:
        return None
    import duckdb  # the leaf helpers need no warehouse; a private in-memory connection reads the file

    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv_auto"
    try:
        with duckdb.connect() as con:
            first, last = con.execute(f"SELECT min(CAST(usage_date AS DATE)), max(CAST(usage_date AS DATE)) "
                                      f"FROM {reader}(?)", [str(path)]).fetchone()
    except duckdb.Error:
        return None  # the sources' own load reports what is wrong with the file
    return (first, last) if first and last else None


def history_range() -> tuple[dt.date, dt.date | None]:
    """(first day, last day or None for open-ended), settings first, then the data, then the fallback."""
    start, end = os.environ.get("CSM_HISTORY_START"), os.environ.get("CSM_HISTORY_END")
    found = data_range() if start is None or end is None else None
    if start:
        first = dt.date.fromisoformat(start)
    elif found:
        first = found[0]
    else:
        first = dt.date.today() - dt.timedelta(days=FALLBACK_DAYS)
    if end is not None:
        last = dt.date.fromisoformat(end) if end else None
    else:
        last = found[1] if found else None
    return first, last


def history_partitions() -> DailyPartitionsDefinition:
    """One partition per day of history (see the module docstring for where the range comes from)."""
    first, last = history_range()
    end_exclusive = (last + dt.timedelta(days=1)).isoformat() if last else None
    return DailyPartitionsDefinition(start_date=first.isoformat(), end_date=end_exclusive)


def report_months() -> MonthlyPartitionsDefinition:
    """Months from the first with a full year of history behind it to the month of the last day of history.

    `CSM_REPORT_START` (YYYY-MM-DD, a first of month) overrides the start."""
    first, last = history_range()
    start = os.environ.get("CSM_REPORT_START")
    if not start:
        year_on = first + dt.timedelta(days=REPORT_LEAD_DAYS)
        start = (year_on if year_on.day == 1 else (year_on.replace(day=28) + dt.timedelta(days=4)).replace(day=1))
        start = start.isoformat()
    end_exclusive = (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1).isoformat() if last else None
    return MonthlyPartitionsDefinition(start_date=start, end_date=end_exclusive)


def history_bounds(partitions: DailyPartitionsDefinition) -> tuple[dt.date, dt.date]:
    """First and last day of a daily partitions definition (today's partition when it is open-ended)."""
    keys = partitions.get_partition_keys()
    return dt.date.fromisoformat(keys[0]), dt.date.fromisoformat(keys[-1])


HISTORY_PARTITIONS = history_partitions()
REPORT_MONTHS = report_months()



def full_history_tags(partitions: DailyPartitionsDefinition | None = None) -> dict[str, str]:
    """Run tags for one run over every day of history (what a single-run backfill of all partitions sets).

    The full-graph job carries them, so "Launch run" without choosing a partition (the Launchpad, a GraphQL
    launch) runs every day instead of failing in the partitioned steps. A partition chosen in the UI wins:
    Dagster reads `dagster/partition` before the range tags.
    """
    keys = (partitions or HISTORY_PARTITIONS).get_partition_keys()
    return {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}
