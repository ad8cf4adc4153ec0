"""The briefs' schedule and sensor: the weekday DMs at the send time, only from a brief built on today's exports.

The 07:30 DM reads marts.csm_daily_brief. It is sent only when that mart was rebuilt after the raw
exports last changed and covers their last day (`brief_is_current`). Otherwise `when_stale` in
briefs_config.toml chooses: `wait` (the default) skips the 07:30 tick, and `brief_after_late_refresh`
sends as soon as the refresh has rebuilt the brief that day; `send_with_notice` sends at 07:30 anyway,
each DM saying the data is stale and as of which day. A day gets at most one brief run (tag csm/brief_day),
and the send op itself never DMs a CSM twice for a day.
"""

from __future__ import annotations

import datetime as dt

from dagster import (
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    schedule,
    sensor,
)
from dagster._core.definitions.freshness import FreshnessState
from dagster._utils.schedules import get_latest_completed_cron_tick

from csm_analytics.lib import paths
from csm_analytics.lib.partitions import data_range
from csm_analytics.lib.raw_files import file_versions
from csm_analytics.reports.briefs.assets import BRIEF_KEY
from csm_analytics.reports.briefs.config import load_briefs_config
from csm_analytics.reports.briefs.jobs import csm_daily_brief_job

SEND = load_briefs_config()
BRIEF_DAY_TAG = "csm/brief_day"


def brief_freshness_failed(instance) -> str | None:
    """Why the brief is late, when its freshness policy (automation.py) is failing: the day's exports never came
    or the refresh failed. The brief of an earlier day is then not sent as today's."""
    record = instance.get_freshness_state_records([BRIEF_KEY]).get(BRIEF_KEY)
    if record is None or record.freshness_state != FreshnessState.FAIL:
        return None
    since = record.updated_at.strftime("%Y-%m-%d %H:%M %Z")
    return f"the brief is not fresh (failing its freshness policy since {since})"


def brief_is_current(instance) -> tuple[bool, str]:
    """(current?, why): the brief mart was materialized after the exports last changed, for their last day, and
    its freshness policy does not say it is late."""
    event = instance.get_latest_materialization_event(BRIEF_KEY)
    if event is None:
        return False, "the daily brief has never been built"
    if late := brief_freshness_failed(instance):
        return False, late
    versions = file_versions(paths.raw_dir())
    exports_changed = max((int(v.split(":")[1]) / 1e9 for v in versions.values()), default=0.0)
    built_for = str(event.asset_materialization.metadata.get("as_of_date").value
                    if event.asset_materialization.metadata.get("as_of_date") else "")
    found = data_range()
    last_day = found[1].isoformat() if found else ""
    if event.timestamp < exports_changed:
        return False, f"the brief (as of {built_for}) predates the latest exports; today's refresh has not finished"
    if last_day and built_for != last_day:
        return False, f"the brief is as of {built_for} but the exports reach {last_day}"
    return True, f"the brief is current (as of {built_for})"


def _brief_run(day: str, stale_note: str = "") -> RunRequest:
    return RunRequest(run_key=f"csm_daily_brief:{day}", tags={BRIEF_DAY_TAG: day},
                      run_config={"ops": {"send_csm_daily_briefs": {"config": {"date": day, "stale_note": stale_note}}}})


def _already_sent(instance, day: str) -> bool:
    return bool(instance.get_runs(RunsFilter(job_name=csm_daily_brief_job.name, tags={BRIEF_DAY_TAG: day}), limit=1))


@schedule(job=csm_daily_brief_job, cron_schedule=SEND.send_cron, execution_timezone=SEND.timezone,
          default_status=DefaultScheduleStatus.RUNNING,
          description="Weekdays 07:30 (briefs_config.toml): each CSM's daily brief by DM, once per CSM per day, "
                      "only from a brief rebuilt on today's exports (else it waits, or warns: when_stale).")
def weekday_csm_daily_brief_schedule(context: ScheduleEvaluationContext):
    day = context.scheduled_execution_time.date().isoformat()
    current, why = brief_is_current(context.instance)
    if _already_sent(context.instance, day):
        return SkipReason(f"the brief for {day} was already sent")
    if current:
        return _brief_run(day)
    if SEND.when_stale == "send_with_notice":
        return _brief_run(day, f"Data may be stale: {why}.")
    return SkipReason(f"waiting: {why}; brief_after_late_refresh sends it once the refresh succeeds")


@sensor(job=csm_daily_brief_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING,
        description="With when_stale = wait: sends the day's brief as soon as a late refresh has rebuilt it.")
def brief_after_late_refresh(context: SensorEvaluationContext):
    if SEND.when_stale != "wait":
        return SkipReason(f"when_stale = {SEND.when_stale}: the 07:30 schedule always sends")
    now = dt.datetime.now(dt.timezone.utc)
    due = get_latest_completed_cron_tick(SEND.send_cron, now, SEND.timezone)
    day = due.date().isoformat()
    if due.date() != now.astimezone(due.tzinfo).date():
        return SkipReason("no brief is due today")
    if _already_sent(context.instance, day):
        return SkipReason(f"the brief for {day} was already sent")
    current, why = brief_is_current(context.instance)
    return _brief_run(day) if current else SkipReason(f"still waiting: {why}")
