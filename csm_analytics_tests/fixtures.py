"""Tiny hand-built warehouses for tests that assert hand-computed numbers."""

from __future__ import annotations

import duckdb

from csm_analytics.sources.validation import sql_columns
from csm_analytics.world.schemas import CANONICAL_TABLES


def empty_raw_warehouse(path) -> duckdb.DuckDBPyConnection:
    """A warehouse with every canonical raw table created empty, typed as the models say."""
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA raw")
    for table, (model, _, _) in CANONICAL_TABLES.items():
        cols = ", ".join(f'"{c.name}" {c.sql_type}' for c in sql_columns(model))
        con.execute(f"CREATE TABLE raw.{table} ({cols})")
    return con


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    for row in rows:
        cols = ", ".join(row)
        con.execute(f"INSERT INTO raw.{table} ({cols}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
