"""Materializing the source assets into a temporary warehouse."""

from __future__ import annotations

import json
import shutil

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from dagster import AssetCheckSeverity, AssetKey, materialize
from dagster_duckdb import DuckDBResource

from csm_analytics.sources.assets import source_assets
from csm_analytics.sources.resources import RawDataResource
from csm_analytics.world.generator import MANIFEST


def _materialize(raw_dir, warehouse, **kwargs):
    return materialize(
        source_assets,
        resources={"duckdb": DuckDBResource(database=str(warehouse)), "raw_data": RawDataResource(raw_dir=str(raw_dir))},
        **kwargs,
    )


def test_sources_land_with_expected_row_counts(default_world, warehouse):
    result = _materialize(default_world, warehouse)
    assert result.success
    expected = json.loads((default_world / MANIFEST).read_text())["rows"]
    con = duckdb.connect(str(warehouse), read_only=True)
    for table, rows in expected.items():
        assert con.execute(f"SELECT count(*) FROM raw.{table}").fetchall()[0][0] == rows, table
    assert con.execute("SELECT count(*) FROM raw.rejected_rows").fetchall()[0][0] == 0
    checks = result.get_asset_check_evaluations()
    assert len(checks) == len(expected) and all(c.passed for c in checks)
    mat = result.asset_materializations_for_node("raw__accounts")[0]
    assert mat.metadata["dagster/row_count"].value == 220


def test_a_few_bad_rows_warn_and_flow_on(tmp_path, default_world, warehouse):
    raw = tmp_path / "raw"
    shutil.copytree(default_world, raw)
    table = pq.read_table(raw / "support_tickets.parquet")
    priority = table.column("priority").to_pylist()
    priority[0] = "blocker"
    pq.write_table(table.set_column(table.schema.get_field_index("priority"), "priority", pa.array(priority)),
                   raw / "support_tickets.parquet")
    result = _materialize(raw, warehouse)
    assert result.success
    check = next(c for c in result.get_asset_check_evaluations() if c.asset_key == AssetKey(["raw", "support_tickets"]))
    assert not check.passed and check.severity == AssetCheckSeverity.WARN
    assert check.metadata["rows_rejected"].value == 1


def test_a_broken_feed_blocks_downstream(tmp_path, default_world, warehouse):
    raw = tmp_path / "raw"
    shutil.copytree(default_world, raw)
    table = pq.read_table(raw / "accounts.parquet")
    tiers = ["Platinum" if i % 2 else t for i, t in enumerate(table.column("tier").to_pylist())]
    pq.write_table(table.set_column(table.schema.get_field_index("tier"), "tier", pa.array(tiers)), raw / "accounts.parquet")
    result = _materialize(raw, warehouse, raise_on_error=False)
    check = next(c for c in result.get_asset_check_evaluations() if c.asset_key == AssetKey(["raw", "accounts"]))
    assert not check.passed and check.severity == AssetCheckSeverity.ERROR
    materialized = {e.event_specific_data.materialization.asset_key for e in result.get_asset_materialization_events()}
    assert AssetKey(["raw", "accounts"]) in materialized
    assert AssetKey(["raw", "activities"]) not in materialized  # blocked by the failed check
