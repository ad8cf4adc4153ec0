"""The briefs' schedules: the weekday daily-brief DMs at the send time of briefs_config.toml."""

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from csm_analytics.reports.briefs.config import load_briefs_config
from csm_analytics.reports.briefs.jobs import csm_daily_brief_job

SEND = load_briefs_config()



@schedule(job=csm_daily_brief_job, cron_schedule=SEND.send_cron, execution_timezone=SEND.timezone,
          default_status=DefaultScheduleStatus.RUNNING,
          description="Weekdays 07:30 (briefs_config.toml): each CSM's daily brief by DM, once per CSM per day.")
def weekday_csm_daily_brief_schedule(context: ScheduleEvaluationContext):
    day = context.scheduled_execution_time.date().isoformat()
    return RunRequest(run_key=f"csm_daily_brief:{day}",
                      run_config={"ops": {"send_csm_daily_briefs": {"config": {"date": day}}}})
