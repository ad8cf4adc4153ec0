"""What `make bench` measures, each in a fresh subprocess (`python -m csm_analytics.bench --child KIND ...`).

A fresh process per measurement makes its peak RSS that of the measured work alone. Per-asset
times come from the run's step events; per-asset peak RSS from a sampler thread. Each child
prints one JSON line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from csm_analytics.lib.paths import PROJECT_ROOT
from csm_analytics.lib.processes import stop_process_group


class RssSampler(threading.Thread):
    """Samples this process's RSS every 50 ms; `peak(t0, t1)` is the max inside a window."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples: list[tuple[float, int]] = []
        self.stop = threading.Event()
        self.proc = psutil.Process()

    def run(self):
        while not self.stop.is_set():
            self.samples.append((time.time(), self.proc.memory_info().rss))
            time.sleep(0.05)

    def peak(self, t0: float = 0, t1: float = float("inf")) -> int:
        inside = [rss for t, rss in self.samples if t0 <= t <= t1]
        return max(inside) if inside else 0


def _generate_child(accounts: int, out: str) -> dict:
    from csm_analytics.world.generator import generate_world
    from csm_analytics.world.spec import WorldSpec

    sampler = RssSampler()
    sampler.start()
    started = time.perf_counter()
    counts = generate_world(WorldSpec(accounts=accounts), Path(out), progress=False)
    seconds = time.perf_counter() - started
    sampler.stop.set()
    return {"seconds": seconds, "peak_rss": sampler.peak(), "rows": sum(counts.values())}


FULL_HISTORY_MAX_ACCOUNTS = 20_000  # above this, the daily history covers the last BIG_WORLD_DAYS days only
BIG_WORLD_DAYS = 2  # from clean: the day before as-of and as-of; the incremental run then redoes as-of alone
# Every group runs at every size. On a big world the daily assets (health components and history, the churn
# snapshot replay) cover the last BIG_WORLD_DAYS days, while the churn model still trains (and is validated)
# on labels from the whole history (CSM_TRAINING_START), on the stratified account sample churn_config.toml
# [scale] sets above 50,000 accounts.
BIG_WORLD_GROUPS = ["sources", "health", "alerts", "portfolio", "churn", "expansion", "reports"]
# The QBR packs are one run per account partition; a big world has tens of thousands due this quarter. The
# benchmark builds the packs of the BIG_WORLD_QBR_PACKS accounts due soonest (most overdue first; the target is
# per pack, so ten packs measure it), then the monthly executive report.
BIG_WORLD_QBR_PACKS = 10


def qbr_packs_for(accounts: int) -> int | None:
    """How many QBR packs the full-graph run builds: every one due on small worlds, the soonest due on big ones."""
    return None if accounts <= FULL_HISTORY_MAX_ACCOUNTS else BIG_WORLD_QBR_PACKS


def history_start(accounts: int) -> str | None:
    """CSM_HISTORY_START for a world of this size: None (the whole 730 days) for small worlds."""
    from csm_analytics.world.spec import DEFAULT_AS_OF

    if accounts <= FULL_HISTORY_MAX_ACCOUNTS:
        return None
    return (DEFAULT_AS_OF - dt.timedelta(days=BIG_WORLD_DAYS - 1)).isoformat()


def _steps(instance, sampler: RssSampler) -> dict:
    """Wall time and peak RSS of each step, from the STEP_START / STEP_SUCCESS events of every run.

    A step that ran in several runs (the QBR pack, one run per account) is summed, with its run count."""
    from dagster import DagsterEventType

    steps: dict[str, dict] = {}
    for run in reversed(instance.get_runs()):  # oldest first
        started: dict[str, float] = {}
        for record in instance.all_logs(run.run_id):
            event = record.dagster_event
            if event is None or not event.step_key:
                continue
            if event.event_type == DagsterEventType.STEP_START:
                started[event.step_key] = record.timestamp
            elif event.event_type == DagsterEventType.STEP_SUCCESS and event.step_key in started:
                t0, t1 = started[event.step_key], record.timestamp
                step = steps.setdefault(event.step_key, {"seconds": 0.0, "peak_rss": 0, "runs": 0})
                step["seconds"] += t1 - t0
                step["peak_rss"] = max(step["peak_rss"], sampler.peak(t0, t1))
                step["runs"] += 1
    return steps


