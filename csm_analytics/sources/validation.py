"""Validate a raw file against its pandera model entirely in DuckDB SQL, and swap it in only if it passes.

The pandera DataFrameModel is the single declaration of each table. This module compiles it to SQL so
files with tens of millions of rows never pass through pandas: every row gets a list of reasons; rows with
none are staged, the others go to `raw.rejected_rows` with their original payload, file and row number.
Nothing is lost. The staged rows replace `raw.<table>` only when the feed passes its blocking rule (not
empty when required, at most `max_rejected_share` quarantined), in one transaction with its quarantine;
a blocked feed leaves the last good table in place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from csm_analytics.canonical.schemas import CANONICAL_TABLES, REQUIRED_TABLES, ROW_RULES
from csm_analytics.canonical.sql import TEXT_FORMS, SqlColumn, sql_columns, sql_literal
from csm_analytics.sources.readers import (
    ROW_NUMBER, Source, SourceDataError, drop_temp, find_source_file, open_source, unreadable,
)

REJECTED_TABLE = "raw.rejected_rows"  # a view over every feed's quarantine table (refresh_rejected_view)
QUARANTINE_PREFIX = "rejected_"


def quarantine_table(table: str) -> str:
    """Where a feed's quarantined rows live: raw.rejected_<table>, written with the feed, so each is a declared asset."""
    return f"raw.{QUARANTINE_PREFIX}{table}"


