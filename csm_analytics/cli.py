"""`csm-analytics`: generate the demo world, materialize the graph, explain scores.

Every subcommand has --help. Paths default to data/ at the project root;
`--data-dir` (or CSM_DATA_DIR) moves everything at once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

from csm_analytics.alerts.config import RULES as ALERT_RULES
from csm_analytics.world.spec import DEFAULT_AS_OF, WorldSpec


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from exc


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _add_world_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--accounts", type=_positive, default=220, help="number of client accounts (default 220)")
    p.add_argument("--csms", type=_positive, default=8, help="number of CSMs (default 8)")
    p.add_argument("--seed", type=int, default=7, help="random seed; the same seed gives byte-identical files")
    p.add_argument("--as-of", type=_date, default=DEFAULT_AS_OF, help=f"last day of history (default {DEFAULT_AS_OF})")
    p.add_argument("--history-days", type=_positive, default=730, help="days of daily history (default 730)")
    p.add_argument("--usage-grain", choices=["auto", "day", "week", "month"], default="auto",
                   help="product_usage grain; auto = day up to 20,000 accounts, week above")


def _spec(args) -> WorldSpec:
    if args.history_days < 120:
        raise SystemExit("--history-days must be at least 120: renewal outcomes read 120 days of signals")
    return WorldSpec(accounts=args.accounts, csms=args.csms, seed=args.seed, as_of=args.as_of,
                     history_days=args.history_days, usage_grain=args.usage_grain)


def cmd_generate(args) -> int:
    from csm_analytics.lib import paths
    from csm_analytics.world.generator import generate_world, world_is_current

    spec = _spec(args)
    out = Path(args.out) if args.out else paths.raw_dir()
    if not args.force and world_is_current(spec, out):
        print(f"world in {out} is already current for this spec; use --force to regenerate")
        return 0
    started = time.perf_counter()
    counts = generate_world(spec, out, progress=not args.quiet)
    print(f"generated {spec.accounts:,} accounts into {out} in {time.perf_counter() - started:.1f}s")
    for name, rows in counts.items():
        print(f"  {name:<24} {rows:>12,} rows")
    if not args.quiet:
        from csm_analytics.bench.diagnostics import world_facts

        facts = world_facts(out)
        print(f"annual logo churn {facts['annual_logo_churn']:.1%}, trailing-12m NRR {facts['nrr_trailing_12m']:.1%}, "
              f"oracle churn AUC {facts['oracle_churn_auc']:.3f} over {facts['renewals_decided']:,} renewals")
    return 0


def cmd_materialize(args) -> int:
    from csm_analytics.lib import paths
    from csm_analytics.world.generator import generate_world, world_is_current

    paths.ensure_dagster_home()
    busy = _warehouse_busy(paths.warehouse_path())
    if busy:
        print(f"error: the warehouse {paths.warehouse_path()} is open for writing in another process ({busy}). "
              "DuckDB allows one writer at a time: most likely a run started from the Dagster UI, or another "
              "`make materialize`, is still writing. Wait for it to finish (or stop it), then retry.", file=sys.stderr)
        return 2
    if not args.skip_generate:
        spec = WorldSpec()
        if not world_is_current(spec, paths.raw_dir()):
            print(f"generating the default demo world into {paths.raw_dir()} ...")
            generate_world(spec, paths.raw_dir())
    from csm_analytics.runner import materialize_everything

    ok = materialize_everything(verbose=True)
    print("materialize: OK" if ok else "materialize: FAILED (see the failures above)", file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def _warehouse_busy(path: Path) -> str | None:
    """DuckDB's lock message when another process holds the warehouse file, else None (checked before a long run)."""
    import duckdb

    if not path.exists():
        return None
    try:
        duckdb.connect(str(path)).close()
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            return str(exc).splitlines()[0]
        raise
    return None


def cmd_schemas(args) -> int:
    from csm_analytics.canonical.docs import render_schema_docs
    from csm_analytics.lib.paths import PROJECT_ROOT

    target = Path(args.out) if args.out else PROJECT_ROOT / "docs" / "schemas.md"
    target.write_text(render_schema_docs())
    print(f"wrote {target}")
    return 0


