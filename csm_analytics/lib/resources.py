"""Resources shared by the domains, as ConfigurableResources chosen in one place."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import ConfigurableResource


class RawDataResource(ConfigurableResource):
    """Where the canonical raw files live, and how many bad rows a feed may carry before it blocks."""

    raw_dir: str
    max_rejected_share: float = 0.01

    @property
    def path(self) -> Path:
        return Path(self.raw_dir)


def duckdb_settings() -> dict:
    """Keep DuckDB inside a memory budget (it spills to disk beyond it); CSM_DUCKDB_MEMORY_LIMIT overrides."""
    return {"memory_limit": os.environ.get("CSM_DUCKDB_MEMORY_LIMIT", "3GB"), "preserve_insertion_order": False}


def default_resources() -> dict:
    """Every resource of the environment CSM_ENV selects (lib/environments.py; default `local`)."""
    from csm_analytics.lib.environments import resources_for

    return resources_for()
