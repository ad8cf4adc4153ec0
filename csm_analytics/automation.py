"""The platform keeps itself fresh: the daily refresh, the raw-files sensor, freshness policies, the ops message.

Mechanism: one daily job with a schedule (and the same job requested by the raw-files sensor), not
declarative automation. DuckDB allows one writer process. One run refreshes every asset of the day in
dependency order, in one process, holding the warehouse once; eager automation would start a run per
group of ready assets as each parent lands, many processes queuing for the same file. The instance's
QueuedRunCoordinator (`max_concurrent_runs: 1`, data/dagster_home/dagster.yaml and deploy/dagster.yaml)
queues anything else launched meanwhile (a UI backfill, a second export), and the `duckdb_warehouse`
pool serialises warehouse steps across runs: runs queue, they never collide.

Which day: the last `usage_date` of the raw product-usage export (lib/partitions.py's rule), not the
wall clock. A refresh is keyed on the version of the raw folder (lib/raw_files.py): the same files are
refreshed once, whichever of the schedule or the sensor sees them first.

Freshness: Dagster's `FreshnessPolicy` on the key assets (it superseded the freshness checks). The daemon
evaluates policies itself, without a run, so nothing queues behind the refresh (a check run did, one per asset
as each came due). Open-source Dagster has no alert on a policy, so `freshness_to_ops` reads the stored
freshness states and posts one ops message per incident (first Fail until all pass again).
"""

from __future__ import annotations

import datetime as dt
import json
import os

from dagster import (
    AssetKey,
    AssetSelection,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    FreshnessPolicy,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    run_status_sensor,
    schedule,
    sensor,
)

from dagster._core.definitions.freshness import FreshnessState

from csm_analytics.alerts.assets import EVENTS_KEY
from csm_analytics.alerts.resources import AlertOutboxResource
from csm_analytics.alerts.slack import SlackMessenger
from csm_analytics.churn.assets import MODEL_KEY, VERSIONS_KEY
from csm_analytics.health.assets import SCORE_KEY
from csm_analytics.lib import paths
from csm_analytics.lib.partitions import HISTORY_PARTITIONS, data_range
from csm_analytics.lib.raw_files import (
    RAW_VERSION_TAG,
    changed_files,
    file_versions,
    folder_version,
    still_settling,
)
from csm_analytics.reports.briefs.assets import BRIEF_KEY
from csm_analytics.reports.executive.assets import REPORT_KEY
from csm_analytics.reports.qbr.assets import PACK_KEY, PIPELINE_KEY
from csm_analytics.reports.qbr.jobs import qbr_packs_job
from csm_analytics.serving.assets import SNAPSHOT_KEY

DAILY_REFRESH_JOB = "daily_refresh"
DATA_DAY_TAG = "csm/data_day"
REFRESH_CRON = os.environ.get("CSM_REFRESH_CRON", "0 5 * * *")  # after the nightly exports land
# Health score (and the rest) by 06:00; empty: no deadline, fresh means updated within CSM_FRESH_WITHIN_SECONDS.
FRESH_BY_CRON = os.environ.get("CSM_FRESH_BY_CRON", "0 6 * * *") or None
TIMEZONE = os.environ.get("CSM_TIMEZONE", "UTC")
# How far before the deadline the last update may lie and still count as fresh (a day, plus slack for a late export).
FRESH_WITHIN = dt.timedelta(seconds=int(os.environ.get("CSM_FRESH_WITHIN_SECONDS", str(24 * 3600))))
# How often the raw folder is looked at, and how often a failing freshness is looked for (the daemon evaluates the
# policies every 30 s, FRESHNESS_DAEMON_INTERVAL_SECONDS).
RAW_SENSOR_SECONDS = int(os.environ.get("CSM_RAW_SENSOR_INTERVAL_SECONDS", "30"))
FRESHNESS_SENSOR_SECONDS = int(os.environ.get("CSM_FRESHNESS_SENSOR_INTERVAL_SECONDS", "60"))
# The assets with a freshness policy: what CSMs and the workspace read each morning.
FRESHNESS_KEYS = [SCORE_KEY, EVENTS_KEY, BRIEF_KEY, SNAPSHOT_KEY]
# Not refreshed nightly: the model is refitted on purpose (materialize_everything), never nightly; the
# per-account QBR packs and the monthly report have their own jobs (packs due follow a successful refresh).
# QBR packs built after one refresh (one run each, queued behind it); the rest follow on the next days.
PACKS_PER_REFRESH = int(os.environ.get("CSM_QBR_PACKS_PER_REFRESH", "50"))
NOT_NIGHTLY = AssetSelection.assets(MODEL_KEY, VERSIONS_KEY, PACK_KEY, REPORT_KEY)