def _print_report(render, errors: tuple) -> int:
    """Open the warehouse read-only, print `render(con)`; say what to do if it is missing or busy."""
    import duckdb

    from csm_analytics.lib import paths

    try:
        con = duckdb.connect(str(paths.warehouse_path()), read_only=True)
    except duckdb.IOException as exc:
        print(f"cannot open the warehouse {paths.warehouse_path()} ({exc}). Run `make materialize` first, "
              "or retry when the current run has finished writing.", file=sys.stderr)
        return 1
    try:
        print(render(con))
    except (*errors, duckdb.CatalogException) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_health_explain(args) -> int:
    from csm_analytics.health.explain import ExplainError, explain

    return _print_report(lambda con: explain(con, args.account_id, args.as_of), (ExplainError,))


def _outbox():
    from csm_analytics.alerts.outbox import Outbox
    from csm_analytics.lib import paths

    return Outbox(paths.data_dir() / "alerts" / "outbox.sqlite")


def cmd_alerts(args) -> int:
    outbox = _outbox()
    if args.alerts_command == "snooze":
        outbox.snooze(args.account, args.rule, args.until)
        print(f"snoozed {args.rule} alerts for {args.account} until {args.until}")
        return 0
    if args.alerts_command == "list":
        rows = outbox.rows("status = ?" if args.status else "1=1", (args.status,) if args.status else ())
        for r in rows[-args.limit:]:
            ack = f"acked {r['acknowledged_at']}" if r["acknowledged_at"] else "open"
            print(f"{r['alert_key']:<48} {r['severity']:<8} {r['status']:<10} {r['account_id']:<11} {ack}")
        return 0
    action = outbox.acknowledge if args.alerts_command == "ack" else outbox.dismiss
    done = action(args.alert_id, by="cli") if args.alerts_command == "ack" else action(args.alert_id)
    if not done:
        print(f"error: no open alert {args.alert_id!r} (see `csm-analytics alerts list`)", file=sys.stderr)
        return 1
    print(f"{'acknowledged' if args.alerts_command == 'ack' else 'dismissed'} {args.alert_id}")
    return 0


def cmd_scorecard(args) -> int:
    from csm_analytics.portfolio.review import ReviewError, csm_review, team_view

    def render(con):
        return team_view(con, args.quarter) if args.team or not args.csm_id else csm_review(con, args.csm_id, args.quarter)

    return _print_report(render, (ReviewError,))


def cmd_qbr_pack(args) -> int:
    from csm_analytics.health.config import load_health_config
    from csm_analytics.lib import paths
    from csm_analytics.reports.qbr.pack import build_pack
    from csm_analytics.reports.qbr.pack_data import UnknownAccount

    def render(con):
        out = Path(args.out) if args.out else paths.data_dir() / "reports" / "qbr"
        pack = build_pack(con, args.account_id, load_health_config(), args.as_of, out_dir=out)
        if args.markdown:
            return pack.markdown
        return (f"QBR pack for {pack.facts['account']['account_name']} ({args.account_id}) as of {pack.as_of}: "
                f"{pack.html_path} ({pack.seconds:.2f} s)")

    return _print_report(render, (UnknownAccount, LookupError, ValueError))


# --- meeting brief (reports/briefs): `csm-analytics brief ACCOUNT_ID` -----------------------------------------
def cmd_brief(args) -> int:
    from csm_analytics.reports.briefs.meeting import (
        BriefError,
        list_accounts,
        meeting_brief,
    )

    if args.list is None and not args.account_id:
        print("error: give an ACCOUNT_ID, or --list to see them", file=sys.stderr)
        return 2
    if args.list is not None:
        return _print_report(lambda con: list_accounts(con, args.list or None), (BriefError,))
    return _print_report(lambda con: meeting_brief(con, args.account_id, args.as_of), (BriefError,))


def _add_brief_parser(sub) -> None:
    brief = sub.add_parser("brief", help="one-page internal briefing before a client meeting",
                           description="Recent issues and open tickets, the health change and its drivers, open action "
                                       "items, talking points and risk areas. For the CSM only: never sent to the client.")
    brief.add_argument("account_id", metavar="ACCOUNT_ID", nargs="?", help="e.g. ACC0000203")
    brief.add_argument("--as-of", type=_date, help="day of the briefing (default: the latest scored day)")
    brief.add_argument("--list", nargs="?", const="", metavar="CSM_ID",
                       help="list the active account ids instead (optionally only this CSM's)")
    brief.set_defaults(func=cmd_brief)
# --- end meeting brief --------------------------------------------------------------------------------------------


