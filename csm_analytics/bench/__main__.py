"""`make bench`: generation, the full asset graph from clean, the nightly refresh, the health score
against plain pandas, and alert latency, at several world sizes; writes docs/benchmarks.md."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

from csm_analytics.bench import report
from csm_analytics.bench.children import CHILDREN, FULL_HISTORY_MAX_ACCOUNTS, run_child
from csm_analytics.lib.paths import PROJECT_ROOT

DEFAULT_SIZES = [220, 100_000, 300_000, 1_000_000]
INCREMENTAL_MIN_ACCOUNTS = 1_000_000  # the nightly refresh is measured at this size and above


def _sizes(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",")]


def health_pair(results: dict, n: int, raw: Path, run: int) -> None:
    """The one-day health score at one size, the SQL and the careful pandas in turn (the order alternates
    between runs, so neither always runs on a warmer page cache), plus the SQL on one thread."""
    kinds = [("sql", ("sql_health", raw)), ("pandas", ("pandas_health", raw))]
    for name, child in (kinds if run % 2 == 0 else kinds[::-1]) + [("sql_1_thread", ("sql_health", raw, 1))]:
        results["health"].setdefault(n, {}).setdefault(name, []).append(run_child(*child))
    last = {k: v[-1]["seconds"] for k, v in results["health"][n].items()}
    print(f"[{n:,}] health score for one day: SQL {last['sql']:.1f} s, pandas {last['pandas']:.1f} s, "
          f"SQL on one thread {last['sql_1_thread']:.1f} s", flush=True)


def measure(sizes: list[int], repeat: int, repeat_large: int, large_from: int, latency: bool,
            save: Path | None = None, health_only: bool = False) -> dict:
    """Every measurement; each size's world is generated once per run into a temporary folder.
    With `save`, the raw results are written there after each size (render them with --render).
    With `health_only`, each size measures generation and the SQL-against-pandas health score only."""
    results = {"gen": {}, "mat": {}, "inc": {}, "pandas": [], "health": {}, "latency": [], "repeat": {},
               "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    for n in sizes:
        runs = repeat_large if n >= large_from else repeat
        results["repeat"][n] = runs
        with tempfile.TemporaryDirectory(prefix=f"csm-bench-{n}-") as tmp:
            for i in range(runs):
                raw = Path(tmp) / "raw"
                results["gen"].setdefault(n, []).append(run_child("generate", n, raw))
                print(f"[{n:,}] generate run {i + 1}/{runs}: {results['gen'][n][-1]['seconds']:.1f} s", flush=True)
                if n == report.PANDAS_BASELINE_ACCOUNTS or health_only:
                    health_pair(results, n, raw, i)
                if health_only:
                    continue
                full = run_child("materialize", tmp, n, "full")
                results["mat"].setdefault(n, []).append(full)
                print(f"[{n:,}] full graph run {i + 1}/{runs}: {full['seconds']:.1f} s, ok={full['ok']}", flush=True)
                if n >= INCREMENTAL_MIN_ACCOUNTS:
                    results["inc"].setdefault(n, []).append(run_child("materialize", tmp, n, "incremental"))
                    print(f"[{n:,}] nightly refresh: {results['inc'][n][-1]['seconds']:.1f} s", flush=True)
                if n == min(sizes) and n <= FULL_HISTORY_MAX_ACCOUNTS and full["ok"]:  # packs of a whole book
                    results.setdefault("qbr", []).append(run_child("qbr_portfolio", tmp))
                    print(f"[{n:,}] QBR packs of one portfolio: {results['qbr'][-1]['total']:.1f} s", flush=True)
                if latency and n == min(sizes) and i == 0:
                    results["latency"] = run_child("alert_latency", tmp)["latencies"]
        if save:
            save.write_text(json.dumps(results))
    return results


def load_results(paths: list[Path]) -> dict:
    """Saved results, merged run by run (e.g. the small sizes and separate 1M runs); JSON made the counts strings."""
    merged = {"gen": {}, "mat": {}, "inc": {}, "pandas": [], "health": {}, "latency": [], "repeat": {}}
    for path in paths:
        raw = json.loads(path.read_text())
        for key in ("gen", "mat", "inc"):
            for n, runs in raw[key].items():
                merged[key].setdefault(int(n), []).extend(runs)
        for n, kinds in raw.get("health", {}).items():
            for kind, runs in kinds.items():
                merged["health"].setdefault(int(n), {}).setdefault(kind, []).extend(runs)
        merged["pandas"] += raw["pandas"]
        merged["latency"] += raw["latency"]
        merged.setdefault("qbr", []).extend(raw.get("qbr", []))
        merged["measured_at"] = min(filter(None, [merged.get("measured_at"), raw.get("measured_at")]))
    merged["repeat"] = {n: len(runs) for n, runs in (merged["mat"] or merged["gen"]).items()}
    return merged


def render(results: dict, command: str, note: str = "") -> str:
    lines = report.header(command, results["repeat"], results.get("measured_at"))
    if note:
        lines += ["", note]
    lines += report.generation(results["gen"])
    lines += report.full_graph(results["mat"])
    lines += report.scaling(results["gen"], results["mat"])
    lines += report.incremental(results["inc"], results["mat"])
    lines += report.health(results.get("health", {}))
    lines += report.latency(results["latency"])
    lines += report.qbr_packs(results.get("qbr", []))
    lines += report.findings()
    lines += ["", "## Per-asset wall time and peak RSS"]
    for n, runs in sorted(results["mat"].items()):
        lines += report.per_asset(f"Full graph from clean, {n:,} accounts", runs)
    for n, runs in sorted(results["inc"].items()):
        lines += report.per_asset(f"Nightly refresh of one day, {n:,} accounts", runs)
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m csm_analytics.bench", description=__doc__)
    parser.add_argument("--sizes", type=_sizes, default=DEFAULT_SIZES,
                        help="comma-separated account counts (default 220,100000,300000,1000000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is reported (default 3)")
    parser.add_argument("--repeat-large", type=int, default=None,
                        help="runs per figure for sizes of --large-from accounts and more (default: --repeat)")
    parser.add_argument("--large-from", type=int, default=1_000_000, help="see --repeat-large (default 1000000)")
    parser.add_argument("--no-latency", action="store_true", help="skip the alert-latency trials (about 2 minutes)")
    parser.add_argument("--health-only", action="store_true",
                        help="per size: generate, then the one-day health score, SQL against careful pandas, paired")
    parser.add_argument("--out", default=str(PROJECT_ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--json", help="also save the raw measurements to this file (after each size)")
    parser.add_argument("--render", metavar="JSON", nargs="+",
                        help="only write the report from measurements saved by --json (several files are merged)")
    parser.add_argument("--command", default="make bench", help="with --render: the command that measured")
    parser.add_argument("--note", default="", help="a paragraph to add under the header (e.g. how the runs were split)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        print(json.dumps(CHILDREN[kind](*rest)))
        return 0
    if args.render:
        results, command = load_results([Path(p) for p in args.render]), args.command
    else:
        results = measure(args.sizes, args.repeat, args.repeat_large or args.repeat, args.large_from,
                          not args.no_latency and not args.health_only, Path(args.json) if args.json else None,
                          args.health_only)
        command = "make bench" if argv is None and len(sys.argv) == 1 else \
            "python -m csm_analytics.bench " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    Path(args.out).write_text(render(results, command, args.note))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
