"""Open one raw file (Parquet or CSV) as rows numbered as they are in the file, or fail with an error naming it.

Every read failure (a missing or ambiguous file, a corrupt Parquet page anywhere in the file, bytes that are
not UTF-8 anywhere in a CSV) surfaces as `SourceDataError` with the file's path and what to do. A CSV row with
too few or too many fields is not an error: it is quarantined with that reason (see `structural_rejects`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from csm_analytics.canonical.sql import sql_literal

ROW_NUMBER = "_row_number"  # our own column; a data column of any other name (file_row_number too) is kept apart


class SourceDataError(ValueError):
    """A raw file cannot be loaded at all: missing, ambiguous, unreadable, or a column of the wrong shape."""


@dataclass
class Source:
    """A raw file opened for validation: `relation` is SQL for its rows with `_row_number` (1 = first data row)."""

    path: Path
    relation: str
    columns: dict[str, str]  # column -> DuckDB type, as the file holds it
    structural: list[tuple[int, str, str]] = field(default_factory=list)  # (row, raw line, reason) of ragged CSV rows


def find_source_file(raw_dir: Path, table: str) -> Path:
    """`<table>.parquet` or `<table>.csv`; both at once is refused (neither silently wins)."""
    found = [Path(raw_dir) / f"{table}{suffix}" for suffix in (".parquet", ".csv")]
    present = [p for p in found if p.exists()]
    if len(present) == 2:
        raise SourceDataError(
            f"{present[0]} and {present[1]} both exist: one table, two files. Keep the one you mean and move "
            f"the other out of {raw_dir}; neither is loaded until then.")
    if not present:
        raise SourceDataError(
            f"{found[0]}: file not found. Expected the canonical table '{table}' as Parquet or CSV "
            f"(see docs/schemas.md), or run `csm-analytics generate` for the demo world.")
    return present[0]


def unreadable(path: Path, exc: Exception) -> SourceDataError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    return SourceDataError(f"{path}: unreadable ({exc.__class__.__name__}: {text}). Check the file is valid "
                           f"Parquet, or CSV encoded as UTF-8 with a header row and comma separators.")


def open_source(con: duckdb.DuckDBPyConnection, path: Path, temp_name: str) -> Source:
    try:
        if path.suffix == ".csv":
            return _open_csv(con, path, temp_name)
        return _open_parquet(con, path)
    except duckdb.Error as exc:
        raise unreadable(path, exc) from exc


def _describe(con, sql: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {sql}").fetchall()}


def _open_parquet(con, path: Path) -> Source:
    scan = f"read_parquet({sql_literal(str(path))})"
    columns = _describe(con, scan)
    if "file_row_number" in columns or ROW_NUMBER in columns:
        # DuckDB's virtual row-number column is shadowed by a data column of that name: number rows by ordinality.
        relation = f'(SELECT * EXCLUDE ("{ROW_NUMBER}"), ordinality AS {ROW_NUMBER} FROM {scan} WITH ORDINALITY)' \
            if ROW_NUMBER in columns else f"(SELECT *, ordinality AS {ROW_NUMBER} FROM {scan} WITH ORDINALITY)"
    else:
        relation = f"(SELECT *, file_row_number + 1 AS {ROW_NUMBER} FROM {scan})"
    columns.pop(ROW_NUMBER, None)
    return Source(path, relation, columns)


def _open_csv(con, path: Path, temp_name: str) -> Source:
    """Read the CSV once into a temporary table; rows DuckDB cannot split into the header's fields are set aside.

    Rows are numbered in file order; the ragged rows set aside are counted back in, so every later row keeps
    its own number (a row = a line; a quoted field spanning lines shifts the numbers reported after it).
    """
    rejects, scans = f"{temp_name}_rejects", f"{temp_name}_scans"
    for t in (temp_name, rejects, scans):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    options = f"header = true, all_varchar = true, delim = ',', store_rejects = true, " \
              f"rejects_table = '{rejects}', rejects_scan = '{scans}'"
    con.execute(f"CREATE TEMP TABLE {temp_name} AS SELECT *, ordinality AS _good_row "
                f"FROM read_csv({sql_literal(str(path))}, {options}) WITH ORDINALITY")
    bad = con.execute(f"SELECT line, error_type, csv_line, error_message FROM {rejects} "
                      f"QUALIFY row_number() OVER (PARTITION BY line ORDER BY column_idx) = 1 ORDER BY line").fetchall()
    encoding = [b for b in bad if "ENCODING" in b[1] or "UNICODE" in b[1]]
    if encoding:
        raise SourceDataError(f"{path}: line {encoding[0][0]} is not valid UTF-8 ({encoding[0][3]}). Re-save the "
                              f"file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`); nothing of it was loaded.")
    columns = _describe(con, temp_name)
    columns.pop("_good_row", None)
    structural = [(line - 1, text, f"row: {kind.lower()} ({message})") for line, kind, text, message in bad]
    if structural:
        # Good row k is file row k + (number of set-aside rows before it).
        shift = {row - i: i for i, (row, _, _) in enumerate(structural, start=1)}  # good rows before it -> rows set aside
        con.execute(f"CREATE OR REPLACE TEMP TABLE {temp_name}_shift AS SELECT unnest(?) AS v, unnest(?) AS i",
                    [list(shift), list(shift.values())])
        relation = (f"(SELECT t.* EXCLUDE (_good_row), t._good_row + coalesce(s.i, 0) AS {ROW_NUMBER} "
                    f"FROM {temp_name} t ASOF LEFT JOIN {temp_name}_shift s ON t._good_row > s.v)")
    else:
        relation = f"(SELECT * EXCLUDE (_good_row), _good_row AS {ROW_NUMBER} FROM {temp_name})"
    if ROW_NUMBER in columns:
        columns.pop(ROW_NUMBER)
        relation = relation.replace("SELECT t.* EXCLUDE (_good_row)", f'SELECT t.* EXCLUDE (_good_row, "{ROW_NUMBER}")') \
            .replace("SELECT * EXCLUDE (_good_row)", f'SELECT * EXCLUDE (_good_row, "{ROW_NUMBER}")')
    return Source(path, relation, columns, structural)


def drop_temp(con: duckdb.DuckDBPyConnection, temp_name: str) -> None:
    for suffix in ("", "_rejects", "_scans", "_shift"):
        con.execute(f"DROP TABLE IF EXISTS {temp_name}{suffix}")
