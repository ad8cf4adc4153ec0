"""`make bench`: generation and materialization at several world sizes, with wall time and peak RSS.

Each size runs in a fresh subprocess, so peak RSS is that of the measured work
alone. Per-asset times come from the run's step events; per-asset peak RSS from
a sampler thread. Results go to stdout and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from csm_analytics.lib.paths import PROJECT_ROOT

DEFAULT_SIZES = [220, 100_000, 1_000_000]


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


FULL_HISTORY_MAX_ACCOUNTS = 20_000  # above this, the health history covers the latest day only
MARTS_MAX_ACCOUNTS = 100_000  # up to this size the alerts and portfolio marts run too
BIG_WORLD_GROUPS = ["sources", "health"]  # the churn replay at scale is not benchmarked yet


def _materialize_child(data_dir: str, accounts: int) -> dict:
    """Materialize every asset; big worlds score the latest day only (the nightly incremental case)."""
    os.environ["CSM_DATA_DIR"] = data_dir
    groups = None
    if accounts > FULL_HISTORY_MAX_ACCOUNTS:
        from csm_analytics.world.spec import DEFAULT_AS_OF

        os.environ["CSM_HISTORY_START"] = DEFAULT_AS_OF.isoformat()
        groups = BIG_WORLD_GROUPS + (["alerts", "portfolio"] if accounts <= MARTS_MAX_ACCOUNTS else [])
    from dagster import DagsterEventType, DagsterInstance

    from csm_analytics.lib.runner import materialize_everything

    sampler = RssSampler()
    sampler.start()
    instance = DagsterInstance.ephemeral()
    started = time.perf_counter()
    ok = materialize_everything(instance=instance, groups=groups)
    seconds = time.perf_counter() - started
    sampler.stop.set()
    steps: dict[str, dict] = {}
    for record in instance.all_logs(instance.get_runs()[0].run_id):
        event = record.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            steps[event.step_key] = {"start": record.timestamp}
        elif event.event_type == DagsterEventType.STEP_SUCCESS:
            steps[event.step_key]["end"] = record.timestamp
    per_step = {k: {"seconds": v["end"] - v["start"], "peak_rss": sampler.peak(v["start"], v["end"])}
                for k, v in steps.items() if "end" in v}
    return {"ok": ok, "seconds": seconds, "peak_rss": sampler.peak(), "steps": per_step}


def _pandas_health_child(raw_dir: str) -> dict:
    """The plain-pandas health score for the latest day (reading the tables included)."""
    from csm_analytics.health.config import load_health_config
    from csm_analytics.health.pandas_reference import health_components_pandas, health_score_pandas, read_raw
    from csm_analytics.world.spec import DEFAULT_AS_OF

    sampler = RssSampler()
    sampler.start()
    started = time.perf_counter()
    raw = read_raw(Path(raw_dir))
    read_seconds = time.perf_counter() - started
    config = load_health_config()
    scores = health_score_pandas(health_components_pandas(raw, DEFAULT_AS_OF, config), config)
    seconds = time.perf_counter() - started
    sampler.stop.set()
    return {"seconds": seconds, "read_seconds": read_seconds, "peak_rss": sampler.peak(), "accounts": len(scores)}


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

        from csm_analytics.alerts.assets import AlertOutboxResource, alert_events
        from csm_analytics.lib.resources import default_resources

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
            materialize([alert_events], resources={**default_resources(), "alert_outbox": AlertOutboxResource()},
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
        os.killpg(daemon.pid, signal.SIGINT)
        try:
            daemon.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
        server.stop()
    return {"latencies": latencies}


HEALTH_STEPS = ("core__account_health_components", "core__account_health_history", "core__account_health_score")


def _run_child(kind: str, *args) -> dict:
    out = subprocess.run([sys.executable, "-m", "csm_analytics.bench", "--child", kind, *map(str, args)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def run(sizes: list[int], repeat: int, materialize_max: int) -> str:
    lines = [
        "# Benchmarks", "",
        f"Measured by `make bench` on {time.strftime('%Y-%m-%d')}: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, {_mb(psutil.virtual_memory().total)} RAM. Each figure is the median of {repeat} run(s); "
        "peak RSS is the maximum resident set size of the measuring process.", "",
        "## Generation (`csm-analytics generate --accounts N`)", "",
        "| accounts | rows written | wall time | peak RSS |", "|---:|---:|---:|---:|",
    ]
    materialized: dict[int, list[dict]] = {}
    pandas_health: dict[int, list[dict]] = {}
    latency: list[float] = []
    for n in sizes:
        runs = []
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(_run_child("generate", n, Path(tmp) / "raw"))
                if n <= materialize_max:
                    materialized.setdefault(n, []).append(_run_child("materialize", tmp, n))
                if n == min(sizes) and n <= materialize_max:
                    latency.extend(_run_child("alert_latency", tmp)["latencies"])
                if n == PANDAS_BASELINE_ACCOUNTS:
                    pandas_health.setdefault(n, []).append(_run_child("pandas_health", Path(tmp) / "raw"))
        row = (f"| {n:,} | {runs[0]['rows']:,} | {statistics.median(r['seconds'] for r in runs):.1f} s "
               f"| {_mb(statistics.median(r['peak_rss'] for r in runs))} |")
        print(row, flush=True)
        lines.append(row)
    for n, runs in materialized.items():
        groups = BIG_WORLD_GROUPS + (["alerts", "portfolio"] if n <= MARTS_MAX_ACCOUNTS else [])
        scope = ("every asset, with the full 730-day health history and churn replay" if n <= FULL_HISTORY_MAX_ACCOUNTS
                 else f"groups {', '.join(groups)}, with the health history for the latest day only "
                      "(one daily partition, the nightly case)")
        lines += ["", f"## Materialize every asset from clean, {n:,} accounts", "", f"Includes {scope}.", "",
                  f"Whole run: {statistics.median(r['seconds'] for r in runs):.1f} s, peak RSS "
                  f"{_mb(statistics.median(r['peak_rss'] for r in runs))}, success: {all(r['ok'] for r in runs)}.", "",
                  "| step | wall time | peak RSS |", "|---|---:|---:|"]
        for step in sorted(runs[0]["steps"], key=lambda s: -runs[0]["steps"][s]["seconds"]):
            secs = statistics.median(r["steps"][step]["seconds"] for r in runs)
            rss = statistics.median(r["steps"][step]["peak_rss"] for r in runs)
            lines.append(f"| {step} | {secs:.2f} s | {_mb(rss)} |")
        print("\n".join(lines[-len(runs[0]['steps']) - 4:]), flush=True)
    lines += _health_section(materialized, pandas_health)
    if latency:
        lines += ["", "## Alert latency", "",
                  "From `alerts/alert_events` materialized with a new critical event to the message at a fake Slack "
                  "Web API on 127.0.0.1, with `dagster-daemon` running `alert_delivery_sensor` (30 s interval). "
                  f"{len(latency)} trials: median **{statistics.median(latency):.1f} s**, max {max(latency):.1f} s "
                  "(target < 60 s)."]
    return "\n".join(lines) + "\n"


PANDAS_BASELINE_ACCOUNTS = 100_000


def _health_section(materialized: dict[int, list[dict]], pandas_health: dict[int, list[dict]]) -> list[str]:
    """Health score for the latest day: DuckDB SQL at every size against plain pandas at 100,000 accounts."""
    lines = ["", "## Health score for one day (components + score + latest-score asset)", "",
             "| implementation | accounts | wall time | accounts / s | peak RSS |", "|---|---:|---:|---:|---:|"]
    throughput = {}
    for n, runs in sorted(materialized.items()):
        secs = statistics.median(sum(r["steps"][s]["seconds"] for s in HEALTH_STEPS if s in r["steps"]) for r in runs)
        rss = statistics.median(max(r["steps"][s]["peak_rss"] for s in HEALTH_STEPS if s in r["steps"]) for r in runs)
        if n > FULL_HISTORY_MAX_ACCOUNTS:
            throughput[n] = n / secs
            lines.append(f"| DuckDB SQL (assets) | {n:,} | {secs:.1f} s | {n / secs:,.0f} | {_mb(rss)} |")
    for n, runs in pandas_health.items():
        secs = statistics.median(r["seconds"] for r in runs)
        read = statistics.median(r["read_seconds"] for r in runs)
        throughput[f"pandas {n}"] = n / secs
        lines.append(f"| plain pandas (`health/pandas_reference.py`, {read:.1f} s of it reading Parquet) | {n:,} | "
                     f"{secs:.1f} s | {n / secs:,.0f} | {_mb(statistics.median(r['peak_rss'] for r in runs))} |")
    sql_sizes = [k for k in throughput if isinstance(k, int)]
    if sql_sizes and pandas_health:
        best = max(sql_sizes)
        ratio = throughput[best] / throughput[f"pandas {PANDAS_BASELINE_ACCOUNTS}"]
        lines += ["", f"Throughput ratio, DuckDB at {best:,} accounts over pandas at {PANDAS_BASELINE_ACCOUNTS:,}: **{ratio:.1f}x**."]
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m csm_analytics.bench", description=__doc__)
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=DEFAULT_SIZES,
                        help="comma-separated account counts (default 220,100000,1000000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is reported (default 3)")
    parser.add_argument("--materialize-max", type=int, default=1_000_000,
                        help="also materialize the graph for sizes up to this many accounts")
    parser.add_argument("--out", default=str(PROJECT_ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        if kind == "generate":
            result = _generate_child(int(rest[0]), rest[1])
        elif kind == "pandas_health":
            result = _pandas_health_child(rest[0])
        elif kind == "alert_latency":
            result = _alert_latency_child(rest[0])
        else:
            result = _materialize_child(rest[0], int(rest[1]))
        print(json.dumps(result))
        return 0
    report = run(args.sizes, args.repeat, args.materialize_max)
    Path(args.out).write_text(report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
