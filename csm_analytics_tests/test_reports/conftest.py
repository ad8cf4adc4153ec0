"""One fully scored default world (sources, health, churn, alerts, portfolio, expansion) for the report tests."""

from __future__ import annotations

import shutil

import pytest
from dagster import DagsterInstance, materialize

from csm_analytics.definitions import build_definitions
from csm_analytics.reports.qbr.assets import qbr_action_items
from csm_analytics.runner import materialize_everything


@pytest.fixture(scope="package")
def monkeypatch_package():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture(scope="package")
def reporting(churned, default_world, tmp_path_factory, monkeypatch_package):
    """(instance, warehouse, data dir, definitions) with every mart upstream of the reports materialized.

    Starts from the session's churned warehouse (sources, health and churn done once for the whole suite)."""
    folder = tmp_path_factory.mktemp("reports")
    warehouse = folder / "warehouse.duckdb"
    shutil.copy(churned[1], warehouse)
    for name, value in {"CSM_ENV": "ci", "CSM_DATA_DIR": str(folder / "data"), "CSM_WAREHOUSE": str(warehouse),
                        "CSM_RAW_DIR": str(default_world)}.items():
        monkeypatch_package.setenv(name, value)
    definitions = build_definitions()
    instance = DagsterInstance.ephemeral()
    assert materialize_everything(instance, groups=["alerts", "portfolio", "expansion"],
                                  definitions=definitions)
    assert materialize([qbr_action_items], instance=instance, resources=dict(definitions.resources)).success
    return instance, warehouse, folder / "data", definitions