# Dagster's freshness policy, evaluated by the daemon's freshness loop (no run, no sensor): a deadline passed with
# no update in the FRESH_WITHIN before it turns the asset's freshness to Fail in the UI until it materializes again.
FRESHNESS_POLICY = (FreshnessPolicy.cron(deadline_cron=FRESH_BY_CRON, lower_bound_delta=FRESH_WITHIN, timezone=TIMEZONE)
                    if FRESH_BY_CRON else FreshnessPolicy.time_window(fail_window=FRESH_WITHIN))


def with_freshness_policies(defs: Definitions) -> Definitions:
    """The code location with FRESHNESS_POLICY on each of FRESHNESS_KEYS (the domains stay unaware of the schedule)."""
    return defs.map_resolved_asset_specs(
        func=lambda spec: spec.replace_attributes(freshness_policy=FRESHNESS_POLICY),
        selection=AssetSelection.assets(*FRESHNESS_KEYS))


daily_refresh_job = define_asset_job(
    DAILY_REFRESH_JOB, selection=AssetSelection.all() - NOT_NIGHTLY,
    partitions_def=HISTORY_PARTITIONS,
    description="The day's refresh in one run: reload the raw exports, the new day's health and churn partitions, "
                "band transitions and alerts, every mart, the daily brief (and any asset added later, such as the "
                "serving data). Started by the 05:00 schedule and by the raw-files sensor; the QBR packs due "
                "follow it (qbr_packs_after_refresh).")


def _already_requested(instance, version: str) -> bool:
    """A run loading these exact files is queued, running or done (a failed one may be retried): a daily refresh,
    or the full materialize of `make run` / `make materialize` (runner.py tags it with the same version)."""
    runs = instance.get_runs(RunsFilter(tags={RAW_VERSION_TAG: version}), limit=5)
    return any(r.status not in (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED) for r in runs)


def refresh_request(instance, versions: dict[str, str], origin: str) -> RunRequest | SkipReason:
    """The daily refresh of the last day in the raw exports, or why there is nothing to do."""
    if not versions:
        return SkipReason(f"no export files in {paths.raw_dir()}: nothing to refresh")
    found = data_range()
    if found is None:
        return SkipReason(f"no readable product_usage export in {paths.raw_dir()}: the day to refresh is unknown")
    day = found[1].isoformat()
    if instance.get_latest_materialization_event(VERSIONS_KEY) is None:  # a fresh instance: nothing built yet
        return SkipReason("the churn model was never trained on this instance, and the daily refresh scores with it "
                          "but never refits it: materialize everything once (`make materialize`, or Materialize all "
                          "in the UI); the refresh follows on the next tick")
    if not HISTORY_PARTITIONS.has_partition_key(day):
        return SkipReason(f"the exports reach {day}, past the code location's last daily partition; reload the code "
                          "location (the daemon does it within a minute) or leave CSM_HISTORY_END empty")
    version = folder_version(versions)
    if _already_requested(instance, version):
        return SkipReason(f"these exports (version {version}, data to {day}) are already refreshed or queued")
    return RunRequest(run_key=f"{day}:{version}", partition_key=day,
                      tags={RAW_VERSION_TAG: version, DATA_DAY_TAG: day, "csm/started_by": origin})


@schedule(job=daily_refresh_job, cron_schedule=REFRESH_CRON, execution_timezone=TIMEZONE,
          default_status=DefaultScheduleStatus.RUNNING,
          description="05:00 (CSM_REFRESH_CRON): refresh the last day of the raw exports, unless already done.")
def daily_refresh_schedule(context):
    return refresh_request(context.instance, file_versions(paths.raw_dir()), "schedule")


@sensor(job=daily_refresh_job, minimum_interval_seconds=RAW_SENSOR_SECONDS, default_status=DefaultSensorStatus.RUNNING,
        description="Watches CSM_RAW_DIR: a new or changed export starts one refresh (run key per file version).")
def raw_files_sensor(context: SensorEvaluationContext):
    versions = file_versions(paths.raw_dir())
    before = json.loads(context.cursor) if context.cursor else {}
    if versions == before:
        return SkipReason("no new or changed export")
    if settling := still_settling(versions):
        return SkipReason(f"{', '.join(settling)} still being written; next tick")
    context.log.info(f"new or changed exports: {', '.join(changed_files(before, versions))}")
    result = refresh_request(context.instance, versions, "raw_files_sensor")
    if isinstance(result, RunRequest) or _already_requested(context.instance, folder_version(versions)):
        context.update_cursor(json.dumps(versions))  # otherwise (no partition for the day yet) look again next tick
    return result


