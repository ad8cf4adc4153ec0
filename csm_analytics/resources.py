"""Which resources a run gets, chosen by CSM_ENV in this one place; asset code never changes.

| CSM_ENV | warehouse | Slack | Dagster instance |
|---|---|---|---|
| `local` (default) | DuckDB file `data/warehouse.duckdb` (or `CSM_WAREHOUSE`) | `SLACK_BOT_TOKEN` if set, else the file outbox | `data/dagster_home` (SQLite), written once |
| `ci` | DuckDB file under `CSM_DATA_DIR` | always the file outbox: CI never posts, even with a token in its env | whatever `DAGSTER_HOME` the test gives |
| `prod` | `CSM_WAREHOUSE` (required): a DuckDB file on a persistent volume, or `md:<database>` for MotherDuck (token in `MOTHERDUCK_TOKEN`) | Slack, `SLACK_BOT_TOKEN` required | `DAGSTER_HOME/dagster.yaml` required, Postgres (deploy/dagster.yaml) |

Secrets (Slack and MotherDuck tokens, the Postgres password) are read only from environment
variables, by Dagster's `EnvVar` or by DuckDB itself, and never written to config or logs.
"""

import os
from pathlib import Path

from dagster import EnvVar
from dagster_duckdb import DuckDBResource

from csm_analytics.alerts.resources import AlertOutboxResource
from csm_analytics.alerts.slack import SlackMessenger, default_messenger
from csm_analytics.churn.resources import ChurnSettingsResource
from csm_analytics.expansion.resources import ExpansionConfigResource
from csm_analytics.health.resources import HealthConfigResource
from csm_analytics.lib import paths
from csm_analytics.lib.warehouse import duckdb_settings
from csm_analytics.reports.briefs.resources import BriefsConfigResource
from csm_analytics.sources.resources import RawDataResource
from csm_analytics.serving.resources import WorkspaceStoresResource

ENVIRONMENTS = ("local", "ci", "prod")
PROD_REQUIRED = ("CSM_WAREHOUSE", "SLACK_BOT_TOKEN", "DAGSTER_HOME")


class EnvironmentConfigError(RuntimeError):
    """CSM_ENV names an unknown environment, or the chosen one lacks a required variable."""


def current_env() -> str:
    """`CSM_ENV`, lower-cased; `local` when unset or empty."""
    env = (os.environ.get("CSM_ENV") or "local").strip().lower()
    if env not in ENVIRONMENTS:
        raise EnvironmentConfigError(f"CSM_ENV={env!r} is not one of {', '.join(ENVIRONMENTS)}: "
                                     "unset it for a laptop, or set CSM_ENV=ci / CSM_ENV=prod.")
    return env


def is_motherduck(warehouse: str) -> bool:
    return warehouse.startswith(("md:", "motherduck:"))


def missing_prod_settings() -> list[str]:
    """The required prod variables that are unset, and a DAGSTER_HOME without its dagster.yaml."""
    missing = [name for name in PROD_REQUIRED if not os.environ.get(name)]
    home = os.environ.get("DAGSTER_HOME")
    if home and not (Path(home) / "dagster.yaml").exists():
        missing.append(f"DAGSTER_HOME/dagster.yaml (copy deploy/dagster.yaml to {home})")
    return missing


def _warehouse(env: str) -> DuckDBResource:
    database = os.environ.get("CSM_WAREHOUSE") if env == "prod" else str(paths.warehouse_path())
    settings = duckdb_settings()
    if is_motherduck(database):
        settings.pop("memory_limit")  # a local-compute setting; MotherDuck sizes its own
    return DuckDBResource(database=database, connection_config=settings)


def _slack(env: str) -> SlackMessenger:
    outbox = str(paths.outbox_dir())
    if env == "ci":
        return SlackMessenger(token=None, outbox_dir=outbox)
    if env == "prod":
        return SlackMessenger(token=EnvVar("SLACK_BOT_TOKEN"), base_url=os.environ.get("SLACK_BASE_URL") or None,
                              outbox_dir=outbox)
    return default_messenger(paths.outbox_dir())


def resources_for(env: str | None = None) -> dict:
    """Every resource key the assets, sensors and schedules use, bound for `env` (default: CSM_ENV)."""
    env = env or current_env()
    if env not in ENVIRONMENTS:
        raise EnvironmentConfigError(f"unknown environment {env!r}; expected one of {', '.join(ENVIRONMENTS)}")
    if env == "prod" and (missing := missing_prod_settings()):
        raise EnvironmentConfigError(f"CSM_ENV=prod needs {', '.join(missing)}; see deploy/README.md.")
    return {
        "duckdb": _warehouse(env),
        "raw_data": RawDataResource(raw_dir=str(paths.raw_dir())),
        "health_config": HealthConfigResource(),
        "churn_settings": ChurnSettingsResource(),
        "alert_outbox": AlertOutboxResource(),
        "slack": _slack(env),
        "expansion_config": ExpansionConfigResource(),
        "briefs_config": BriefsConfigResource(),
        "workspace_stores": WorkspaceStoresResource(),  # serving snapshot + side store; paths from CSM_* or data/
    }
