"""Idempotent writes into the DuckDB warehouse: whole tables and date ranges.

No IO manager: assets write with SQL, so empty results still create their
table (the DuckDB pandas IO manager skips empty frames) and nothing large
passes through pandas.
"""

from __future__ import annotations

import datetime as dt
import logging
import os

import duckdb

log = logging.getLogger(__name__)

# Every asset that writes the warehouse runs in this concurrency pool. DuckDB allows one writer process,
# and deploy/dagster.yaml limits each pool to one step at a time across all runs.
WAREHOUSE_POOL = "duckdb_warehouse"


def _column_change(old: list[str], new: list[str]) -> str:
    added, removed = [c for c in new if c not in old], [c for c in old if c not in new]
    parts = [f"added {', '.join(added)}" if added else "", f"removed {', '.join(removed)}" if removed else ""]
    return "; ".join(p for p in parts if p) or "same columns in a new order"


class ColumnsChangedError(RuntimeError):
    """A date-range write whose columns differ from the table's while other dates hold rows."""

    def __init__(self, table, old, new, start, end, outside):
        rows, first, last = outside
        super().__init__(
            f"{table}: the columns changed ({_column_change(old, new)}). Writing only {start}..{end} would empty "
            f"the other {rows:,} rows ({first}..{last}) that Dagster still shows as materialized, so nothing was "
            f"written. Re-materialize every partition in one run: `make materialize`, or in the UI launch "
            f"materialize_everything without a partition (or backfill all partitions).")


def fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str, params=()) -> list[dict]:
    """Rows of a small query as dicts keyed by column name."""
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def fetch_one_dict(con: duckdb.DuckDBPyConnection, sql: str, params=()) -> dict | None:
    """The first row of a query as a dict, or None when there is none."""
    rows = fetch_dicts(con, sql, params)
    return rows[0] if rows else None


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str] | None:
    """The columns of `schema.table` in order, or None when it does not exist."""
    schema, name = table.split(".")
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, name]).fetchall()
    return [r[0] for r in rows] or None


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `schema.table` exists (optional upstream marts are read only when present)."""
    return table_columns(con, table) is not None


def replace_table(con: duckdb.DuckDBPyConnection, table: str, select_sql: str, frame=None) -> int:
    """Create or replace `table` from a SELECT (which may read a pandas `frame` as `frame`); returns its row count."""
    if frame is not None:
        con.register("frame", frame)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
    con.execute(f"CREATE OR REPLACE TABLE {table} AS {select_sql}")
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def replace_date_range(con: duckdb.DuckDBPyConnection, table: str, date_column: str,
                       start: dt.date, end: dt.date, select_sql: str, frame=None) -> int:
    """Replace the rows of [start, end] in `table` with the SELECT's rows, in one transaction.

    Re-running a range replaces it (idempotent). If the SELECT's columns differ from the table's
    (a new component, say), rows outside the range could not be kept in the new shape: when the
    table has none, it is rebuilt (and a warning says so); otherwise `ColumnsChangedError` refuses,
    rather than silently emptying days Dagster still shows as materialized.
    Returns the number of rows written. The SELECT may read a pandas `frame` as `frame`.
    """
    if frame is not None:
        con.register("frame", frame)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _range_rows AS {select_sql}")
    new_columns = [r[0] for r in con.execute("DESCRIBE _range_rows").fetchall()]
    old_columns = table_columns(con, table)
    if old_columns is not None and old_columns != new_columns:
        outside = con.execute(f"SELECT count(*), min({date_column}), max({date_column}) FROM {table} "
                              f"WHERE {date_column} NOT BETWEEN ? AND ?", [start, end]).fetchall()[0]
        if outside[0]:
            con.execute("DROP TABLE _range_rows")
            raise ColumnsChangedError(table, old_columns, new_columns, start, end, outside)
        log.warning("%s: columns changed (%s); no rows outside %s..%s, so the table is rebuilt from this run",
                    table, _column_change(old_columns, new_columns), start, end)
    con.execute("BEGIN TRANSACTION")
    try:
        if old_columns != new_columns:
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _range_rows WHERE false")
        con.execute(f"DELETE FROM {table} WHERE {date_column} BETWEEN ? AND ?", [start, end])
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _range_rows")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    written = con.execute("SELECT count(*) FROM _range_rows").fetchall()[0][0]
    con.execute("DROP TABLE _range_rows")
    return written


def duckdb_settings() -> dict:
    """Keep DuckDB inside a memory budget (it spills to disk beyond it); CSM_DUCKDB_MEMORY_LIMIT overrides."""
    return {"memory_limit": os.environ.get("CSM_DUCKDB_MEMORY_LIMIT", "3GB"), "preserve_insertion_order": False}
