"""Validate a raw file against its pandera model entirely in DuckDB SQL.

The pandera DataFrameModel is the single declaration of each table. This module
compiles it to SQL so files with tens of millions of rows never pass through
pandas: every row gets a list of reasons; rows with none land in `raw.<table>`,
the others in `raw.rejected_rows` with their original payload. Nothing is lost.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from csm_analytics.canonical.schemas import CANONICAL_TABLES
from csm_analytics.canonical.sql import SqlColumn, sql_columns, sql_literal

REJECTED_TABLE = "raw.rejected_rows"
REJECTED_DDL = f"""
CREATE TABLE IF NOT EXISTS {REJECTED_TABLE} (
    table_name VARCHAR, row_payload JSON, reasons VARCHAR[], source_file VARCHAR,
    row_number BIGINT, loaded_at TIMESTAMP
)"""
# Physical types a file may carry for each canonical SQL type. VARCHAR is always
# accepted: its values are cast row by row, and values that fail are quarantined.
COMPATIBLE = {
    "BIGINT": ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"),
    "DOUBLE": ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL"),
    "BOOLEAN": ("BOOLEAN",),
    "DATE": ("DATE", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP WITH TIME ZONE"),
    "TIMESTAMP": ("DATE", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP WITH TIME ZONE"),
}


class SourceDataError(ValueError):
    """A raw file cannot be loaded at all: missing, unreadable, or a column of the wrong shape."""


@dataclass(frozen=True)
class LoadResult:
    table: str
    source_file: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    top_reasons: list[tuple[str, int]]
    ignored_columns: list[str]


def find_source_file(raw_dir: Path, table: str) -> Path:
    for suffix in (".parquet", ".csv"):
        path = Path(raw_dir) / f"{table}{suffix}"
        if path.exists():
            return path
    raise SourceDataError(
        f"{Path(raw_dir) / (table + '.parquet')}: file not found. Expected the canonical table '{table}' "
        f"as Parquet or CSV (see docs/schemas.md), or run `csm-analytics generate` for the demo world."
    )


def _reader(path: Path) -> str:
    quoted = sql_literal(str(path))
    if path.suffix == ".csv":
        return f"(SELECT row_number() OVER () AS _row_number, * FROM read_csv({quoted}, header = true, all_varchar = true))"
    return f"(SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS _row_number FROM read_parquet({quoted}, file_row_number = true))"


def _base_type(duck_type: str) -> str:
    return duck_type.split("(")[0].strip()


def describe_source(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {_reader(path)}").fetchall()
    except duckdb.Error as exc:
        raise SourceDataError(f"{path}: unreadable ({exc.__class__.__name__}: {exc}). Check the file is valid Parquet or CSV.") from exc
    return {r[0]: r[1] for r in rows if r[0] != "_row_number"}


def check_columns(path: Path, actual: dict[str, str], columns: list[SqlColumn]) -> None:
    for col in columns:
        if col.name not in actual:
            raise SourceDataError(
                f"{path}: required column '{col.name}' (expected type {col.sql_type}) is missing. "
                f"Columns found: {sorted(actual)}."
            )
        found = _base_type(actual[col.name])
        if found != "VARCHAR" and col.sql_type != "VARCHAR" and found not in COMPATIBLE[col.sql_type]:
            raise SourceDataError(
                f"{path}: column '{col.name}' has type {actual[col.name]}, expected {col.sql_type}. "
                f"Fix the file or convert the column to {col.sql_type}."
            )


def _row_reasons(columns: list[SqlColumn], parents: dict[str, str]) -> str:
    parts = []
    for col in columns:
        raw = f'"{col.name}"'
        typed = f'TRY_CAST({raw} AS {col.sql_type})'
        parts.append(f"CASE WHEN {raw} IS NOT NULL AND {typed} IS NULL THEN "
                     f"'{col.name}: expected {col.sql_type}, got ' || chr(39) || CAST({raw} AS VARCHAR) || chr(39) END")
        if not col.nullable:
            parts.append(f"CASE WHEN {raw} IS NULL THEN '{col.name}: required value is missing' END")
        for predicate, reason in col.checks:
            cond = predicate.format(c=typed)
            parts.append(f"CASE WHEN {typed} IS NOT NULL AND NOT ({cond}) THEN {sql_literal(col.name + ': ' + reason)} END")
    for col, parent in parents.items():
        parent_key = CANONICAL_TABLES[parent][1][0]
        parts.append(f'CASE WHEN "{col}" IS NOT NULL AND "{col}" NOT IN (SELECT {parent_key} FROM raw.{parent}) '
                     f"THEN '{col}: unknown {col} (not in raw.{parent})' END")
    return "list_filter([" + ",\n  ".join(parts) + "], lambda x: x IS NOT NULL)"


def _checked_view(path: Path, columns: list[SqlColumn], keys: tuple[str, ...], parents: dict[str, str]) -> str:
    """Every row of the file with its list of reasons (empty when valid).

    Duplicate keys are found with a hash aggregate (cheap, spills to disk) rather than a
    window over all rows; the first occurrence of a key is kept, later ones are rejected.
    """
    key_list = ", ".join(f'"{k}" AS "_key_{k}"' for k in keys)
    names = ", ".join(f'src."{c.name}"' for c in columns)
    join = " AND ".join(f'dups."_key_{k}" IS NOT DISTINCT FROM src."{k}"' for k in keys)
    return f"""
        WITH src AS (SELECT * FROM {_reader(path)}),
        dups AS (SELECT {key_list}, min(_row_number) AS first_row FROM src GROUP BY ALL HAVING count(*) > 1)
        SELECT src._row_number, {names},
               list_concat({_row_reasons(columns, parents)},
                           CASE WHEN dups.first_row IS NOT NULL AND src._row_number <> dups.first_row
                                THEN ['duplicate key ({', '.join(keys)})'] ELSE [] END) AS _reasons
        FROM src LEFT JOIN dups ON {join}"""


def load_table(con: duckdb.DuckDBPyConnection, table: str, raw_dir: Path, loaded_at: dt.datetime) -> LoadResult:
    """Load `raw_dir/<table>.(parquet|csv)` into raw.<table>, quarantining bad rows. Idempotent."""
    model, keys, parents = CANONICAL_TABLES[table]
    return load_file(con, table, find_source_file(raw_dir, table), model, keys, parents, loaded_at)


def load_file(con: duckdb.DuckDBPyConnection, table: str, path: Path, model, keys: tuple[str, ...],
              parents: dict[str, str], loaded_at: dt.datetime) -> LoadResult:
    """Load one file into raw.<table> against `model`, quarantining bad rows in raw.rejected_rows.

    Streaming passes over the file, so memory does not grow with it: the valid rows, then, only when
    the file holds more rows than were loaded, the rejected ones (a clean file is checked once).
    """
    columns = sql_columns(model)
    actual = describe_source(con, path)
    check_columns(path, actual, columns)
    names = ", ".join(f'"{c.name}"' for c in columns)
    typed = ", ".join(f'TRY_CAST("{c.name}" AS {c.sql_type}) AS "{c.name}"' for c in columns)
    checked = _checked_view(path, columns, keys, parents)
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(REJECTED_DDL)
    con.execute(f"CREATE OR REPLACE TABLE raw.{table} AS SELECT {typed} FROM ({checked}) WHERE len(_reasons) = 0")
    con.execute(f"DELETE FROM {REJECTED_TABLE} WHERE table_name = ?", [table])
    loaded = con.execute(f"SELECT count(*) FROM raw.{table}").fetchall()[0][0]
    in_file = con.execute(f"SELECT count(*) FROM {_reader(path)}").fetchall()[0][0]  # Parquet: from metadata
    if in_file > loaded:
        con.execute(
            f"INSERT INTO {REJECTED_TABLE} SELECT ?, to_json(struct_pack({names})), _reasons, ?, _row_number, ? "
            f"FROM ({checked}) WHERE len(_reasons) > 0",
            [table, str(path), loaded_at],
        )
    rejected = con.execute(f"SELECT count(*) FROM {REJECTED_TABLE} WHERE table_name = ?", [table]).fetchall()[0][0]
    reasons = con.execute(
        f"SELECT reason, count(*) AS n FROM (SELECT unnest(reasons) AS reason FROM {REJECTED_TABLE} WHERE table_name = ?) "
        "GROUP BY reason ORDER BY n DESC, reason LIMIT 10", [table]).fetchall()
    ignored = sorted(set(actual) - {c.name for c in columns})
    return LoadResult(table, str(path), loaded + rejected, loaded, rejected, [(r, n) for r, n in reasons], ignored)
