"""Bad inputs from the issue-16 audit: every row ends up valid or quarantined (file, column, row, rule), none lost,
and files that cannot be read fail with an error naming them. `python -m csm_analytics_tests.test_sources.test_bad_inputs
WORLD_DIR` prints the table of docs/intake.md."""

from __future__ import annotations

import math
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from csm_analytics.sources.validation import SourceDataError, load_table

from csm_analytics_tests.test_sources.conftest import LOADED_AT  # noqa: E402


def _rows(world: Path, table: str, n: int) -> list[dict]:
    return pq.read_table(world / f"{table}.parquet").slice(0, n).to_pylist()


def _csv(folder: Path, table: str, rows: list[dict], raw_lines: dict[int, str] | None = None) -> None:
    """Rows as CSV text exactly as given (values written verbatim); raw_lines replaces data line i (1-based)."""
    names = list(rows[0])
    lines = [",".join(names)]
    for i, row in enumerate(rows, start=1):
        lines.append((raw_lines or {}).get(i) or ",".join("" if row[c] is None else str(row[c]) for c in names))
    (folder / f"{table}.csv").write_text("\n".join(lines) + "\n")


@dataclass
class Case:
    name: str
    table: str
    build: object  # (world, folder) -> None: writes the bad file into folder
    quarantined: dict[int, str]  # row number -> a reason it must carry


def _set(rows, i, **values):
    rows[i] = {**rows[i], **values}
    return rows


def nan_and_inf_parquet(world, folder):
    table = pq.read_table(world / "contracts.parquet").slice(0, 10)
    arr = table.column("arr").to_pylist()
    arr[1:6] = [math.nan, math.inf, -math.inf, math.nan, math.inf]
    pq.write_table(table.set_column(table.schema.get_field_index("arr"), "arr", pa.array(arr)), folder / "contracts.parquet")


def nan_text_csv(world, folder):
    _csv(folder, "contracts", _set(_set(_rows(world, "contracts", 10), 1, mrr="NaN"), 2, mrr="inf"))


def decimal_in_integer_column(world, folder):
    _csv(folder, "contracts", _set(_rows(world, "contracts", 10), 1, licensed_seats="3.5"))


def hex_in_integer_column(world, folder):
    _csv(folder, "contracts", _set(_rows(world, "contracts", 10), 1, licensed_seats="0x10"))


def utc_offset_in_timestamp(world, folder):
    rows = _rows(world, "support_tickets", 10)
    _csv(folder, "support_tickets", _set(rows, 1, opened_at="2025-03-01 10:00:00+02:00"))


def five_digit_year(world, folder):
    _csv(folder, "contracts", _set(_rows(world, "contracts", 10), 1, end_date="99999-01-01"))


def far_future_date(world, folder):
    _csv(folder, "contracts", _set(_rows(world, "contracts", 10), 1, end_date="2999-01-01"))


def contract_ends_before_it_starts(world, folder):
    _csv(folder, "contracts", _set(_rows(world, "contracts", 10), 1, end_date="2020-01-01"))


def padded_id(world, folder):
    rows = _rows(world, "accounts", 10)
    _csv(folder, "accounts", _set(rows, 1, account_id=" " + rows[1]["account_id"]))


def ragged_csv_row(world, folder):
    rows = _rows(world, "contracts", 10)
    _csv(folder, "contracts", rows, {2: "C-1,ACC0000001,2024-01-01"})


def data_column_named_file_row_number(world, folder):
    table = pq.read_table(world / "accounts.parquet").slice(0, 10)
    pq.write_table(table.append_column("file_row_number", pa.array(range(100, 110))), folder / "accounts.parquet")


