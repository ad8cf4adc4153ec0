"""Shared fixtures: generated worlds (built once per session) and temporary warehouses."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from csm_analytics.world.spec import WorldSpec

# The daily partitions come from settings, else from the raw files (lib/partitions.py). The tests' worlds
# are the default spec's 730 days, so the suite sets that range before any asset module is imported.
os.environ.setdefault("CSM_HISTORY_START", WorldSpec().start.isoformat())
os.environ.setdefault("CSM_HISTORY_END", WorldSpec().as_of.isoformat())

from csm_analytics.health.assets import health_assets  # noqa: E402
from csm_analytics.sources.assets import source_assets  # noqa: E402
from csm_analytics.world.generator import generate_world  # noqa: E402
from csm_analytics.churn.assets import churn_assets  # noqa: E402
from csm_analytics_tests.fixtures import run_churn, run_health  # noqa: E402


RAM_DISK = Path("/dev/shm")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """Temporary files on the RAM disk when there is one, unless --basetemp says otherwise.

    Why: the suite writes hundreds of DuckDB files and Dagster instances, and SQLite (Dagster's run and event
    storage) syncs to disk on every event; on a RAM disk the same tests run about a fifth faster. xdist's
    workers inherit the controller's base directory, so only the controller picks it (and removes it after).
    """
    if config.option.basetemp is None and not hasattr(config, "workerinput") and os.access(RAM_DISK, os.W_OK):
        config.option.basetemp = str(RAM_DISK / f"csm-analytics-tests-{os.getpid()}")
        config._csm_ram_basetemp = config.option.basetemp


SHARED_BUILDS = {"churned": "default_warehouse", "scored": "default_warehouse", "large_world": "large_world"}


@pytest.hookimpl(hookwrapper=True)  # the marks are set before every other implementation runs, xdist's included
def pytest_collection_modifyitems(config, items):
    """Under `pytest -n N --dist loadgroup` (what `make test` runs), the tests that share an expensive session
    fixture run on one worker, so each fixture is built once per suite rather than once per worker.
    (xdist turns `xdist_group` marks into groups; it does so on pytest 8, hence pytest < 9 in pyproject.toml.)"""
    for item in items:
        group = next((g for name, g in SHARED_BUILDS.items() if name in getattr(item, "fixturenames", ())), None)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
    # The end-to-end tests first: most of their time is spent waiting on a daemon or a server, and started
    # early they overlap the quick tests instead of running alone at the end of the suite.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    yield


def pytest_unconfigure(config):
    ram_basetemp = getattr(config, "_csm_ram_basetemp", None)
    if ram_basetemp:
        shutil.rmtree(ram_basetemp, ignore_errors=True)


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


@pytest.fixture(scope="session")
def churned(scored, tmp_path_factory):
    """(result, warehouse, models folder) after the churn assets on the scored default world; read it, or copy it."""
    folder = tmp_path_factory.mktemp("churn")
    warehouse = folder / "warehouse.duckdb"
    shutil.copy(scored[1], warehouse)
    result = run_churn(warehouse, folder / "models", churn_assets)
    assert result.success
    return result, warehouse, folder / "models"
