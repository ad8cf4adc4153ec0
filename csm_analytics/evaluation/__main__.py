"""`csm-analytics evaluate` / `make evaluate`: generate the evaluation worlds, materialize each, pool the model figures
with 95 % intervals, and write docs/evaluation.md. Runs outside `make test` (minutes per world)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from csm_analytics.lib.paths import PROJECT_ROOT


def _seeds(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=_seeds, help="comma-separated seeds (default: `seeds` in evaluation_config.toml)")
    parser.add_argument("--accounts", type=int, help="accounts per world (default: the config's, 2,000)")
    parser.add_argument("--csms", type=int, help="CSMs per world (default: the config's, 16)")
    parser.add_argument("--out", default=str(PROJECT_ROOT / "docs" / "evaluation.md"), help="report (default docs/evaluation.md)")
    parser.add_argument("--work-dir", default=str(PROJECT_ROOT / "data" / "evaluation"),
                        help="one data folder per world, with its result.json (default data/evaluation)")
    parser.add_argument("--resume", action="store_true", help="reuse the worlds whose result.json already exists")
    parser.add_argument("--render-only", action="store_true", help="only write the report from saved results")
    parser.add_argument("--note", default="", help="a paragraph to add under the report's header (e.g. a partial run)")
    parser.add_argument("--allow-dev-seeds", action="store_true",
                        help="let --seeds include dev seeds (for checks; the report then says so in its command)")


def run(args, command: str) -> int:
    from csm_analytics.evaluation.config import EvaluationConfigError, check_seeds, load_evaluation_config
    from csm_analytics.evaluation.figures import pooled_figures
    from csm_analytics.evaluation.report import render
    from csm_analytics.evaluation.run import run_worlds, world_dir

    try:
        config = load_evaluation_config()
        seeds, accounts, csms = args.seeds or config.seeds, args.accounts or config.accounts, args.csms or config.csms
        if not args.allow_dev_seeds:
            check_seeds(seeds, config.dev_seeds)
    except EvaluationConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    work = Path(args.work_dir)
    if args.render_only:
        missing = [s for s in seeds if not (world_dir(work, s, accounts, csms) / "result.json").exists()]
        if missing:
            print(f"error: no saved result for seed(s) {missing} at {accounts:,} accounts x {csms} CSMs in {work}; "
                  "run without --render-only (add --resume to keep the worlds already measured)", file=sys.stderr)
            return 1
        results = [json.loads((world_dir(work, s, accounts, csms) / "result.json").read_text()) for s in seeds]
        wall = None
    else:
        print(f"evaluating {len(seeds)} worlds of {accounts:,} accounts x {csms} CSMs (seeds {seeds}) in {work}",
              flush=True)
        results = run_worlds(seeds, accounts, csms, work, resume=args.resume, log=lambda m: print(m, flush=True))
        wall = time.perf_counter() - started
    figures = pooled_figures(results)
    measured_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    Path(args.out).write_text(render(results, figures, config, command, wall, measured_at, args.note))
    print(f"wrote {args.out}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m csm_analytics.evaluation", description=__doc__)
    add_arguments(parser)
    parser.add_argument("--world-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.world_child:
        from csm_analytics.evaluation.run import evaluate_world

        seed, accounts, csms, folder = args.world_child
        print(json.dumps(evaluate_world(int(seed), int(accounts), int(csms), folder)))
        return 0
    command = "make evaluate" if not (argv or sys.argv[1:]) else \
        "csm-analytics evaluate " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    return run(args, command)


if __name__ == "__main__":
    raise SystemExit(main())
