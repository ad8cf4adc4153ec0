"""Backfills launched the way the Dagster UI launches them, run to the end by a real `dagster-daemon`.

"Materialize all" on the lineage page, over assets with different partitions (daily history, monthly
report, per-account QBR packs, unpartitioned tables), does not start a run: the UI opens its partitions
dialog and "Launch backfill" sends `launchPartitionBackfill` with every asset and `allPartitions: true`
(ui-core LaunchAssetExecutionButton.tsx / LaunchAssetChoosePartitionsDialog.tsx, Dagster 1.13). A
backfill of a range of days from the dialog of the daily assets sends the chosen partition names. The
daemon's backfill loop then requests the runs, and its run queue starts them one at a time, as under
`make run` (QueuedRunCoordinator, `max_concurrent_runs: 1`, the instance `csm-analytics` writes).

Kept short: a small world (60 accounts, 450 days: the churn model needs resolved 180-day labels) whose
daily partitions cover only its last 15 days (CSM_HISTORY_START; the model still trains on the whole raw
history, CSM_TRAINING_START). The daily assets are single-run backfills, so the number of days changes a
run's work, not the number of runs. The daemon is Dagster's own, started as `dagster-daemon run` starts it,
with one change: its backfill loop pauses 2 s between iterations instead of 30 s.
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.execution.backfill import BulkActionStatus

from csm_analytics.lib.paths import DAGSTER_YAML
from csm_analytics.lib.processes import stop_process_group

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 9, 27)
WORLD_DAYS = 450
HISTORY_DAYS = 15
LAST_WEEK = [(AS_OF - dt.timedelta(days=i)).isoformat() for i in range(6, -1, -1)]
FROM_UI = [{"key": "dagster/from_ui", "value": "true"}]  # what every launch from the UI adds

ASSET_NODES = """
query { assetNodes {
  assetKey { path } isExecutable isObservable jobNames
  dependencyKeys { path }
  partitionDefinition { description type name dimensionTypes { name dynamicPartitionsDefinitionName } }
} }"""


@pytest.fixture
def location(tmp_path, monkeypatch):
    """A small world, its settings in the environment the daemon and code servers inherit, and the instance
    `make run` uses (QueuedRunCoordinator, one run at a time). The executive report's month is the last one
    of the short history (it needs a year of history before its first month by default)."""
    from csm_analytics.world.generator import generate_world
    from csm_analytics.world.spec import WorldSpec

    # seed 8: with the default seed this small world has one CSM assignment whose valid_to precedes its valid_from
    # (world/tables.py dates an owner change before the account's first day), which the intake rightly quarantines
    # (1 of 61 rows, over the 1 % limit, so raw.csm_assignments is not loaded)
    spec = WorldSpec(accounts=60, csms=3, as_of=AS_OF, history_days=WORLD_DAYS, seed=8)
    generate_world(spec, tmp_path / "raw", progress=False)
    first = AS_OF - dt.timedelta(days=HISTORY_DAYS - 1)
    for name, value in {"CSM_ENV": "ci", "CSM_DATA_DIR": str(tmp_path), "CSM_RAW_DIR": str(tmp_path / "raw"),
                        "CSM_HISTORY_START": first.isoformat(), "CSM_HISTORY_END": AS_OF.isoformat(),
                        "CSM_TRAINING_START": spec.start.isoformat(),
                        "CSM_REPORT_START": AS_OF.replace(day=1).isoformat(),
                        # the automation stays on, as under make run; one QBR pack after its refresh, not 50
                        "CSM_QBR_PACKS_PER_REFRESH": "1",
                        "DAGSTER_HOME": str(tmp_path / "home")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CSM_WAREHOUSE", raising=False)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "dagster.yaml").write_text(DAGSTER_YAML)
    with DagsterInstance.get() as instance:
        yield instance, tmp_path, first


# bin/dagster-daemon, with the pause of the backfill loop (dagster._daemon.backfill reads it each loop) cut to 2 s
DAEMON = """import sys
import dagster._daemon.controller as controller
controller.DEFAULT_DAEMON_INTERVAL_SECONDS = 2
from dagster._daemon.cli import main
sys.argv[0] = "dagster-daemon"
sys.exit(main())
"""


@contextmanager
def running_daemon(log: Path):
    """`dagster-daemon run` on workspace.yaml, in its own process group, stopped with it at the end."""
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-c", DAEMON, "run", "-w", "workspace.yaml"], cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        stop_process_group(proc, signal.SIGTERM, timeout=60)


def _same_partitions(a: dict, b: dict) -> bool:
    """ui-core partitionDefinitionsEqual: same description and dimension types."""
    return a["description"] == b["description"] and a["dimensionTypes"] == b["dimensionTypes"]


def _key(node: dict) -> str:
    return "/".join(node["assetKey"]["path"])


def materialize_all_params(context) -> dict:
    """The `launchPartitionBackfill` parameters of "Materialize all" on the global lineage page, derived from
    the asset nodes exactly as ui-core's stateForLaunchingAssets does (asserting the branch it takes)."""
    from dagster_graphql.test.utils import execute_dagster_graphql

    nodes = [n for n in execute_dagster_graphql(context, ASSET_NODES).data["assetNodes"]
             if n["isExecutable"] and not n["isObservable"]]
    partitioned = [n["partitionDefinition"] for n in nodes if n["partitionDefinition"]]
    assert partitioned and not all(_same_partitions(p, partitioned[0]) for p in partitioned)  # mixed partitions
    selected = {_key(n) for n in nodes}
    roots = [n for n in nodes if not any("/".join(d["path"]) in selected for d in n["dependencyKeys"])]
    assert not any(r["partitionDefinition"] for r in roots)  # no partitioned root: the "pureAll" target
    return {"tags": FROM_UI, "assetSelection": [n["assetKey"] for n in nodes], "allPartitions": True}