def _materialize_child(data_dir: str, accounts: int, mode: str = "full") -> dict:
    """`full`: every asset from a clean warehouse. `incremental`: on the warehouse a full run left, the
    nightly refresh of one day: the daily partitions of as-of and everything downstream of them."""
    os.environ["CSM_DATA_DIR"] = data_dir
    os.environ["CSM_ENV"] = "ci"  # never post to Slack from a benchmark
    if start := history_start(accounts):
        from csm_analytics.world.spec import WorldSpec

        os.environ["CSM_HISTORY_START"] = start
        os.environ["CSM_TRAINING_START"] = WorldSpec().start.isoformat()  # the model learns from all 730 days
        os.environ["CSM_REPORT_START"] = WorldSpec().as_of.replace(day=1).isoformat()  # the as-of month's report
    from dagster import AssetSelection, DagsterInstance, Definitions, define_asset_job
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    from csm_analytics.definitions import build_definitions
    from csm_analytics.runner import materialize_everything

    if mode == "full":
        for leftover in Path(data_dir).glob("warehouse.duckdb*"):
            leftover.unlink()
        for folder in ("alerts", "models", "outbox"):
            shutil.rmtree(Path(data_dir) / folder, ignore_errors=True)
    sampler = RssSampler()
    sampler.start()
    instance = DagsterInstance.ephemeral()
    started = time.perf_counter()
    if mode == "full":
        ok = materialize_everything(instance=instance, definitions=build_definitions(),
                                    qbr_pack_limit=qbr_packs_for(accounts))
    else:
        defs = build_definitions()
        from csm_analytics.reports.executive.assets import REPORT_KEY
        from csm_analytics.reports.qbr.assets import PACK_KEY

        reports = AssetSelection.assets(PACK_KEY, REPORT_KEY)  # own partitions (accounts, months): own jobs
        daily = [s.key for s in defs.resolve_all_asset_specs()
                 if s.partitions_def is not None and s.key not in (PACK_KEY, REPORT_KEY)]
        selection = AssetSelection.assets(*daily).downstream() - reports
        job = Definitions.merge(defs, Definitions(jobs=[define_asset_job("nightly", selection=selection)])
                                ).resolve_job_def("nightly")
        day = job.partitions_def.get_last_partition_key()
        tags = {ASSET_PARTITION_RANGE_START_TAG: day, ASSET_PARTITION_RANGE_END_TAG: day}
        ok = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False).success
    seconds = time.perf_counter() - started
    sampler.stop.set()
    steps = _steps(instance, sampler)
    return {"ok": ok, "seconds": seconds, "peak_rss": sampler.peak(), "steps": steps, "load": os.getloadavg()[0]}


def _pandas_health_child(raw_dir: str) -> dict:
    """The careful-pandas health score for the latest day, reading the Parquet files included."""
    from csm_analytics.health.config import load_health_config
    from csm_analytics.health.pandas_reference import (
        health_components_pandas,
        health_score_pandas,
        read_raw,
    )
    from csm_analytics.world.spec import DEFAULT_AS_OF

    sampler = RssSampler()
    sampler.start()
    started = time.perf_counter()
    raw = read_raw(Path(raw_dir), DEFAULT_AS_OF)
    read_seconds = time.perf_counter() - started
    config = load_health_config()
    scores = health_score_pandas(health_components_pandas(raw, DEFAULT_AS_OF, config), config)
    seconds = time.perf_counter() - started
    sampler.stop.set()
    return {"seconds": seconds, "read_seconds": read_seconds, "peak_rss": sampler.peak(), "accounts": len(scores)}


def _sql_health_child(raw_dir: str, threads: str = "0") -> dict:
    """The same day's health score with the assets' SQL (components, then score and band), DuckDB in memory
    reading the same Parquet files; `threads` 0 = DuckDB's default (one per core)."""
    import duckdb

    from csm_analytics.health.components import components_sql
    from csm_analytics.health.config import load_health_config
    from csm_analytics.health.pandas_reference import TABLES
    from csm_analytics.health.scoring import history_sql
    from csm_analytics.world.spec import DEFAULT_AS_OF

    sampler = RssSampler()
    sampler.start()
    started = time.perf_counter()
    config = load_health_config()
    con = duckdb.connect()
    if int(threads):
        con.execute(f"SET threads = {int(threads)}")
    con.execute("CREATE SCHEMA raw")
    for table in TABLES:  # the path goes through the Python API, not into SQL text; scans still push down
        con.read_parquet(str(Path(raw_dir) / f"{table}.parquet")).to_view(f"parquet_{table}")
        con.execute(f"CREATE VIEW raw.{table} AS SELECT * FROM parquet_{table}")
    con.execute(f"CREATE TABLE components AS {components_sql(DEFAULT_AS_OF, DEFAULT_AS_OF, config)}")
    con.execute(f"CREATE TABLE scores AS {history_sql(DEFAULT_AS_OF, DEFAULT_AS_OF, config, components_table='components')}")
    accounts = con.execute("SELECT count(*) FROM scores").fetchall()[0][0]
    seconds = time.perf_counter() - started
    sampler.stop.set()
    return {"seconds": seconds, "peak_rss": sampler.peak(), "accounts": accounts,
            "threads": con.execute("SELECT current_setting('threads')").fetchall()[0][0]}


