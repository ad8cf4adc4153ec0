"""Tiny hand-built warehouses for tests that assert hand-computed numbers."""

from __future__ import annotations

import duckdb
from dagster import DagsterInstance, materialize
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from dagster_duckdb import DuckDBResource

from csm_analytics.canonical.schemas import CANONICAL_TABLES
from csm_analytics.canonical.sql import sql_columns
from csm_analytics.churn.resources import ChurnSettingsResource
from csm_analytics.health.resources import HealthConfigResource
from csm_analytics.sources.resources import RawDataResource


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


FIRST, LAST = "2024-10-01", "2026-09-30"


def run_health(raw, warehouse, assets, start=FIRST, end=LAST, config_path=""):
    """Materialize `assets` over a partition range of the health history, in one run."""
    return materialize(
        assets, instance=DagsterInstance.ephemeral(),
        resources={"duckdb": DuckDBResource(database=str(warehouse)), "raw_data": RawDataResource(raw_dir=str(raw)),
                   "health_config": HealthConfigResource(path=str(config_path))},
        tags={ASSET_PARTITION_RANGE_START_TAG: start, ASSET_PARTITION_RANGE_END_TAG: end},
    )


def run_churn(warehouse, models, assets, start=FIRST, end=LAST, config_path=""):
    """Materialize churn `assets` over a partition range of the history, in one run, with models kept in `models`."""
    return materialize(
        assets, instance=DagsterInstance.ephemeral(),
        resources={"duckdb": DuckDBResource(database=str(warehouse)), "health_config": HealthConfigResource(),
                   "churn_settings": ChurnSettingsResource(model_dir=str(models), config_path=str(config_path))},
        tags={ASSET_PARTITION_RANGE_START_TAG: start, ASSET_PARTITION_RANGE_END_TAG: end},
    )


def assert_same_snapshots(after: list[tuple], before: list[tuple]) -> None:
    """Rows (keys..., churn_probability) equal up to one storage rounding step of the probability.

    Probabilities are stored to 5 decimals. DuckDB's parallel aggregates and batched predictions can change the
    last bit of a feature or a probability between two runs, which flips the rounding of the odd row (one account
    of the default world when a day is re-run alone); any real difference is far larger than 1e-5."""
    assert len(after) == len(before)
    for new, old in zip(after, before):
        assert [v for v in new if not isinstance(v, float)] == [v for v in old if not isinstance(v, float)]
        assert all(abs(x - y) <= 1.0001e-5 for x, y in zip(new, old) if isinstance(x, float))
