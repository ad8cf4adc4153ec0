"""Materialize the whole graph in-process against the instance in DAGSTER_HOME.

Used by `make materialize` (and so `make run`): the UI then shows every
materialization, and the exit code reflects failed assets and blocking checks.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from dagster import AssetCheckSeverity, DagsterEventType, DagsterInstance, colored_console_logger, logger
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from csm_analytics.lib import paths
from csm_analytics.lib.raw_files import RAW_VERSION_TAG, file_versions, folder_version


def materialize_everything(instance: DagsterInstance | None = None, verbose: bool = False,
                           groups: list[str] | None = None, definitions=None, qbr_pack_limit: int | None = None) -> bool:
    """Run every asset (or only those in `groups`) in one in-process run; False if anything failed.

    `definitions` defaults to the code location's; pass `build_definitions()` to bind the resources
    of an environment chosen after import (tests, benchmarks). Without `groups`, the QBR packs due
    (all of them, or the `qbr_pack_limit` due soonest) and the latest monthly report follow.
    """
    from dagster import AssetSelection, Definitions, define_asset_job

    from csm_analytics.definitions import MATERIALIZE_JOB
    from csm_analytics.definitions import defs as location_defs

    defs = definitions or location_defs

    instance = instance or DagsterInstance.get()
    if groups:
        subset = define_asset_job("materialize_groups", selection=AssetSelection.groups(*groups))
        job = Definitions.merge(defs, Definitions(jobs=[subset])).resolve_job_def("materialize_groups")
    else:
        job = defs.resolve_job_def(MATERIALIZE_JOB)
    quiet = _quiet(verbose)
    job = _with_progress(job, verbose)
    tags = {}
    if job.partitions_def is not None:  # one run backfills every daily partition (single-run backfill policy)
        keys = job.partitions_def.get_partition_keys(dynamic_partitions_store=instance)
        tags = {ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]}
    if not groups:  # the raw-files sensor then knows these exports are loaded and queues no refresh of them
        tags[RAW_VERSION_TAG] = folder_version(file_versions(paths.raw_dir()))
    result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=quiet, tags=tags)
    ok = _report(result, verbose)
    if groups or not ok:
        return ok
    return _partitioned_reports(instance, verbose, defs, qbr_pack_limit)


def _soonest_due(defs, limit: int) -> list[str]:
    """The `limit` accounts of marts.qbr_pipeline whose QBR is due soonest (overdue first), ties by account id."""
    from csm_analytics.reports.qbr.assets import DUE_FOR_PACKS

    with defs.resources["duckdb"].get_connection() as con:
        return [r[0] for r in con.execute(
            "SELECT account_id FROM marts.qbr_pipeline WHERE list_contains(?, due_window) "
            "ORDER BY next_qbr_due, account_id LIMIT ?", [list(DUE_FOR_PACKS), int(limit)]).fetchall()]


def _partitioned_reports(instance: DagsterInstance, verbose: bool, defs, qbr_pack_limit: int | None = None) -> bool:
    """The QBR packs due (one run per account partition) and the latest month's executive report."""
    from csm_analytics.reports.executive.assets import REPORT_MONTHS

    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    ok = True
    started = time.perf_counter()
    packs = defs.resolve_job_def("qbr_packs")
    accounts = instance.get_dynamic_partitions("qbr_accounts")
    if qbr_pack_limit is not None and len(accounts) > qbr_pack_limit:
        accounts = _soonest_due(defs, qbr_pack_limit)
    for account_id in accounts:
        ok &= packs.execute_in_process(instance=instance, partition_key=account_id, raise_on_error=False,
                                       run_config=quiet).success
    if verbose:
        print(f"  {'reports/qbr_pack':<44} {len(accounts):>10,} packs {time.perf_counter() - started:7.1f} s"
              "  (one run per account)", flush=True)
    month = REPORT_MONTHS.get_last_partition_key()
    if month is None:  # the history is shorter than the year the report's trailing figures need
        if verbose:
            print(f"  {'reports/executive_monthly_report':<44} skipped: no report month yet (the first is a year "
                  "after the history starts; CSM_REPORT_START=YYYY-MM-01 sets it)", flush=True)
        return ok
    started = time.perf_counter()
    report = defs.resolve_job_def("executive_monthly_report").execute_in_process(
        instance=instance, partition_key=month, raise_on_error=False, run_config=quiet)
    if verbose:
        print(f"  {'reports/executive_monthly_report':<44} {month:>15} {time.perf_counter() - started:7.1f} s", flush=True)
    return ok and report.success


