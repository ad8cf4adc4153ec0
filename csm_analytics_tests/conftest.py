"""Shared fixtures: generated worlds (built once per session) and temporary warehouses."""

from __future__ import annotations

from pathlib import Path

import pytest

from csm_analytics.health.assets import health_assets
from csm_analytics.sources.assets import source_assets
from csm_analytics.world.generator import generate_world
from csm_analytics_tests.fixtures import run_health
from csm_analytics.world.spec import WorldSpec


@pytest.fixture(scope="session")
def default_world(tmp_path_factory) -> Path:
    """The default demo world (220 accounts, 8 CSMs, 730 days)."""
    out = tmp_path_factory.mktemp("default_world") / "raw"
    generate_world(WorldSpec(), out, progress=False)
    return out


@pytest.fixture(scope="session")
def large_world(tmp_path_factory) -> Path:
    """5,000 accounts: enough renewals for base rates and AUCs to be measured tightly."""
    out = tmp_path_factory.mktemp("large_world") / "raw"
    generate_world(WorldSpec(accounts=5_000), out, progress=False)
    return out


@pytest.fixture
def warehouse(tmp_path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture(scope="session")
def scored(default_world, tmp_path_factory):
    """(materialize result, warehouse path) after sources and the full health history on the default world."""
    warehouse = tmp_path_factory.mktemp("health") / "warehouse.duckdb"
    result = run_health(default_world, warehouse, [*source_assets, *health_assets])
    assert result.success
    return result, warehouse