def daily_range_params(context, partition_names: list[str]) -> dict:
    """"Materialize…" on every daily asset, the range chosen in the partitions dialog, launched as a backfill."""
    from dagster_graphql.test.utils import execute_dagster_graphql

    from csm_analytics.health.assets import HISTORY_KEY

    nodes = [n for n in execute_dagster_graphql(context, ASSET_NODES).data["assetNodes"]
             if n["isExecutable"] and not n["isObservable"]]
    daily = next(n["partitionDefinition"] for n in nodes if n["assetKey"]["path"] == HISTORY_KEY.path)
    assets = [n for n in nodes if n["partitionDefinition"] and _same_partitions(n["partitionDefinition"], daily)]
    common = [job for job in assets[0]["jobNames"] if all(job in a["jobNames"] for a in assets)]
    params = {"tags": FROM_UI, "assetSelection": [a["assetKey"] for a in assets], "partitionNames": partition_names,
              "fromFailure": False}
    if not common[0].startswith("__ASSET_JOB"):  # a user job: the UI names its partition set
        params["selector"] = {"partitionSetName": f"{common[0]}_partition_set",
                              "repositorySelector": {"repositoryLocationName": "csm_analytics",
                                                     "repositoryName": "__repository__"}}
    return params


def launch_backfill(context, params: dict) -> str:
    from dagster_graphql.client.query import LAUNCH_PARTITION_BACKFILL_MUTATION
    from dagster_graphql.test.utils import execute_dagster_graphql

    result = execute_dagster_graphql(context, LAUNCH_PARTITION_BACKFILL_MUTATION, {"backfillParams": params})
    assert result.errors is None, result.errors
    launched = result.data["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    return launched["backfillId"]


def wait_for_backfill(instance: DagsterInstance, backfill_id: str, daemon, log: Path, timeout: float = 900):
    """The backfill once the daemon has finished it (every run it requested ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert daemon.poll() is None, log.read_text()[-3000:]
        backfill = instance.get_backfill(backfill_id)
        if backfill.status not in (BulkActionStatus.REQUESTED, BulkActionStatus.CANCELING):
            return backfill
        time.sleep(2)
    raise AssertionError(f"backfill {backfill_id} still {instance.get_backfill(backfill_id).status} after "
                         f"{timeout:.0f} s; daemon log tail:\n{log.read_text()[-3000:]}")


def _failures(instance: DagsterInstance, backfill_id: str) -> list[str]:
    runs = instance.get_runs(RunsFilter(tags={"dagster/backfill": backfill_id}))
    return [f"{run.job_name} {run.status}: {e.step_key}: {e.dagster_event.step_failure_data.error.message[:300]}"
            for run in runs if run.status != DagsterRunStatus.SUCCESS for e in instance.all_logs(run.run_id)
            if e.dagster_event and e.dagster_event.is_step_failure] or [f"{r.run_id} {r.status}" for r in runs]


@pytest.mark.slow
def test_materialize_all_and_a_backfill_of_daily_partitions_launched_as_the_ui_does_succeed(location):
    from dagster_graphql.test.utils import define_out_of_process_context

    from csm_analytics.health.assets import COMPONENTS_KEY, HISTORY_KEY
    from csm_analytics.reports.executive.assets import REPORT_KEY

    instance, data, first = location
    log = data / "daemon.log"
    with define_out_of_process_context(str(ROOT / "workspace.yaml"), None, instance) as context, \
            running_daemon(log) as daemon:
        started = time.monotonic()
        everything = launch_backfill(context, materialize_all_params(context))
        backfill = wait_for_backfill(instance, everything, daemon, log)
        assert backfill.status == BulkActionStatus.COMPLETED_SUCCESS, _failures(instance, everything)
        print(f"materialize all: {time.monotonic() - started:.0f} s")
        days = {(first + dt.timedelta(days=i)).isoformat() for i in range(HISTORY_DAYS)}
        assert instance.get_materialized_partitions(HISTORY_KEY) == days
        assert instance.get_materialized_partitions(REPORT_KEY) == {AS_OF.replace(day=1).isoformat()}
        with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
            assert con.execute("SELECT min(as_of_date), max(as_of_date) FROM core.account_health_history"
                               ).fetchone() == (first, AS_OF)
            before = con.execute("SELECT count(*) FROM core.account_health_history").fetchone()[0]
        assert (data / "serving" / "serving.duckdb").exists()  # the last layer of the graph ran too

        started = time.monotonic()
        week = launch_backfill(context, daily_range_params(context, LAST_WEEK))
        backfill = wait_for_backfill(instance, week, daemon, log)
        assert backfill.status == BulkActionStatus.COMPLETED_SUCCESS, _failures(instance, week)
        print(f"last week: {time.monotonic() - started:.0f} s")
        runs = instance.get_runs(RunsFilter(tags={"dagster/backfill": week}))
        assert runs and all(r.status == DagsterRunStatus.SUCCESS for r in runs)
        # one run over the week (single-run backfill policy), not one run per day
        assert {(r.tags.get("dagster/asset_partition_range_start"), r.tags.get("dagster/asset_partition_range_end"))
                for r in runs} == {(LAST_WEEK[0], LAST_WEEK[-1])}
        records = instance.fetch_materializations(COMPONENTS_KEY, limit=1000).records
        assert {r.partition_key for r in records if r.run_id in {run.run_id for run in runs}} == set(LAST_WEEK)
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM core.account_health_history").fetchone()[0] == before