def _alert_latency_child(data_dir: str, trials: int = 3) -> dict:
    """Seconds from alerts/alert_events materialized (a new critical event) to the message at a fake Slack
    server, with the real dagster-daemon running the delivery sensor at its 30 s interval."""
    import signal

    import duckdb

    from csm_analytics.lib.fake_slack import FakeSlack

    os.environ["CSM_DATA_DIR"] = data_dir
    server = FakeSlack().start()
    home = Path(data_dir) / "dagster_home_latency"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = dict(os.environ, DAGSTER_HOME=str(home), SLACK_BOT_TOKEN=server.token, SLACK_BASE_URL=server.url)
    daemon = subprocess.Popen([str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                              cwd=PROJECT_ROOT, env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latencies = []
    try:
        from dagster import DagsterInstance, materialize

        from csm_analytics.alerts.assets import alert_events
        from csm_analytics.alerts.resources import AlertOutboxResource
        from csm_analytics.resources import resources_for

        warehouse = Path(data_dir) / "warehouse.duckdb"
        for trial in range(trials):
            key = f"BENCH-{trial}"
            with duckdb.connect(str(warehouse)) as con:
                # a different account each trial: a second open alert for the same account and rule would be
                # merged into the first (chat.update), which is the dedupe rule working, not a delivery
                account, day = con.execute("SELECT account_id, as_of_date FROM core.account_health_score "
                                           "ORDER BY account_id LIMIT 1 OFFSET ?", [trial]).fetchall()[0]
                con.execute("INSERT INTO raw.incidents VALUES (?, ?, ?, 'payroll_error', 'critical', 'benchmark')",
                            [key, account, dt.datetime.combine(day, dt.time(12))])
            materialize([alert_events], resources={**resources_for(), "alert_outbox": AlertOutboxResource()},
                        instance=DagsterInstance.ephemeral())
            materialized = time.time()
            while time.time() - materialized < 120:
                keys = [(m.get("metadata") or {}).get("event_payload", {}).get("alert_key") for m in server.posts()]
                if f"critical_incident:{key}" in keys:
                    latencies.append(time.time() - materialized)
                    break
                time.sleep(0.2)
            else:
                latencies.append(float("inf"))
    finally:
        stop_process_group(daemon, signal.SIGINT, timeout=15)
        server.stop()
    return {"latencies": latencies}




def _qbr_portfolio_child(data_dir: str) -> dict:
    """The QBR packs of the largest CSM portfolio (every active account), on the warehouse a full run left."""
    os.environ["CSM_DATA_DIR"] = data_dir
    import duckdb

    from csm_analytics.health.config import load_health_config
    from csm_analytics.lib import paths
    from csm_analytics.reports.qbr.pack import build_pack

    config = load_health_config()
    with duckdb.connect(str(paths.warehouse_path()), read_only=True) as con:
        csm_id, accounts = con.execute("""
            SELECT csm_id, list(account_id ORDER BY account_id) FROM marts.qbr_pipeline GROUP BY 1
            ORDER BY count(*) DESC LIMIT 1""").fetchall()[0]
        started = time.perf_counter()
        seconds = [build_pack(con, a, config, out_dir=Path(data_dir) / "bench_packs").seconds for a in accounts]
    return {"csm_id": csm_id, "packs": len(seconds), "total": time.perf_counter() - started,
            "median": sorted(seconds)[len(seconds) // 2], "max": max(seconds)}


CHILDREN = {"generate": lambda n, out: _generate_child(int(n), out),
            "materialize": lambda data, n, mode="full": _materialize_child(data, int(n), mode),
            "pandas_health": lambda raw: _pandas_health_child(raw),
            "sql_health": lambda raw, threads="0": _sql_health_child(raw, threads),
            "alert_latency": lambda data: _alert_latency_child(data),
            "qbr_portfolio": lambda data: _qbr_portfolio_child(data)}


def run_child(kind: str, *args) -> dict:
    """Run one measurement in a fresh interpreter; its JSON result."""
    out = subprocess.run([sys.executable, "-m", "csm_analytics.bench", "--child", kind, *map(str, args)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"bench child {kind} {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
