"""Runs launched the way the Dagster UI launches them: GraphQL against the code location of workspace.yaml.

The webserver turns "Launch run" (Launchpad) and "Materialize" into the `launchPipelineExecution` mutation;
here that mutation runs against a workspace whose code location is loaded in its own gRPC server, and the
run executes in a subprocess started by the instance's run launcher, exactly as under `dagster dev`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus
from dagster._core.test_utils import poll_for_finished_run

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 9, 27)
HISTORY_DAYS = 120  # the shortest history the generator accepts keeps the launched runs quick
HEALTH = ["core/health_weights", "core/account_health_components", "core/account_health_history",
          "core/account_health_score"]


def _sources_and_health() -> list[str]:
    """Every raw table (they check each other's keys) and the health assets: the partitioned steps of issue 17."""
    from csm_analytics.definitions import defs

    return sorted(spec.key.to_user_string() for spec in defs.resolve_all_asset_specs()
                  if spec.group_name == "sources") + HEALTH


@pytest.fixture
def location(tmp_path, monkeypatch):
    """A small world, its settings in the environment the code server inherits, and a temporary instance."""
    from csm_analytics.world.generator import generate_world
    from csm_analytics.world.spec import WorldSpec

    spec = WorldSpec(accounts=40, csms=3, as_of=AS_OF, history_days=HISTORY_DAYS)
    generate_world(spec, tmp_path / "raw", progress=False)
    for name, value in {"CSM_ENV": "ci", "CSM_DATA_DIR": str(tmp_path), "CSM_RAW_DIR": str(tmp_path / "raw"),
                        "CSM_HISTORY_START": spec.start.isoformat(), "CSM_HISTORY_END": AS_OF.isoformat(),
                        "DAGSTER_HOME": str(tmp_path / "home")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CSM_WAREHOUSE", raising=False)
    (tmp_path / "home").mkdir()
    # launch at once, as the webserver does when no daemon dequeues runs (make run's instance queues them)
    (tmp_path / "home" / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\nrun_coordinator:\n  module: dagster._core.run_coordinator\n"
        "  class: DefaultRunCoordinator\n")
    with DagsterInstance.get() as instance:
        yield instance, tmp_path, spec


def _launch(context, job: str, assets: list[str], tags: dict | None = None) -> str:
    from dagster_graphql.client.query import LAUNCH_PIPELINE_EXECUTION_MUTATION
    from dagster_graphql.test.utils import execute_dagster_graphql, infer_job_selector

    selector = infer_job_selector(context, job, asset_selection=[{"path": a.split("/")} for a in assets],
                                  location_name="csm_analytics")
    params = {"selector": selector,
              "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}}
    result = execute_dagster_graphql(context, LAUNCH_PIPELINE_EXECUTION_MUTATION, {"executionParams": params})
    launched = result.data["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def _failures(instance: DagsterInstance, run_id: str) -> list[str]:
    return [f"{e.step_key}: {e.dagster_event.step_failure_data.error.message[:300]}"
            for e in instance.all_logs(run_id) if e.dagster_event and e.dagster_event.is_step_failure]


@pytest.mark.slow
def test_launchpad_run_without_a_partition_and_a_partition_range_run_both_succeed(location):
    """Issue 17: "Launch run" on materialize_everything without a partition failed with "Cannot access
    partition_key for a non-partitioned run" (in core__account_health_history, before its code ran); the job
    now carries the full-history range tags, so such a run covers every day and Dagster records each day as
    materialized. A run over a range of days (what a backfill with the single-run policy launches) rewrites
    only that range."""
    from dagster_graphql.test.utils import define_out_of_process_context

    instance, data, spec = location
    components = AssetKey(["core", "account_health_components"])
    with define_out_of_process_context(str(ROOT / "workspace.yaml"), None, instance) as context:
        assert context.get_code_location("csm_analytics") is not None  # workspace.yaml names the location

        run_id = _launch(context, "materialize_everything", _sources_and_health())
        run = poll_for_finished_run(instance, run_id, timeout=600)
        assert run.status == DagsterRunStatus.SUCCESS, _failures(instance, run_id)
        assert instance.get_materialized_partitions(components) == {
            (spec.start + dt.timedelta(days=i)).isoformat() for i in range(HISTORY_DAYS)}
        with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
            first, last = con.execute("SELECT min(as_of_date), max(as_of_date) FROM core.account_health_history").fetchone()
            before = con.execute("SELECT count(*) FROM core.account_health_history").fetchone()[0]
        assert (first, last) == (spec.start, AS_OF)

        last_week = {"dagster/asset_partition_range_start": (AS_OF - dt.timedelta(days=6)).isoformat(),
                     "dagster/asset_partition_range_end": AS_OF.isoformat()}
        run_id = _launch(context, "materialize_everything", HEALTH, last_week)
        run = poll_for_finished_run(instance, run_id, timeout=600)
        assert run.status == DagsterRunStatus.SUCCESS, _failures(instance, run_id)
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        after = con.execute("SELECT count(*) FROM core.account_health_history").fetchone()[0]
    assert after == before  # the range was replaced, the other days kept
