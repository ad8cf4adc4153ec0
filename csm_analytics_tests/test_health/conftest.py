"""A default world scored once per session, shared by the health tests."""

from __future__ import annotations

import pytest

from csm_analytics.health.assets import health_assets
from csm_analytics.sources.assets import source_assets
from csm_analytics_tests.fixtures import run_health

@pytest.fixture(scope="session")
def scored(default_world, tmp_path_factory):
    """(materialize result, warehouse path) after sources and the full health history on the default world."""
    warehouse = tmp_path_factory.mktemp("health") / "warehouse.duckdb"
    result = run_health(default_world, warehouse, [*source_assets, *health_assets])
    assert result.success
    return result, warehouse