CASES = [
    Case("NaN and ±inf in a Parquet DOUBLE", "contracts", nan_and_inf_parquet,
         {r: "arr: must be a finite number (not NaN or infinity)" for r in range(2, 7)}),
    Case("'NaN' and 'inf' as CSV text", "contracts", nan_text_csv,
         {2: "mrr: expected DOUBLE, got 'NaN'", 3: "mrr: expected DOUBLE, got 'inf'"}),
    Case("'3.5' in an integer column", "contracts", decimal_in_integer_column,
         {2: "licensed_seats: expected BIGINT, got '3.5'"}),
    Case("'0x10' in an integer column", "contracts", hex_in_integer_column,
         {2: "licensed_seats: expected BIGINT, got '0x10'"}),
    Case("'+02:00' offset in a timestamp", "support_tickets", utc_offset_in_timestamp,
         {2: "opened_at: expected TIMESTAMP, got '2025-03-01 10:00:00+02:00'"}),
    Case("year 99999", "contracts", five_digit_year, {2: "end_date: expected DATE, got '99999-01-01'"}),
    Case("year 2999", "contracts", far_future_date, {2: "end_date: must be between 1900-01-01 and 2100-12-31"}),
    Case("contract ends before it starts", "contracts", contract_ends_before_it_starts,
         {2: "end_date: must not be before start_date"}),
    Case("whitespace-padded id", "accounts", padded_id, {2: "account_id: must be a canonical id"}),
    Case("ragged CSV row (3 of 10 fields)", "contracts", ragged_csv_row,
         {2: "row: missing columns (Expected Number of Columns: 10 Found: 3)"}),
    Case("data column named file_row_number", "accounts", data_column_named_file_row_number, {}),
]


def measure(world: Path, folder: Path, con, case: Case):
    """(rows in the file, valid, quarantined, lost) after loading the case's file."""
    folder.mkdir(parents=True, exist_ok=True)
    case.build(world, folder)
    path = next(folder.glob(f"{case.table}.*"))
    result = load_table(con, case.table, folder, LOADED_AT)
    rows_in = (pq.ParquetFile(path).metadata.num_rows if path.suffix == ".parquet"
               else len(path.read_text().splitlines()) - 1)
    return result, rows_in


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_bad_row_is_quarantined_with_file_column_row_and_rule(tmp_path, default_world, con, case):
    result, rows_in = measure(default_world, tmp_path / "raw", con, case)
    assert result.rows_loaded + result.rows_rejected == rows_in  # nothing lost
    rejected = {r[0]: r for r in con.execute(
        "SELECT row_number, reasons, source_file FROM raw.rejected_rows WHERE table_name = ?", [case.table]).fetchall()}
    assert set(rejected) == set(case.quarantined)
    for row, reason in case.quarantined.items():
        assert any(r.startswith(reason) for r in rejected[row][1]), (row, rejected[row][1])
        assert rejected[row][2] == result.source_file


def test_ragged_row_keeps_the_row_numbers_after_it(tmp_path, default_world, con):
    folder = tmp_path / "raw"
    folder.mkdir()
    rows = _set(_rows(default_world, "contracts", 10), 5, term_months="13")
    _csv(folder, "contracts", rows, {2: "C-1,ACC0000001", 3: "a,b,c,d,e,f,g,h,i,j,k"})
    load_table(con, "contracts", folder, LOADED_AT)
    rejected = dict(con.execute("SELECT row_number, reasons FROM raw.rejected_rows WHERE table_name = 'contracts'").fetchall())
    assert sorted(rejected) == [2, 3, 6]
    assert rejected[3] == ["row: too many columns (Expected Number of Columns: 10 Found: 11)"]
    assert rejected[6] == ["term_months: must be one of [12, 24, 36]"]


def test_parent_quarantined_for_a_padded_id_is_named_to_its_children(tmp_path, default_world, con):
    folder = tmp_path / "raw"
    folder.mkdir()
    accounts = _rows(default_world, "accounts", 220)
    padded = accounts[0]["account_id"]
    _csv(folder, "accounts", _set(accounts, 0, account_id=" " + padded))
    load_table(con, "accounts", folder, LOADED_AT)
    shutil.copy(default_world / "contracts.parquet", folder / "contracts.parquet")
    load_table(con, "contracts", folder, LOADED_AT)
    reasons = con.execute("SELECT DISTINCT unnest(reasons) FROM raw.rejected_rows WHERE table_name = 'contracts'").fetchall()
    assert len(reasons) == 1 and reasons[0][0].startswith(f"account_id {padded} was quarantined in accounts: account_id: must be")


