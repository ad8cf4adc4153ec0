"""Where the serving snapshot, the workspace side store and the workspace users file live (beside the data)."""

from __future__ import annotations

import os
from pathlib import Path

from csm_analytics.lib import paths


def serving_path() -> Path:
    """`CSM_SERVING_DB`, or data/serving/serving.duckdb."""
    return Path(os.environ.get("CSM_SERVING_DB") or paths.data_dir() / "serving" / "serving.duckdb")


def actions_path() -> Path:
    """`CSM_WORKSPACE_ACTIONS`, or data/workspace/actions.sqlite."""
    return Path(os.environ.get("CSM_WORKSPACE_ACTIONS") or paths.data_dir() / "workspace" / "actions.sqlite")


def users_path() -> Path:
    """`CSM_WORKSPACE_USERS`, or data/workspace/users.toml."""
    return Path(os.environ.get("CSM_WORKSPACE_USERS") or paths.data_dir() / "workspace" / "users.toml")