def failed_freshness(instance) -> list[tuple[AssetKey, str]]:
    """(asset, when it turned Fail) of every asset of FRESHNESS_KEYS whose freshness state is Fail now."""
    records = instance.get_freshness_state_records(FRESHNESS_KEYS)
    return [(key, f"{record.updated_at.timestamp():.3f}") for key, record in records.items()
            if record.freshness_state == FreshnessState.FAIL]


def refresh_failed_recently(instance, hours: int = 24) -> str | None:
    """The run id of the latest daily_refresh if it failed within `hours` (its failure was posted to ops)."""
    records = instance.get_run_records(RunsFilter(job_name=DAILY_REFRESH_JOB), limit=1)
    if not records or records[0].dagster_run.status != DagsterRunStatus.FAILURE:
        return None
    when = (records[0].end_time or records[0].create_timestamp.timestamp())
    return records[0].dagster_run.run_id if dt.datetime.now(dt.timezone.utc).timestamp() - when < hours * 3600 else None


@sensor(minimum_interval_seconds=FRESHNESS_SENSOR_SECONDS, default_status=DefaultSensorStatus.RUNNING,
        description="Posts one message to the ops channel per late-data incident: from the first key asset whose "
                    "freshness turns Fail until all pass again (none when a failed daily_refresh was already posted "
                    "by run_failure_to_ops).")
def freshness_to_ops(context: SensorEvaluationContext, alert_outbox: AlertOutboxResource, slack: SlackMessenger):
    # The assets of one refresh turn Fail seconds apart (each from its own last update): one incident, one message.
    loaded = json.loads(context.cursor) if context.cursor else {}
    incident = loaded.get("incident") if isinstance(loaded, dict) else None  # the list of earlier versions: none
    failing = failed_freshness(context.instance)
    if not failing:
        if incident:
            context.update_cursor(json.dumps({}))
        return SkipReason("every freshness policy passes")
    names = ", ".join(key.to_user_string() for key, _ in failing)
    if incident:
        return SkipReason(f"still late: {names}; ops was told when this began ({incident})")
    incident = min(when for _, when in failing)
    # the cursor is stored when the tick ends; a post that raised is tried again on the next tick
    context.update_cursor(json.dumps({"incident": incident}))
    failed_run = refresh_failed_recently(context.instance)
    if failed_run:  # run_failure_to_ops already told ops about this day: one message per incident
        return SkipReason(f"{names} late because daily_refresh run {failed_run[:8]} failed; ops already told")
    deadline = f"by the {FRESH_BY_CRON} ({TIMEZONE}) deadline" if FRESH_BY_CRON else f"within {FRESH_WITHIN}"
    text = (f":hourglass: Late data: {names} not refreshed {deadline}. "
            "Check the daily_refresh runs and the raw exports in CSM_RAW_DIR.")
    slack.transport().post(alert_outbox.config().ops_channel, text,
                           [{"type": "section", "text": {"type": "mrkdwn", "text": text}}], f"freshness:{incident}")
    return SkipReason(f"posted to ops: {names}")


def qbr_pack_requests(instance, day: str) -> list[RunRequest]:
    """One qbr_packs run per account due whose pack is not built from today's data (from marts.qbr_pipeline's
    metadata, so no warehouse read races the next run), soonest due first, at most PACKS_PER_REFRESH."""
    event = instance.get_latest_materialization_event(PIPELINE_KEY)
    listed = event.asset_materialization.metadata.get("packs_to_build") if event else None
    accounts = list(listed.value)[:PACKS_PER_REFRESH] if listed is not None else []
    return [RunRequest(run_key=f"qbr_pack:{account}:{day}", partition_key=account) for account in accounts]


@run_status_sensor(run_status=DagsterRunStatus.SUCCESS, monitored_jobs=[daily_refresh_job], request_job=qbr_packs_job,
                   default_status=DefaultSensorStatus.RUNNING,
                   description="After a successful daily refresh: build the QBR packs due (one queued run each).")
def qbr_packs_after_refresh(context):
    return qbr_pack_requests(context.instance, context.dagster_run.tags.get(DATA_DAY_TAG, "")) or \
        SkipReason("no QBR pack due needs building")


def build_defs() -> Definitions:
    return Definitions(jobs=[daily_refresh_job], schedules=[daily_refresh_schedule],
                       sensors=[raw_files_sensor, freshness_to_ops, qbr_packs_after_refresh])
