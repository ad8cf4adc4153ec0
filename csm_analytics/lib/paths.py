"""Where the embedded deployment keeps its files. Everything lives under one data directory."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAGSTER_YAML = """\
# Written by csm-analytics; edit freely, it is only rewritten when missing.
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    # DuckDB allows a single writer process: one run at a time.
    max_concurrent_runs: 1
"""


def data_dir() -> Path:
    """`CSM_DATA_DIR`, or `data/` at the project root."""
    return Path(os.environ.get("CSM_DATA_DIR", PROJECT_ROOT / "data")).resolve()


def raw_dir() -> Path:
    return Path(os.environ.get("CSM_RAW_DIR", data_dir() / "raw"))


def warehouse_path() -> Path:
    return Path(os.environ.get("CSM_WAREHOUSE", data_dir() / "warehouse.duckdb"))


def outbox_dir() -> Path:
    return data_dir() / "outbox"


def workspace_actions_path() -> Path:
    """`CSM_WORKSPACE_ACTIONS`, or data/workspace/actions.sqlite: the workspace side store (written by the app,
    ingested by the serving domain, read by the alert sensor for acknowledgments)."""
    return Path(os.environ.get("CSM_WORKSPACE_ACTIONS") or data_dir() / "workspace" / "actions.sqlite")


def ensure_dagster_home() -> Path:
    """Point DAGSTER_HOME at data/dagster_home (unless set) and write its dagster.yaml once.

    In prod (CSM_ENV=prod) nothing is written: the instance is the Postgres one of deploy/dagster.yaml,
    and a missing DAGSTER_HOME or dagster.yaml is an error rather than a silent SQLite instance.
    """
    if (os.environ.get("CSM_ENV") or "").strip().lower() == "prod":
        home = os.environ.get("DAGSTER_HOME")
        if not home or not (Path(home) / "dagster.yaml").exists():
            raise RuntimeError("CSM_ENV=prod needs DAGSTER_HOME set to a folder holding deploy/dagster.yaml "
                               "(the Postgres-backed instance); see deploy/README.md.")
        return Path(home)
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(data_dir() / "dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return home