REJECTED_COLUMNS = """(
    table_name VARCHAR, row_payload JSON, reasons VARCHAR[], source_file VARCHAR,
    row_number BIGINT, loaded_at TIMESTAMP
)"""
# Physical types a file may carry for each canonical SQL type. VARCHAR is always accepted: its values
# must match the type's text form (canonical.sql.TEXT_FORMS), and values that do not are quarantined.
COMPATIBLE = {
    "BIGINT": ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"),
    "DOUBLE": ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL"),
    "BOOLEAN": ("BOOLEAN",),
    "DATE": ("DATE", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP WITH TIME ZONE"),
    "TIMESTAMP": ("DATE", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP WITH TIME ZONE"),
}

__all__ = ["LoadResult", "SourceDataError", "find_source_file", "load_table", "load_file", "quarantine_summary"]


@dataclass(frozen=True)
class LoadResult:
    table: str
    source_file: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    top_reasons: list[tuple[str, int]]
    ignored_columns: list[str]
    blocked: str | None = None  # why raw.<table> was left as it was; None when the file replaced it


def _base_type(duck_type: str) -> str:
    return duck_type.split("(")[0].strip()


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


def _typed(col: SqlColumn, source_type: str) -> str:
    """The column as its canonical type, or NULL when the value cannot be read as one without coercion."""
    raw = f'"{col.name}"'
    if _base_type(source_type) == "TIMESTAMP WITH TIME ZONE":
        return f"TRY_CAST(timezone('UTC', {raw}) AS {col.sql_type})"  # an instant, stored as UTC
    if _base_type(source_type) == "VARCHAR" and col.sql_type in TEXT_FORMS:
        return (f"CASE WHEN regexp_matches({raw}, {sql_literal(TEXT_FORMS[col.sql_type])}) "
                f"THEN TRY_CAST({raw} AS {col.sql_type}) END")
    return f"TRY_CAST({raw} AS {col.sql_type})"


def _t(name: str) -> str:
    return f'"__t_{name}"'


def _row_reasons(table: str, columns: list[SqlColumn], parents: dict[str, str], loaded_parents: set[str]) -> str:
    parts = []
    for col in columns:
        raw, typed = f't."{col.name}"', f"t.{_t(col.name)}"
        parts.append(f"CASE WHEN {raw} IS NOT NULL AND {typed} IS NULL THEN "
                     f"'{col.name}: expected {col.sql_type}, got ' || chr(39) || CAST({raw} AS VARCHAR) || chr(39) END")
        if not col.nullable:
            parts.append(f"CASE WHEN {raw} IS NULL THEN '{col.name}: required value is missing' END")
        for predicate, reason in col.checks:
            cond = predicate.replace("{c}", typed)
            parts.append(f"CASE WHEN {typed} IS NOT NULL AND NOT ({cond}) THEN {sql_literal(col.name + ': ' + reason)} END")
    for predicate, reason in ROW_RULES.get(table, []):
        cond = predicate.format(**{c.name: f"t.{_t(c.name)}" for c in columns})
        parts.append(f"CASE WHEN NOT coalesce({cond}, true) THEN {sql_literal(reason)} END")
    for col, parent in parents.items():
        if parent not in loaded_parents:
            parts.append(f"CASE WHEN t.\"{col}\" IS NOT NULL THEN '{col}: raw.{parent} has not been loaded' END")
            continue
        parent_key = CANONICAL_TABLES[parent][1][0]
        # A parent row quarantined in its own load explains its children: say which and why.
        parts.append(
            f'CASE WHEN t."{col}" IS NOT NULL AND t."{col}" NOT IN (SELECT "{parent_key}" FROM raw.{parent}) THEN '
            f"coalesce('{col} ' || t.\"{col}\" || ' was quarantined in {parent}: ' || \"_pq_{col}\".why, "
            f"'{col}: unknown {col} (not in raw.{parent})') END")
    return "list_filter([" + ",\n  ".join(parts) + "], lambda x: x IS NOT NULL)"


def _checked_view(table: str, source: Source, columns: list[SqlColumn], keys: tuple[str, ...],
                  parents: dict[str, str], loaded_parents: set[str]) -> str:
    """Every row of the file with its typed values (`__t_<column>`) and its list of reasons (empty when valid).

    Duplicate keys are found with a hash aggregate (cheap, spills to disk) rather than a window over all
    rows; the first occurrence of a key is kept, later ones are rejected.
    """
    key_list = ", ".join(f'"{k}" AS "_key_{k}"' for k in keys)
    typed = ", ".join(f"{_typed(c, source.columns[c.name])} AS {_t(c.name)}" for c in columns)
    names = ", ".join(f't."{c.name}", t.{_t(c.name)}' for c in columns)
    join = " AND ".join(f'dups."_key_{k}" IS NOT DISTINCT FROM t."{k}"' for k in keys)
    quarantined_parents = "".join(
        f""",
        "_pq_{col}" AS (SELECT trim(row_payload->>'$.{CANONICAL_TABLES[parent][1][0]}') AS k,
                        min(array_to_string(reasons, '; ')) AS why
                 FROM {quarantine_table(parent)} GROUP BY 1)"""
        for col, parent in parents.items() if parent in loaded_parents)
    parent_joins = "".join(f' LEFT JOIN "_pq_{col}" ON "_pq_{col}".k = t."{col}"'
                           for col, parent in parents.items() if parent in loaded_parents)
    return f"""
        WITH t AS (SELECT *, {typed} FROM {source.relation}),
        dups AS (SELECT {key_list}, min({ROW_NUMBER}) AS first_row FROM t GROUP BY ALL HAVING count(*) > 1){quarantined_parents}
        SELECT t.{ROW_NUMBER}, {names},
               list_concat({_row_reasons(table, columns, parents, loaded_parents)},
                           CASE WHEN dups.first_row IS NOT NULL AND t.{ROW_NUMBER} <> dups.first_row
                                THEN ['duplicate key ({', '.join(keys)})'] ELSE [] END) AS _reasons
        FROM t LEFT JOIN dups ON {join}{parent_joins}"""


def load_table(con: duckdb.DuckDBPyConnection, table: str, raw_dir: Path, loaded_at: dt.datetime,
               max_rejected_share: float = 1.0) -> LoadResult:
    """Load `raw_dir/<table>.(parquet|csv)` into raw.<table>, quarantining bad rows. Idempotent."""
    model, keys, parents = CANONICAL_TABLES[table]
    return load_file(con, table, find_source_file(raw_dir, table), model, keys, parents, loaded_at,
                     max_rejected_share, required=table in REQUIRED_TABLES)


def _table_exists(con, schema: str, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                            [schema, name]).fetchall()[0][0])


def load_file(con: duckdb.DuckDBPyConnection, table: str, path: Path, model, keys: tuple[str, ...],
              parents: dict[str, str], loaded_at: dt.datetime, max_rejected_share: float = 1.0,
              required: bool = False) -> LoadResult:
    """Validate one file into a staging table, and swap it into raw.<table> only when the feed passes.

    Streaming passes over the file, so memory does not grow with it (a CSV is read once into a temporary
    table first): the valid rows, then, only when the file holds more rows than that, the rejected ones.
    """
    columns = sql_columns(model)
    temp = f"_src_{table}"
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    _migrate_rejected_table(con)
    try:
        source = open_source(con, path, temp)
        check_columns(path, source.columns, columns)
        loaded_parents = {p for p in parents.values() if _table_exists(con, "raw", p)}
        for parent in loaded_parents:  # a parent loaded before quarantine tables existed had no quarantined rows
            con.execute(f"CREATE TABLE IF NOT EXISTS {quarantine_table(parent)} {REJECTED_COLUMNS}")
        checked = _checked_view(table, source, columns, keys, parents, loaded_parents)
        stage = f"raw._staging_{table}"
        out = ", ".join(f'{_t(c.name)} AS "{c.name}"' for c in columns)
        con.execute(f"CREATE OR REPLACE TABLE {stage} AS SELECT {out} FROM ({checked}) WHERE len(_reasons) = 0")
        loaded = con.execute(f"SELECT count(*) FROM {stage}").fetchall()[0][0]
        in_file = con.execute(f"SELECT count(*) FROM {source.relation}").fetchall()[0][0]  # Parquet: from metadata
        names = ", ".join(f'"{c.name}"' for c in columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _rejected_{table} {REJECTED_COLUMNS}")
        if in_file > loaded:
            con.execute(f"INSERT INTO _rejected_{table} SELECT ?, to_json(struct_pack({names})), _reasons, ?, "
                        f"{ROW_NUMBER}, ? FROM ({checked}) WHERE len(_reasons) > 0", [table, str(path), loaded_at])
        for row, text, reason in source.structural:
            con.execute(f"INSERT INTO _rejected_{table} VALUES (?, to_json({{'line': ?}}), [?], ?, ?, ?)",
                        [table, text, reason, str(path), row, loaded_at])
    except duckdb.Error as exc:  # a corrupt page or bad bytes found mid-file
        drop_temp(con, temp)
        raise unreadable(path, exc) from exc
    rejected = con.execute(f"SELECT count(*) FROM _rejected_{table}").fetchall()[0][0]
    rows_read = loaded + rejected
    blocked = _blocking_reason(table, path, rows_read, rejected, max_rejected_share, required)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE OR REPLACE TABLE {quarantine_table(table)} AS SELECT * FROM _rejected_{table}")
        if blocked:
            con.execute(f"DROP TABLE {stage}")
        else:
            con.execute(f"DROP TABLE IF EXISTS raw.{table}")
            con.execute(f"ALTER TABLE {stage} RENAME TO {table}")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    refresh_rejected_view(con)  # the view's rows are the declared quarantine tables; only its definition grows
    reasons = con.execute(
        f"SELECT reason, count(*) AS n FROM (SELECT unnest(reasons) AS reason FROM _rejected_{table}) "
        "GROUP BY reason ORDER BY n DESC, reason LIMIT 10").fetchall()
    con.execute(f"DROP TABLE _rejected_{table}")
    drop_temp(con, temp)
    ignored = sorted(set(source.columns) - {c.name for c in columns})
    return LoadResult(table, str(path), rows_read, loaded, rejected, [(r, n) for r, n in reasons], ignored, blocked)


def _blocking_reason(table: str, path: Path, rows_read: int, rejected: int, max_share: float, required: bool) -> str | None:
    keep = f"raw.{table} keeps its last good load"
    if required and rows_read == 0:
        return (f"{path} holds no data rows, and {table} is a required table: {keep}. "
                f"Check the export that wrote it (a header-only file is usually a failed export), then rerun.")
    share = rejected / rows_read if rows_read else 0.0
    if share > max_share:
        return (f"{path}: {rejected:,} of {rows_read:,} rows quarantined ({share:.2%}), above the {max_share:.2%} "
                f"limit: {keep}. See why in raw.rejected_rows (table_name = '{table}'), fix the file, then rerun.")
    return None


def quarantine_summary(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """(table, file, rows quarantined) for every file with quarantined rows, as left by the latest loads."""
    if not _table_exists(con, "raw", "rejected_rows"):
        refresh_rejected_view(con)
    if not _table_exists(con, "raw", "rejected_rows"):
        return []
    return [tuple(r) for r in con.execute(
        f"SELECT table_name, source_file, count(*) FROM {REJECTED_TABLE} GROUP BY ALL ORDER BY 1, 2").fetchall()]


def quarantined_feeds(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The feeds that have a quarantine table (loaded at least once into this warehouse)."""
    rows = con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' "
                       "AND table_type = 'BASE TABLE' AND starts_with(table_name, ?) ORDER BY 1",
                       [QUARANTINE_PREFIX]).fetchall()
    return [r[0][len(QUARANTINE_PREFIX):] for r in rows]


def refresh_rejected_view(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)create raw.rejected_rows, the union of every feed's quarantine table; the number of feeds in it."""
    feeds = quarantined_feeds(con)
    if not feeds:
        return 0
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    union = " UNION ALL ".join(f"SELECT * FROM {quarantine_table(f)}" for f in feeds)
    con.execute(f"CREATE OR REPLACE VIEW {REJECTED_TABLE} AS {union}")
    return len(feeds)


def _migrate_rejected_table(con: duckdb.DuckDBPyConnection) -> None:
    """A warehouse from before the per-feed quarantine tables keeps its rows: split raw.rejected_rows by feed."""
    kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_schema = 'raw' "
                       "AND table_name = 'rejected_rows'").fetchall()
    if not kind or kind[0][0] != "BASE TABLE":
        return
    for (feed,) in con.execute(f"SELECT DISTINCT table_name FROM {REJECTED_TABLE}").fetchall():
        if not _table_exists(con, "raw", QUARANTINE_PREFIX + feed):
            con.execute(f"CREATE TABLE {quarantine_table(feed)} AS SELECT * FROM {REJECTED_TABLE} WHERE table_name = ?",
                        [feed])
    con.execute(f"DROP TABLE {REJECTED_TABLE}")
