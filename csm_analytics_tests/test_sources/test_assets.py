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


def _with_platinum_tiers(raw, every=2):
    table = pq.read_table(raw / "accounts.parquet")
    tiers = ["Platinum" if i % every == 1 else t for i, t in enumerate(table.column("tier").to_pylist())]
    pq.write_table(table.set_column(table.schema.get_field_index("tier"), "tier", pa.array(tiers)), raw / "accounts.parquet")


def _count(warehouse, sql):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()[0][0]
    finally:
        con.close()


def test_a_broken_feed_blocks_downstream_and_keeps_the_last_good_table(tmp_path, default_world, warehouse):
    """Behaviour changed on purpose (issue 16): a blocked feed no longer replaces raw.<table>, and its step fails."""
    assert _materialize(default_world, warehouse).success
    raw = tmp_path / "raw"
    shutil.copytree(default_world, raw)
    _with_platinum_tiers(raw)
    result = _materialize(raw, warehouse, raise_on_error=False)
    assert not result.success
    check = next(c for c in result.get_asset_check_evaluations() if c.asset_key == AssetKey(["raw", "accounts"]))
    assert not check.passed and check.severity == AssetCheckSeverity.ERROR
    assert "raw.accounts keeps its last good load" in check.description
    materialized = {e.event_specific_data.materialization.asset_key for e in result.get_asset_materialization_events()}
    assert AssetKey(["raw", "accounts"]) not in materialized
    assert AssetKey(["raw", "activities"]) not in materialized  # blocked by the failed check
    # The last good load is intact, and every child row still has its parent.
    assert _count(warehouse, "SELECT count(*) FROM raw.accounts") == 220
    assert _count(warehouse, "SELECT count(*) FROM raw.accounts WHERE tier = 'Platinum'") == 0
    for child in ("contracts", "product_usage", "activities"):
        assert _count(warehouse, f"SELECT count(*) FROM raw.{child} WHERE account_id NOT IN "
                                 "(SELECT account_id FROM raw.accounts)") == 0, child
    # The quarantine says why the feed was blocked.
    assert _count(warehouse, "SELECT count(*) FROM raw.rejected_rows WHERE table_name = 'accounts'") == 110
    assert _count(warehouse, "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE '_staging%'") == 0


def test_a_header_only_required_table_blocks_with_a_message(tmp_path, default_world, warehouse):
    assert _materialize(default_world, warehouse).success
    raw = tmp_path / "raw"
    shutil.copytree(default_world, raw)
    (raw / "contracts.parquet").unlink()
    columns = pq.read_schema(default_world / "contracts.parquet").names
    (raw / "contracts.csv").write_text(",".join(columns) + "\n")
    result = _materialize(raw, warehouse, raise_on_error=False)
    assert not result.success
    check = next(c for c in result.get_asset_check_evaluations() if c.asset_key == AssetKey(["raw", "contracts"]))
    assert check.severity == AssetCheckSeverity.ERROR and "holds no data rows" in check.description
    expected = json.loads((default_world / MANIFEST).read_text())["rows"]["contracts"]
    assert _count(warehouse, "SELECT count(*) FROM raw.contracts") == expected


def test_child_rows_of_a_quarantined_parent_say_which_parent_and_why(tmp_path, default_world, warehouse):
    raw = tmp_path / "raw"
    shutil.copytree(default_world, raw)
    table = pq.read_table(raw / "accounts.parquet")
    tiers = table.column("tier").to_pylist()
    tiers[0] = "Platinum"
    pq.write_table(table.set_column(table.schema.get_field_index("tier"), "tier", pa.array(tiers)), raw / "accounts.parquet")
    account = table.column("account_id")[0].as_py()
    _materialize(raw, warehouse, raise_on_error=False)
    con = duckdb.connect(str(warehouse), read_only=True)
    reasons = con.execute("SELECT DISTINCT unnest(reasons) FROM raw.rejected_rows WHERE table_name = 'contracts'").fetchall()
    con.close()
    assert reasons == [(f"account_id {account} was quarantined in accounts: "
                        "tier: must be one of ['Strategic', 'Enterprise', 'Growth', 'Core']",)]
