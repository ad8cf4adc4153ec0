"""The code location loads, and its asset keys name real warehouse schemas."""

from __future__ import annotations

from dagster import Definitions

from csm_analytics.definitions import MATERIALIZE_JOB, defs

SCHEMAS = {"raw", "core", "ml", "marts", "alerts", "reports",
           "serving"}  # serving.snapshot: the serving store the workspace reads (its own DuckDB file)


def test_definitions_load_and_validate():
    assert isinstance(defs, Definitions)
    Definitions.validate_loadable(defs)
    assert defs.resolve_job_def(MATERIALIZE_JOB) is not None


def test_every_asset_key_is_schema_dot_table():
    keys = [spec.key for spec in defs.resolve_all_asset_specs()]
    assert len(keys) >= 14
    for key in keys:
        assert len(key.path) == 2 and key.path[0] in SCHEMAS, key


def test_every_asset_has_a_group_and_description():
    for spec in defs.resolve_all_asset_specs():
        assert spec.group_name and spec.group_name != "default", spec.key
        assert spec.description, spec.key


def test_code_location_loads_like_the_webserver_loads_it(tmp_path):
    """`dagster dev` loads workspace.yaml; a module with two Definitions objects fails only there."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    dagster = Path(sys.executable).parent / "dagster"
    env = dict(os.environ, DAGSTER_HOME=str(tmp_path))  # `make test` on a fresh clone has no data/dagster_home yet
    out = subprocess.run([str(dagster), "definitions", "validate", "-w", str(root / "workspace.yaml")],
                         capture_output=True, text=True, cwd=root, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
