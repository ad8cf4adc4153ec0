"""Every canonical schema rejects crafted bad rows with the right reason and keeps the good ones."""

from __future__ import annotations

import csv
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from csm_analytics.canonical.schemas import CANONICAL_TABLES
from csm_analytics.canonical.sql import sql_columns
from csm_analytics.sources.validation import SourceDataError, load_table

from csm_analytics_tests.test_sources.conftest import LOADED_AT  # noqa: E402
GOOD_ROWS_KEPT = 3


def _violations(table: str):
    """(column, bad value, expected reason) for every rule the model declares for this table."""
    model, keys, parents = CANONICAL_TABLES[table]
    out = []
    for col in sql_columns(model):
        if not col.nullable:
            out.append((col.name, None, f"{col.name}: required value is missing"))
        if col.sql_type != "VARCHAR":
            out.append((col.name, "not-a-value", f"{col.name}: expected {col.sql_type}, got 'not-a-value'"))
        for check in model.to_schema().columns[col.name].checks:
            s = check.statistics
            reason = None
            if check.name in ("greater_than_or_equal_to", "greater_than"):
                value, reason = str(s["min_value"] - 1), f"must be {'>=' if 'equal' in check.name else '>'} {s['min_value']}"
            elif check.name in ("less_than_or_equal_to", "less_than", "in_range"):
                value = str(s["max_value"] + 1)
            elif check.name == "isin":
                value = "__invalid__" if col.sql_type == "VARCHAR" else str(max(s["allowed_values"]) + 1)
            elif check.name == "str_matches":
                value = "bad id!"
            elif check.name == "str_length":
                value = "X"
            reason = next(r for p, r in col.checks if p.startswith(_sql_prefix(check.name)))
            out.append((col.name, value, f"{col.name}: {reason}"))
    for col, parent in parents.items():
        out.append((col, "UNKNOWN-PARENT", f"{col}: unknown {col} (not in raw.{parent})"))
    return out


def _sql_prefix(check_name: str) -> str:
    return {"greater_than_or_equal_to": "{c} >=", "greater_than": "{c} >", "less_than_or_equal_to": "{c} <=",
            "less_than": "{c} <", "in_range": "{c} BETWEEN", "isin": "{c} IN", "str_matches": "regexp_matches",
            "str_length": "length("}[check_name]


@pytest.mark.parametrize("table", list(CANONICAL_TABLES))
def test_bad_rows_are_quarantined_with_their_reason(tmp_path, default_world, con, table):
    model, keys, _ = CANONICAL_TABLES[table]
    violations = _violations(table)
    source = pq.read_table(default_world / f"{table}.parquet")
    originals = source.to_pylist()
    rows = [dict(originals[i % len(originals)]) for i in range(len(violations) + GOOD_ROWS_KEPT)]
    for i, row in enumerate(rows):  # recycled rows of small tables get a fresh key
        if i >= len(originals):
            row[keys[0]] = f"{row[keys[0]]}-copy{i}"
    for row, (column, value, _) in zip(rows, violations):
        row[column] = value
    duplicate = dict(rows[-1])
    rows.append(duplicate)
    folder = tmp_path / "raw"
    folder.mkdir()
    with open(folder / f"{table}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    result = load_table(con, table, folder, LOADED_AT)

    assert result.rows_read == len(rows)
    assert result.rows_loaded == GOOD_ROWS_KEPT
    assert result.rows_rejected == len(violations) + 1
    rejected = dict(con.execute(
        "SELECT row_number, reasons FROM raw.rejected_rows WHERE table_name = ?", [table]).fetchall())
    for i, (_, _, reason) in enumerate(violations, start=1):
        assert reason in rejected[i], (i, reason, rejected[i])
    assert rejected[len(rows)] == [f"duplicate key ({', '.join(keys)})"]
    kept = con.execute(f"SELECT count(*) FROM raw.{table}").fetchall()[0][0]
    assert kept == GOOD_ROWS_KEPT


def test_quarantine_keeps_payload_file_and_is_idempotent(tmp_path, default_world, con):
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "accounts.csv").write_text(
        "account_id,account_name,tier,segment,industry,country,product,created_date\n"
        "A1,Good,Enterprise,Large,Software,US,EOR,2024-01-05\n"
        "A2,Bad tier,Platinum,Large,Software,US,EOR,2024-01-05\n"
    )
    for _ in range(2):
        load_table(con, "accounts", folder, LOADED_AT)
    rows = con.execute(
        "SELECT row_payload->>'$.tier', reasons, source_file, row_number, loaded_at FROM raw.rejected_rows "
        "WHERE table_name = 'accounts'").fetchall()
    assert rows == [("Platinum", ["tier: must be one of ['Strategic', 'Enterprise', 'Growth', 'Core']"],
                     str(folder / "accounts.csv"), 2, LOADED_AT)]


def test_missing_file_names_the_file(tmp_path, con):
    with pytest.raises(SourceDataError, match=r"raw/accounts\.parquet: file not found"):
        load_table(con, "accounts", tmp_path / "raw", LOADED_AT)


def test_missing_column_names_file_column_and_type(tmp_path, default_world, con):
    folder = tmp_path / "raw"
    folder.mkdir()
    pq.write_table(pq.read_table(default_world / "accounts.parquet").drop(["created_date"]), folder / "accounts.parquet")
    with pytest.raises(SourceDataError) as err:
        load_table(con, "accounts", folder, LOADED_AT)
    message = str(err.value)
    assert "accounts.parquet" in message and "'created_date'" in message and "DATE" in message


def test_wrong_column_type_names_file_column_and_type(tmp_path, default_world, con):
    folder = tmp_path / "raw"
    folder.mkdir()
    table = pq.read_table(default_world / "accounts.parquet")
    table = table.set_column(table.schema.get_field_index("created_date"), "created_date",
                             pa.array([True] * table.num_rows))
    pq.write_table(table, folder / "accounts.parquet")
    with pytest.raises(SourceDataError, match=r"accounts\.parquet: column 'created_date' has type BOOLEAN, expected DATE"):
        load_table(con, "accounts", folder, LOADED_AT)


def test_unreadable_file_says_so(tmp_path, con):
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "accounts.parquet").write_bytes(b"this is not parquet")
    with pytest.raises(SourceDataError, match=r"accounts\.parquet: unreadable"):
        load_table(con, "accounts", folder, LOADED_AT)


def test_extra_columns_are_reported_not_fatal(tmp_path, default_world, con):
    folder = tmp_path / "raw"
    shutil.copytree(default_world, folder)
    table = pq.read_table(folder / "accounts.parquet")
    pq.write_table(table.append_column("crm_owner", pa.array(["x"] * table.num_rows)), folder / "accounts.parquet")
    result = load_table(con, "accounts", folder, LOADED_AT)
    assert result.ignored_columns == ["crm_owner"] and result.rows_loaded == 220
