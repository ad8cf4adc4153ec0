"""CSM_ENV picks the resources in one place; the asset definitions are the same in every environment."""

from __future__ import annotations

import duckdb
import pytest
from dagster import DagsterInstance, Definitions, materialize

from csm_analytics import resources as environments
from csm_analytics.health.assets import health_weights
from csm_analytics.lib import paths
from csm_analytics.resources import EnvironmentConfigError, current_env, resources_for

ENV_VARS = ("CSM_ENV", "CSM_DATA_DIR", "CSM_WAREHOUSE", "CSM_RAW_DIR", "SLACK_BOT_TOKEN", "SLACK_BASE_URL",
            "DAGSTER_HOME", "MOTHERDUCK_TOKEN")


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A clean environment with the data folder in tmp; returns monkeypatch to set more."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CSM_DATA_DIR", str(tmp_path / "data"))
    return monkeypatch


def _prod(env, tmp_path, warehouse: str):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env.setenv("CSM_ENV", "prod")
    env.setenv("CSM_WAREHOUSE", warehouse)
    env.setenv("SLACK_BOT_TOKEN", "xoxb-prod-secret")
    env.setenv("DAGSTER_HOME", str(home))


def test_local_is_the_default_with_the_file_outbox(env, tmp_path):
    assert current_env() == "local"
    resources = resources_for()
    assert resources["duckdb"].database == str(tmp_path / "data" / "warehouse.duckdb")
    assert resources["duckdb"].connection_config["memory_limit"] == "3GB"
    assert not resources["slack"].online
    assert resources["slack"].outbox_dir == str(tmp_path / "data" / "outbox")
    assert resources["raw_data"].raw_dir == str(tmp_path / "data" / "raw")


def test_local_posts_to_slack_when_a_token_is_set(env):
    env.setenv("SLACK_BOT_TOKEN", "xoxb-local")
    assert resources_for()["slack"].online


def test_ci_never_posts_to_slack_even_with_a_token(env):
    env.setenv("CSM_ENV", "CI")  # case does not matter
    env.setenv("SLACK_BOT_TOKEN", "xoxb-leaked-into-ci")
    assert current_env() == "ci"
    assert not resources_for()["slack"].online


def test_an_unknown_environment_says_which_ones_exist(env):
    env.setenv("CSM_ENV", "staging")
    with pytest.raises(EnvironmentConfigError, match="not one of local, ci, prod"):
        current_env()


def test_prod_names_every_missing_setting(env):
    env.setenv("CSM_ENV", "prod")
    with pytest.raises(EnvironmentConfigError) as error:
        resources_for()
    assert "CSM_WAREHOUSE, SLACK_BOT_TOKEN, DAGSTER_HOME" in str(error.value)
    assert "deploy/README.md" in str(error.value)


def test_prod_needs_the_dagster_yaml_in_dagster_home(env, tmp_path):
    env.setenv("CSM_ENV", "prod")
    env.setenv("CSM_WAREHOUSE", str(tmp_path / "wh.duckdb"))
    env.setenv("SLACK_BOT_TOKEN", "xoxb")
    env.setenv("DAGSTER_HOME", str(tmp_path))
    with pytest.raises(EnvironmentConfigError, match="DAGSTER_HOME/dagster.yaml"):
        resources_for()
    with pytest.raises(RuntimeError, match="deploy/dagster.yaml"):
        paths.ensure_dagster_home()  # prod never falls back to a local SQLite instance
    assert not (tmp_path / "dagster.yaml").exists()


def test_prod_motherduck_warehouse_and_secrets_only_by_env_var_name(env, tmp_path):
    _prod(env, tmp_path, "md:csm_prod")
    resources = resources_for()
    assert environments.is_motherduck(resources["duckdb"].database)
    assert resources["duckdb"].database == "md:csm_prod"
    assert "memory_limit" not in resources["duckdb"].connection_config
    slack = resources["slack"]
    assert slack.online
    # the token is an EnvVar reference, resolved by Dagster when the resource is used; never a literal in config
    assert "xoxb-prod-secret" not in repr(slack) and "xoxb-prod-secret" not in str(slack.__dict__)


def test_prod_duckdb_on_a_volume_materializes_with_the_same_asset(env, tmp_path):
    volume = tmp_path / "volume" / "warehouse.duckdb"
    volume.parent.mkdir()
    _prod(env, tmp_path, str(volume))
    resources = resources_for()
    result = materialize([health_weights], resources=resources, instance=DagsterInstance.ephemeral())
    assert result.success
    with duckdb.connect(str(volume), read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT tier) FROM core.health_weights").fetchall()[0][0] == 4


def test_every_environment_binds_every_resource_the_same_assets_need(env, tmp_path):
    from csm_analytics import definitions

    specs = {}
    for name in ("local", "ci", "prod"):
        if name == "prod":
            (tmp_path / name).mkdir()
            _prod(env, tmp_path / name, str(tmp_path / "prod.duckdb"))
        else:
            env.setenv("CSM_ENV", name)
        defs = definitions.build_definitions()
        Definitions.validate_loadable(defs)
        specs[name] = sorted(spec.key.to_user_string() for spec in defs.resolve_all_asset_specs())
        assert set(defs.resources) == {"duckdb", "raw_data", "health_config", "churn_settings", "alert_outbox", "slack",
                                        "expansion_config", "briefs_config", "workspace_stores"}
    assert specs["local"] == specs["ci"] == specs["prod"]