def cmd_import_telco(args) -> int:
    import duckdb

    from csm_analytics.churn import telco
    from csm_analytics.lib import paths

    out = Path(args.out) if args.out else paths.data_dir() / "telco"
    out.mkdir(parents=True, exist_ok=True)
    csv = Path(args.path)
    if not csv.exists():
        print(f"error: {csv}: file not found (the data set ships in ../shared/datasets/telco/)", file=sys.stderr)
        return 1
    con = duckdb.connect(str(out / "warehouse.duckdb"))
    result = telco.load_telco(con, csv, dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
    print(f"{csv}: {result.rows_read:,} rows read, {result.rows_loaded:,} loaded, {result.rows_rejected} quarantined "
          f"in {out / 'warehouse.duckdb'}:raw.rejected_rows")
    for reason, n in result.top_reasons:
        print(f"  {n:>5} x {reason}")
    customers = con.execute("SELECT * FROM raw.telco_customers").df()
    counts = telco.write_canonical(telco.to_canonical(customers, args.as_of), out / "raw")
    print(f"canonical tables in {out / 'raw'}: {counts['accounts']:,} accounts, {counts['contracts']:,} contracts "
          "(the other tables have no Telco counterpart and are empty)")
    if not args.skip_evaluation:
        print("stratified 5-fold cross-validation of the churn candidates (pooled out-of-fold probabilities):")
        for name, s in telco.evaluate(customers).items():
            picks = f", per fold: {', '.join(s['chosen'])}" if "chosen" in s else ""
            print(f"  {name:<28} ROC AUC {s['roc_auc']:.4f}  Brier {s['brier']:.4f}  ({s['rows']:,} customers{picks})")
    return 0


def cmd_evaluate(args) -> int:
    from csm_analytics.evaluation.__main__ import run

    argv = [a for a in sys.argv[1:] if a != "evaluate"] if sys.argv[1:2] == ["evaluate"] else []
    if "--note" in argv:  # the note is printed under the header already
        argv[argv.index("--note") + 1:argv.index("--note") + 2] = ["..."]
    return run(args, "csm-analytics evaluate" + "".join(f" {a}" for a in argv))


def _add_evaluate_parser(sub) -> None:
    from csm_analytics.evaluation.__main__ import add_arguments

    ev = sub.add_parser("evaluate", help="pool the model-quality figures over several generated worlds",
                        description="Generate the evaluation worlds (seeds in evaluation_config.toml, kept apart from "
                                    "the dev seeds), materialize each in its own data folder, and write "
                                    "docs/evaluation.md: every model figure pooled with a 95 % interval, the targets "
                                    "met or missed, per-world rows and the run time. Minutes per world.")
    add_arguments(ev)
    ev.set_defaults(func=cmd_evaluate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="csm-analytics", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="folder for raw data, warehouse and Dagster home (default: data/)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = sub.add_parser("generate", help="write the deterministic demo world as Parquet files",
                         description="Write one Parquet file per canonical table, plus ground truth in _truth/.")
    _add_world_args(gen)
    gen.add_argument("--out", help="output folder (default data/raw)")
    gen.add_argument("--force", action="store_true", help="regenerate even if the folder holds this exact world")
    gen.add_argument("--quiet", action="store_true", help="no progress bar")
    gen.set_defaults(func=cmd_generate)

    mat = sub.add_parser("materialize", help="generate the demo world if missing, then materialize every asset",
                         description="Runs every asset and check in-process; exits 1 if any asset or blocking check fails.")
    mat.add_argument("--skip-generate", action="store_true", help="use data/raw as it is (bring-your-own data)")
    mat.set_defaults(func=cmd_materialize)
    health = sub.add_parser("health", help="explain account health scores",
                            description="Inspect the health score in the warehouse.")
    health_sub = health.add_subparsers(dest="health_command", required=True, metavar="SUBCOMMAND")
    exp = health_sub.add_parser("explain", help="why does this account score what it scores, and what changed?",
                                description="Components, weights, points, drivers, a 90-day sparkline and the "
                                            "components that moved the score over the last 30 days.")
    exp.add_argument("account_id", metavar="ACCOUNT_ID", help="e.g. ACC0000001")
    exp.add_argument("--as-of", type=_date, help="day to explain (default: the latest scored day)")
    exp.set_defaults(func=cmd_health_explain)

    card = sub.add_parser("scorecard", help="a CSM's performance review, or the team view",
                          description="Overall score and trend, categories against the team and targets, portfolio, "
                                      "workload, coaching priorities and a 30-day action plan.")
    card.add_argument("csm_id", metavar="CSM_ID", nargs="?", help="e.g. CSM01 (omit for the team view)")
    card.add_argument("--quarter", help="quarter end, e.g. 2026-06-30 (default: the latest)")
    card.add_argument("--team", action="store_true", help="every CSM, ranked")
    card.set_defaults(func=cmd_scorecard)

    _add_brief_parser(sub)  # meeting brief, see cmd_brief
    _add_evaluate_parser(sub)  # model quality over several worlds, see cmd_evaluate

    alerts = sub.add_parser("alerts", help="acknowledge, dismiss, snooze and list alerts",
                            description="Work with the alert outbox (data/alerts/outbox.sqlite).")
    alerts_sub = alerts.add_subparsers(dest="alerts_command", required=True, metavar="SUBCOMMAND")
    ack = alerts_sub.add_parser("ack", help="acknowledge an alert (stops the SLA clock)")
    ack.add_argument("alert_id", metavar="ALERT_ID", help="the alert key, e.g. payment_failure:INV0000-12")
    dismiss = alerts_sub.add_parser("dismiss", help="dismiss an alert: it is never sent or escalated")
    dismiss.add_argument("alert_id", metavar="ALERT_ID")
    snooze = alerts_sub.add_parser("snooze", help="suppress one rule's alerts for an account until a date")
    snooze.add_argument("account", metavar="ACCOUNT")
    snooze.add_argument("--rule", required=True, choices=ALERT_RULES)
    snooze.add_argument("--until", required=True, type=_date, help="last day of the snooze (YYYY-MM-DD)")
    listing = alerts_sub.add_parser("list", help="the most recent alerts in the outbox")
    listing.add_argument("--status", choices=["pending", "sent", "digest", "suppressed"])
    listing.add_argument("--limit", type=_positive, default=20)
    alerts.set_defaults(func=cmd_alerts)

    imp = sub.add_parser("import", help="import a public data set into the canonical tables",
                         description="Import an external data set through a documented mapping (docs/churn.md).")
    imp_sub = imp.add_subparsers(dest="dataset", required=True, metavar="DATASET")
    tel = imp_sub.add_parser("telco", help="the IBM Telco customer churn CSV (Apache-2.0)",
                             description="Validate the CSV (bad rows quarantined), write canonical accounts and "
                                         "contracts, and cross-validate the churn model on it.")
    tel.add_argument("path", metavar="PATH", help="e.g. ../shared/datasets/telco/Telco-Customer-Churn.csv")
    tel.add_argument("--out", help="output folder (default data/telco)")
    tel.add_argument("--as-of", type=_date, default=DEFAULT_AS_OF, help="date the snapshot was taken")
    tel.add_argument("--skip-evaluation", action="store_true", help="import only")
    tel.set_defaults(func=cmd_import_telco)

    qbr = sub.add_parser("qbr", help="QBR data packs", description="Build QBR data packs on demand.")
    qbr_sub = qbr.add_subparsers(dest="qbr_command", required=True, metavar="SUBCOMMAND")
    pack = qbr_sub.add_parser("pack", help="build one account's QBR pack (HTML under data/reports/qbr/)",
                              description="Build the ten-section QBR data pack of one account from the warehouse: "
                                          "a self-contained HTML file, or Markdown on stdout with --markdown.")
    pack.add_argument("account_id", help="e.g. ACC0000010 (ids: raw.accounts, or `csm-analytics scorecard`)")
    pack.add_argument("--as-of", type=_date, help="the pack's date (default: the latest scored day)")
    pack.add_argument("--out", help="folder for the HTML (default data/reports/qbr)")
    pack.add_argument("--markdown", action="store_true", help="print the Markdown pack instead of the file path")
    pack.set_defaults(func=cmd_qbr_pack)

    sch = sub.add_parser("schemas", help="write docs/schemas.md from the pandera models",
                         description="Render the canonical table schemas (types, nullability, rules) as Markdown.")
    sch.add_argument("--out", help="target file (default docs/schemas.md)")
    sch.set_defaults(func=cmd_schemas)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.data_dir:
        os.environ["CSM_DATA_DIR"] = str(Path(args.data_dir).resolve())
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