class ProgressHandler(logging.Handler):
    """Prints one line per asset as its step ends: asset key, rows, seconds (partitions counted).

    Fed by the `progress` Dagster logger, which receives every structured run event; the console
    logger stays at WARNING so a run is one readable line per asset rather than hundreds of events."""

    def __init__(self, stream=None):
        super().__init__(level=logging.DEBUG)
        self.stream = stream or sys.stdout
        self.step_started: dict[str, float] = {}
        self.pending: dict[str, dict[str, list]] = {}  # step -> asset key -> [partitions, rows]

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None or event.step_key is None:
            return
        step = event.step_key
        if event.event_type == DagsterEventType.STEP_START:
            self.step_started[step] = time.perf_counter()
        elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            mat = event.event_specific_data.materialization
            rows = mat.metadata.get("dagster/row_count")
            entry = self.pending.setdefault(step, {}).setdefault(mat.asset_key.to_user_string(), [0, None])
            entry[0] += 1
            entry[1] = rows.value if rows is not None else entry[1]
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            seconds = time.perf_counter() - self.step_started.pop(step, time.perf_counter())
            assets = self.pending.pop(step, {})
            if event.event_type == DagsterEventType.STEP_FAILURE:
                print(f"  {step.replace('__', '/'):<44} {'FAILED':>15} {seconds:7.1f} s", file=self.stream, flush=True)
            for key, (count, rows) in assets.items():
                print(progress_line(key, rows, seconds, count), file=self.stream, flush=True)


def progress_line(asset: str, rows, seconds: float, partitions: int = 1) -> str:
    """"  raw/accounts        220 rows     0.4 s": what `make run` prints per asset as it finishes."""
    count = "" if rows is None else f"{int(rows):>10,} rows"
    return (f"  {asset:<44} {count:>15} {seconds:7.1f} s"
            + (f"  ({partitions:,} daily partitions)" if partitions > 1 else ""))


@logger(description="Progress lines for `csm-analytics materialize`: one per asset with rows and seconds.")
def progress_logger(_init_context):
    log = logging.Logger("csm_analytics.progress", level=logging.DEBUG)
    log.addHandler(ProgressHandler())
    return log


def _with_progress(job, verbose: bool):
    if not verbose:
        return job
    return job.with_logger_defs({"console": colored_console_logger, "progress": progress_logger})


def _quiet(verbose: bool) -> dict:
    loggers = {"console": {"config": {"log_level": "WARNING"}}}
    if verbose:
        loggers["progress"] = {}
    return {"loggers": loggers}


def _report(result, verbose: bool) -> bool:
    failed_checks = [
        e for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == AssetCheckSeverity.ERROR
    ]
    if verbose:
        for e in failed_checks:
            print(f"  FAILED blocking check {e.asset_check_key.asset_key.to_user_string()}:{e.check_name}")
        for event in result.all_events:
            if event.is_step_failure:
                error = event.step_failure_data.error
                while error.cause is not None:  # the user's exception, not Dagster's wrapper
                    error = error.cause
                print(f"  FAILED {event.step_key}: {error.message.strip()}")
    return result.success and not failed_checks


# --- "is the warehouse current?": lets `make run` start the UI at once on a restart -------------------------------
STAMP_SUFFIX = ".materialized.json"
_CODE_SUFFIXES = (".py", ".toml", ".j2", ".css", ".sql")


def stamp_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + STAMP_SUFFIX)


def current_inputs(raw_dir: Path) -> dict:
    """What a full materialization depends on: every raw file (name, size, mtime), the code and its config
    files (a content hash), and the CSM_* settings. Equal inputs give an equal warehouse."""
    import hashlib
    import os

    files = {p.name: [p.stat().st_size, p.stat().st_mtime_ns] for p in sorted(Path(raw_dir).glob("*"))
             if p.is_file() and p.suffix in (".parquet", ".csv")}
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if p.suffix in _CODE_SUFFIXES and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    settings = {k: v for k, v in sorted(os.environ.items()) if k.startswith("CSM_")}
    return {"raw_files": files, "code": digest.hexdigest(), "settings": settings}


def warehouse_is_current(warehouse: Path, raw_dir: Path) -> bool:
    """True when the warehouse exists and was last fully materialized from exactly these inputs."""
    import json

    stamp = stamp_path(warehouse)
    if not warehouse.exists() or not stamp.exists():
        return False
    try:
        return json.loads(stamp.read_text()).get("inputs") == current_inputs(raw_dir)
    except (OSError, ValueError):
        return False


def record_materialized(warehouse: Path, raw_dir: Path, ok: bool) -> None:
    """After a full run: stamp the inputs when it succeeded, remove the stamp when it did not."""
    import datetime as dt
    import json

    stamp = stamp_path(warehouse)
    if ok:
        stamp.write_text(json.dumps({"materialized_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                                     "inputs": current_inputs(raw_dir)}, indent=1))
    else:
        stamp.unlink(missing_ok=True)