def test_file_row_number_data_column_is_ignored_and_rows_keep_their_numbers(tmp_path, default_world, con):
    folder = tmp_path / "raw"
    folder.mkdir()
    table = pq.read_table(default_world / "accounts.parquet").slice(0, 10)
    tiers = table.column("tier").to_pylist()
    tiers[3] = "Platinum"
    table = table.set_column(table.schema.get_field_index("tier"), "tier", pa.array(tiers))
    pq.write_table(table.append_column("file_row_number", pa.array(range(100, 110))), folder / "accounts.parquet")
    result = load_table(con, "accounts", folder, LOADED_AT)
    assert result.ignored_columns == ["file_row_number"] and result.rows_loaded == 9
    assert con.execute("SELECT row_number FROM raw.rejected_rows").fetchall() == [(4,)]


def test_mid_file_parquet_corruption_names_the_file(tmp_path, default_world, con):
    folder = tmp_path / "raw"
    folder.mkdir()
    pq.write_table(pq.read_table(default_world / "product_usage.parquet"), folder / "product_usage.parquet",
                   row_group_size=5_000, compression="zstd")
    data = bytearray((folder / "product_usage.parquet").read_bytes())
    middle = len(data) // 2
    data[middle:middle + 2_000] = bytes(2_000)
    (folder / "product_usage.parquet").write_bytes(bytes(data))
    with pytest.raises(SourceDataError, match=r"product_usage\.parquet: unreadable"):
        load_table(con, "product_usage", folder, LOADED_AT)


def test_late_latin1_bytes_name_the_file_and_line(tmp_path, default_world, con):
    folder = tmp_path / "raw"
    folder.mkdir()
    accounts = _rows(default_world, "accounts", 220)
    _csv(folder, "accounts", accounts)
    text = (folder / "accounts.csv").read_bytes().replace(accounts[200]["account_name"].encode(), b"Caf\xe9 SA")
    (folder / "accounts.csv").write_bytes(text)
    with pytest.raises(SourceDataError, match=r"accounts\.csv: line 202 is not valid UTF-8"):
        load_table(con, "accounts", folder, LOADED_AT)


def test_csv_beside_parquet_is_refused_naming_both(tmp_path, default_world, con):
    folder = tmp_path / "raw"
    shutil.copytree(default_world, folder)
    _csv(folder, "accounts", _rows(default_world, "accounts", 5))
    with pytest.raises(SourceDataError, match=r"accounts\.parquet and .*accounts\.csv both exist"):
        load_table(con, "accounts", folder, LOADED_AT)


def test_materialize_prints_quarantine_counts_per_file_and_where_to_look(tmp_path, default_world, capsys):
    from csm_analytics.cli import print_quarantine

    warehouse = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(warehouse))
    for parent in ("csms", "accounts"):
        load_table(con, parent, default_world, LOADED_AT)
    measure(default_world, tmp_path / "raw", con, CASES[2])  # one '3.5' in contracts.csv
    con.close()
    print_quarantine(warehouse)
    out = capsys.readouterr().out
    assert "raw.rejected_rows" in out
    assert f"1  contracts                  {tmp_path / 'raw' / 'contracts.csv'}" in out


def print_table(world: Path) -> None:
    import tempfile

    print("| case | rows in | valid | quarantined | lost |\n|---|---|---|---|---|")
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            con = duckdb.connect(str(Path(tmp) / "wh.duckdb"))
            for parent in ("csms", "accounts"):
                load_table(con, parent, world, LOADED_AT)
            result, rows_in = measure(world, Path(tmp) / "raw", con, case)
            lost = rows_in - result.rows_loaded - result.rows_rejected
            print(f"| {case.name} | {rows_in} | {result.rows_loaded} | {result.rows_rejected} | {lost} |")
            con.close()


if __name__ == "__main__":
    print_table(Path(sys.argv[1]))
