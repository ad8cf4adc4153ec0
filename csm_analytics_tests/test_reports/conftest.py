"""One fully scored default world (sources, health, churn, portfolio, expansion) shared by the report tests."""

from __future__ import annotations

import shutil

import pytest
from dagster import DagsterInstance, materialize
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from dagster_duckdb import DuckDBResource

from csm_analytics.churn.assets import ChurnSettingsResource, churn_assets
from csm_analytics.expansion.definitions import build_defs as expansion_defs
from csm_analytics.health.assets import HealthConfigResource
from csm_analytics.portfolio.assets import portfolio_assets
from csm_analytics_tests.fixtures import FIRST, LAST


@pytest.fixture(scope="package")
def reporting(scored, tmp_path_factory, monkeypatch_package):
    """(instance, warehouse, data dir) with every upstream mart of the reports materialized."""
    folder = tmp_path_factory.mktemp("reports")
    warehouse = folder / "warehouse.duckdb"
    shutil.copy(scored[1], warehouse)
    monkeypatch_package.setenv("CSM_DATA_DIR", str(folder / "data"))
    instance = DagsterInstance.ephemeral()
    resources = {"duckdb": DuckDBResource(database=str(warehouse)), "health_config": HealthConfigResource(),
                 "churn_settings": ChurnSettingsResource(model_dir=str(folder / "models"))}
    result = materialize(churn_assets, instance=instance, resources=resources,
                         tags={ASSET_PARTITION_RANGE_START_TAG: FIRST, ASSET_PARTITION_RANGE_END_TAG: LAST})
    assert result.success
    expansion = expansion_defs()
    resources.update(expansion.resources)
    assert materialize([*portfolio_assets, *expansion.assets], instance=instance, resources=resources).success
    return instance, warehouse, folder / "data", resources


@pytest.fixture(scope="package")
def monkeypatch_package():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()
