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
from csm_analytics.alerts.messages import TITLES
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
    from csm_analytics.world.generator import ForeignFilesError, generate_world, world_is_current

    spec = _spec(args)
    out = Path(args.out) if args.out else paths.raw_dir()
    if not args.force and world_is_current(spec, out):
        print(f"world in {out} is already current for this spec; use --force to regenerate")
        return 0
    started = time.perf_counter()
    try:
        counts = generate_world(spec, out, progress=not args.quiet)
    except ForeignFilesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
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

    paths.ensure_dagster_home()
    busy = _warehouse_busy(paths.warehouse_path())
    if busy:
        print(f"error: the warehouse {paths.warehouse_path()} is open for writing in another process ({busy}). "
              "DuckDB allows one writer at a time: most likely a run started from the Dagster UI, or another "
              "`make materialize`, is still writing. Wait for it to finish (or stop it), then retry.", file=sys.stderr)
        return 2
    if not args.skip_generate and not _prepare_raw_folder(paths.raw_dir()):
        return 2
    from csm_analytics.runner import materialize_everything, record_materialized, stamp_path, warehouse_is_current

    if args.if_stale and warehouse_is_current(paths.warehouse_path(), paths.raw_dir()):
        print(f"the warehouse {paths.warehouse_path()} is current for {paths.raw_dir()} and this code "
              f"({stamp_path(paths.warehouse_path()).name}); not materializing again. The schedules and sensors in "
              "the UI keep it up to date; `make materialize` forces a full run.")
        return 0
    print(f"materializing every asset into {paths.warehouse_path()}; one line per asset as it finishes:", flush=True)
    ok = materialize_everything(verbose=True)
    print_quarantine(paths.warehouse_path())
    record_materialized(paths.warehouse_path(), paths.raw_dir(), ok)
    print("materialize: OK" if ok else "materialize: FAILED (see the failures above)", file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def print_quarantine(warehouse: Path) -> None:
    """Rows quarantined by the latest load of each file, and where to look at them."""
    import duckdb

    from csm_analytics.sources.validation import quarantine_summary

    if not warehouse.exists():
        return
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            rows = quarantine_summary(con)
    except duckdb.Error as exc:  # e.g. the UI started a run meanwhile: the counts are in raw.rejected_rows
        print(f"quarantine: counts unavailable ({exc.__class__.__name__}); see raw.rejected_rows")
        return
    if not rows:
        print("quarantine: no row quarantined")
        return
    print(f"quarantine: {sum(n for _, _, n in rows):,} rows set aside, every one with its file, row and reasons in "
          f"raw.rejected_rows (e.g. SELECT * FROM raw.rejected_rows WHERE table_name = '{rows[0][0]}'):")
    for table, source, n in rows:
        print(f"  {n:>10,}  {table:<26} {source}")


def _prepare_raw_folder(raw: Path) -> bool:
    """Generate the demo world only into a folder that holds nothing but the generator's own files.

    A folder with any other file is the user's: it is loaded as it is when every canonical table is there,
    otherwise materialize stops and names the files. Nothing of the user's is ever overwritten or deleted.
    """
    from csm_analytics.world.generator import generate_world
    from csm_analytics.world.manifest import foreign_files, missing_tables, world_is_current

    foreign = foreign_files(raw)
    if foreign:
        missing = missing_tables(raw)
        if missing:
            print(f"error: {raw} holds files the demo generator did not write ({', '.join(foreign)}), but no file "
                  f"for the tables {', '.join(missing)}. Nothing was generated or deleted. To load your own data, "
                  f"add those tables (see docs/schemas.md) and run `csm-analytics materialize --skip-generate`; "
                  f"for the demo world, move your files out of {raw} (or use --data-dir DIR).", file=sys.stderr)
            return False
        print(f"{raw} holds your own files ({', '.join(foreign)}): loading the folder as it is (bring-your-own "
              f"data; --skip-generate says so explicitly). Nothing is generated or deleted.")
        return True
    spec = WorldSpec()
    if not world_is_current(spec, raw):
        print(f"generating the default demo world into {raw} ...")
        generate_world(spec, raw)
    return True


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


def cmd_workspace(args) -> int:
    """Serve the Streamlit workspace (replaces this process, so stopping it by PID stops the server)."""
    from csm_analytics.serving import locations

    app = Path(__file__).resolve().parent / "workspace" / "app.py"
    if not locations.serving_path().exists():
        print(f"note: no serving snapshot yet at {locations.serving_path()}; the app will ask you to run "
              "`csm-analytics materialize` (or `make run`) first.", file=sys.stderr)
    print(f"CSM workspace on http://{args.host}:{args.port} (demo users: README)", flush=True)
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", args.host,
               "--server.port", str(args.port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", "--server.runOnSave", "false", "--client.toolbarMode", "minimal"]
    os.execv(sys.executable, command)
    return 0  # not reached


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


def _known_accounts(outbox) -> list[str] | None:
    """Account ids from the warehouse (read-only), else those the outbox has seen; None when neither can say."""
    import duckdb

    from csm_analytics.lib import paths
    from csm_analytics.lib.suggest import account_ids

    try:
        with duckdb.connect(str(paths.warehouse_path()), read_only=True) as con:
            return account_ids(con)
    except (duckdb.IOException, duckdb.CatalogException):
        seen = sorted({r["account_id"] for r in outbox.rows()})
        return seen or None


def _alerts_table(rows) -> str:
    """`alerts list`: a header, the event and enqueue dates, and each alert's message text."""
    import json

    header = f"{'EVENT DATE':<10}  {'ENQUEUED':<16}  {'SEVERITY':<8}  {'STATUS':<10}  {'ACCOUNT':<10}  {'ACK':<16}  " \
             f"{'ALERT':<44}  MESSAGE"
    lines = [header, "-" * len(header)]
    for r in rows:
        payload = json.loads(r["payload"])
        title = f"{TITLES.get(r['rule'], r['rule'])}: {payload.get('headline', '')}"
        ack = (r["acknowledged_at"] or "open")[:16].replace("T", " ")
        lines.append(f"{str(r['event_date'])[:10]:<10}  {str(r['enqueued_at'])[:16].replace('T', ' '):<16}  "
                     f"{r['severity']:<8}  {r['status']:<10}  {r['account_id']:<10}  {ack:<16}  {r['alert_key']:<44}  {title}")
    return "\n".join(lines)


def cmd_alerts(args) -> int:
    outbox = _outbox()
    if args.alerts_command == "snooze":
        from csm_analytics.lib.suggest import unknown_account_message

        known = _known_accounts(outbox)
        if known is None:
            print(f"error: cannot check that {args.account!r} exists: the warehouse is not readable (run `make "
                  "materialize`, or retry when the current run has finished writing)", file=sys.stderr)
            return 1
        if args.account not in known:
            print(f"error: {unknown_account_message(args.account, known)}", file=sys.stderr)
            return 1
        outbox.snooze(args.account, args.rule, args.until)
        print(f"snoozed {args.rule} alerts for {args.account} until {args.until}")
        return 0
    if args.alerts_command == "list":
        rows = outbox.rows("status = ?" if args.status else "1=1", (args.status,) if args.status else ())
        if not rows:
            print(f"no alerts{f' with status {args.status}' if args.status else ''} in {outbox.path}")
            return 0
        print(_alerts_table(rows[-args.limit:]))
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
    mat.add_argument("--if-stale", action="store_true",
                     help="do nothing when the warehouse was fully materialized from the same raw files, code and "
                          "CSM_* settings (what `make run` uses on a restart)")
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
    ack = alerts_sub.add_parser("ack", help="acknowledge an alert, or one item of a digest (stops the SLA clock)")
    ack.add_argument("alert_id", metavar="ALERT_ID", help="the alert key, e.g. payment_failure:INV0000-12")
    dismiss = alerts_sub.add_parser("dismiss", help="dismiss an alert: it is never sent or escalated")
    dismiss.add_argument("alert_id", metavar="ALERT_ID", help="the alert key, as shown by `alerts list`")
    snooze = alerts_sub.add_parser("snooze", help="suppress one rule's alerts for an account until a date")
    snooze.add_argument("account", metavar="ACCOUNT",
                        help="the account id, e.g. ACC0000203 (ids: `csm-analytics brief --list`); unknown ids are refused")
    snooze.add_argument("--rule", required=True, choices=ALERT_RULES, help="the alert rule to silence for this account")
    snooze.add_argument("--until", required=True, type=_date, help="last day of the snooze (YYYY-MM-DD)")
    listing = alerts_sub.add_parser("list", help="the most recent alerts in the outbox")
    listing.add_argument("--status", choices=["pending", "sent", "digest", "suppressed"],
                         help="only alerts with this delivery status (default: all)")
    listing.add_argument("--limit", type=_positive, default=20, help="show the most recent N alerts (default 20)")
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
    pack.add_argument("account_id", help="e.g. ACC0000010 (ids: `csm-analytics brief --list`)")
    pack.add_argument("--as-of", type=_date, help="the pack's date (default: the latest scored day)")
    pack.add_argument("--out", help="folder for the HTML (default data/reports/qbr)")
    pack.add_argument("--markdown", action="store_true", help="print the Markdown pack instead of the file path")
    pack.set_defaults(func=cmd_qbr_pack)

    ws = sub.add_parser("workspace", help="serve the CSM workspace web app (Streamlit)",
                        description="Serve the CSM workspace: login, My day, portfolio, alerts, account drill and the "
                                    "other pages (docs/workspace.md). It reads only the serving snapshot that "
                                    "`csm-analytics materialize` publishes.")
    ws.add_argument("--port", type=_positive, default=8501, help="port (default 8501)")
    ws.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ws.set_defaults(func=cmd_workspace)

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
