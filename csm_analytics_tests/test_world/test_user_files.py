"""Generation writes and deletes only the files its own manifest lists; anything else in data/raw is the user's."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from csm_analytics.cli import _prepare_raw_folder
from csm_analytics.sources.validation import load_table
from csm_analytics.world.generator import ForeignFilesError, generate_world
from csm_analytics.world.manifest import foreign_files, world_is_current
from csm_analytics.world.spec import WorldSpec


def _hand_made(raw):
    raw.mkdir(parents=True)
    accounts = pa.table({"account_id": ["MINE1"], "account_name": ["My client"]})
    notes = pa.table({"note": ["do not lose me"]})
    pq.write_table(accounts, raw / "accounts.parquet")
    pq.write_table(notes, raw / "my_notes.parquet")
    return {p.name: p.read_bytes() for p in raw.iterdir()}


def test_materialize_never_replaces_or_deletes_hand_made_files(tmp_path, capsys):
    raw = tmp_path / "raw"
    before = _hand_made(raw)
    assert _prepare_raw_folder(raw) is False
    err = capsys.readouterr().err
    assert "accounts.parquet" in err and "my_notes.parquet" in err and "--skip-generate" in err
    assert {p.name: p.read_bytes() for p in raw.iterdir()} == before


def test_generate_refuses_to_overwrite_a_users_file(tmp_path):
    raw = tmp_path / "raw"
    before = _hand_made(raw)
    with pytest.raises(ForeignFilesError, match="accounts.parquet"):
        generate_world(WorldSpec(accounts=20, csms=2, history_days=120), raw, progress=False)
    assert {p.name: p.read_bytes() for p in raw.iterdir()} == before


def test_a_csv_converted_table_is_loaded_not_regenerated(tmp_path, default_world, capsys):
    raw = tmp_path / "raw"
    shutil.copytree(default_world, raw)
    con = duckdb.connect()
    for table in ("accounts", "support_tickets"):  # dates, timestamps, booleans and nullable integers as text
        con.execute(f"COPY (SELECT * FROM read_parquet('{raw / table}.parquet')) TO '{raw / table}.csv' (HEADER)")
        (raw / f"{table}.parquet").unlink()
    csv_bytes = (raw / "accounts.csv").read_bytes()
    assert foreign_files(raw) == ["accounts.csv", "support_tickets.csv"]
    assert _prepare_raw_folder(raw) is True
    assert "loading the folder as it is" in capsys.readouterr().out
    assert (raw / "accounts.csv").read_bytes() == csv_bytes and not (raw / "accounts.parquet").exists()
    for table in ("csms", "accounts", "support_tickets"):
        result = load_table(con, table, raw, dt.datetime(2026, 10, 1))
        assert result.rows_rejected == 0 and result.rows_loaded == pq.read_metadata(default_world / f"{table}.parquet").num_rows


def test_regeneration_keeps_unrelated_files_and_replaces_only_its_own(tmp_path):
    raw = tmp_path / "raw"
    small = WorldSpec(accounts=20, csms=2, history_days=120)
    generate_world(small, raw, progress=False)
    (raw / "my_notes.parquet").write_bytes(b"mine")
    assert world_is_current(small, raw)  # a file beside the world does not make it stale
    generate_world(WorldSpec(accounts=20, csms=2, history_days=120, seed=8), raw, progress=False)
    assert (raw / "my_notes.parquet").read_bytes() == b"mine"
    assert foreign_files(raw) == ["my_notes.parquet"]


def test_a_generated_world_is_current_and_regenerated_only_when_stale(tmp_path):
    raw = tmp_path / "raw"
    small = WorldSpec(accounts=20, csms=2, history_days=120)
    generate_world(small, raw, progress=False)
    assert world_is_current(small, raw) and foreign_files(raw) == []
    pq.write_table(pa.table({"x": [1]}), raw / "accounts.parquet")  # edited by hand: now the user's
    assert foreign_files(raw) == ["accounts.parquet"]
    with pytest.raises(ForeignFilesError):
        generate_world(small, raw, progress=False)
