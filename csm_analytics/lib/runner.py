"""Materialize the whole graph in-process against the instance in DAGSTER_HOME.

Used by `make materialize` (and so `make run`): the UI then shows every
materialization, and the exit code reflects failed assets and blocking checks.
"""

from __future__ import annotations

from dagster import AssetCheckSeverity, DagsterInstance


def materialize_everything(instance: DagsterInstance | None = None, verbose: bool = False) -> bool:
    from csm_analytics.definitions import MATERIALIZE_JOB, defs

    instance = instance or DagsterInstance.get()
    job = defs.resolve_job_def(MATERIALIZE_JOB)
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=quiet)
    failed_checks = [
        e for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == AssetCheckSeverity.ERROR
    ]
    if verbose:
        for event in result.get_asset_materialization_events():
            mat = event.event_specific_data.materialization
            rows = mat.metadata.get("dagster/row_count")
            print(f"  materialized {mat.asset_key.to_user_string():<40} {'' if rows is None else f'{rows.value:>12,} rows'}")
        for step in result.get_failed_step_keys() if hasattr(result, "get_failed_step_keys") else []:
            print(f"  FAILED step {step}")
        for e in failed_checks:
            print(f"  FAILED blocking check {e.asset_check_key.asset_key.to_user_string()}:{e.check_name}")
        for event in result.all_events:
            if event.is_step_failure:
                print(f"  FAILED {event.step_key}: {event.step_failure_data.error.message.strip()}")
    return result.success and not failed_checks
