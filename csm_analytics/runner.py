"""Materialize the whole graph in-process against the instance in DAGSTER_HOME.

Used by `make materialize` (and so `make run`): the UI then shows every
materialization, and the exit code reflects failed assets and blocking checks.
"""

from __future__ import annotations

from dagster import AssetCheckSeverity, DagsterInstance
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)


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
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    tags = {}
    if job.partitions_def is not None:  # one run backfills every daily partition (single-run backfill policy)
        keys = job.partitions_def.get_partition_keys(dynamic_partitions_store=instance)
        tags = {ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]}
    result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=quiet, tags=tags)
    ok = _report(result, verbose)
    if groups or not ok:
        return ok
    return _partitioned_reports(instance, verbose, defs, qbr_pack_limit)


def _soonest_due(defs, limit: int) -> list[str]:
    """The `limit` accounts of marts.qbr_pipeline whose QBR is due soonest (overdue first), ties by account id."""
    from csm_analytics.reports.qbr.assets import DUE_FOR_PACKS

    windows = ", ".join(f"'{w}'" for w in DUE_FOR_PACKS)
    with defs.resources["duckdb"].get_connection() as con:
        return [r[0] for r in con.execute(
            f"SELECT account_id FROM marts.qbr_pipeline WHERE due_window IN ({windows}) "
            f"ORDER BY next_qbr_due, account_id LIMIT {int(limit)}").fetchall()]


def _partitioned_reports(instance: DagsterInstance, verbose: bool, defs, qbr_pack_limit: int | None = None) -> bool:
    """The QBR packs due (one run per account partition) and the latest month's executive report."""
    from csm_analytics.reports.executive.assets import REPORT_MONTHS

    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    ok = True
    packs = defs.resolve_job_def("qbr_packs")
    accounts = instance.get_dynamic_partitions("qbr_accounts")
    if qbr_pack_limit is not None and len(accounts) > qbr_pack_limit:
        accounts = _soonest_due(defs, qbr_pack_limit)
    for account_id in accounts:
        ok &= packs.execute_in_process(instance=instance, partition_key=account_id, raise_on_error=False,
                                       run_config=quiet).success
    month = REPORT_MONTHS.get_last_partition_key()
    report = defs.resolve_job_def("executive_monthly_report").execute_in_process(
        instance=instance, partition_key=month, raise_on_error=False, run_config=quiet)
    if verbose:
        print(f"  materialized reports/qbr_pack {'':<27} {len(accounts):>12,} packs (one run each)")
        print(f"  materialized reports/executive_monthly_report {'':<9} {month}")
    return ok and report.success


def _report(result, verbose: bool) -> bool:
    failed_checks = [
        e for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == AssetCheckSeverity.ERROR
    ]
    if verbose:
        summary: dict[str, list] = {}
        for event in result.get_asset_materialization_events():
            mat = event.event_specific_data.materialization
            rows = mat.metadata.get("dagster/row_count")
            entry = summary.setdefault(mat.asset_key.to_user_string(), [0, None])
            entry[0] += 1
            entry[1] = rows.value if rows is not None else None
        for key, (count, rows) in summary.items():
            partitions = f"  ({count} daily partitions)" if count > 1 else ""
            print(f"  materialized {key:<40} {'' if rows is None else f'{rows:>12,} rows'}{partitions}")
        for e in failed_checks:
            print(f"  FAILED blocking check {e.asset_check_key.asset_key.to_user_string()}:{e.check_name}")
        for event in result.all_events:
            if event.is_step_failure:
                error = event.step_failure_data.error
                while error.cause is not None:  # the user's exception, not Dagster's wrapper
                    error = error.cause
                print(f"  FAILED {event.step_key}: {error.message.strip()}")
    return result.success and not failed_checks
