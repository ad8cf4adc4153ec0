"""Where the serving snapshot and the workspace users file live (beside the data). The workspace side store's
path is `lib.paths.workspace_actions_path`: the alerts domain reads that store too."""

from __future__ import annotations

import os
from pathlib import Path

from csm_analytics.lib import paths


def serving_path() -> Path:
    """`CSM_SERVING_DB`, or data/serving/serving.duckdb."""
    return Path(os.environ.get("CSM_SERVING_DB") or paths.data_dir() / "serving" / "serving.duckdb")


def users_path() -> Path:
    """`CSM_WORKSPACE_USERS`, or data/workspace/users.toml."""
    return Path(os.environ.get("CSM_WORKSPACE_USERS") or paths.data_dir() / "workspace" / "users.toml")
