"""The alerts' schedules: the Monday digest."""

from dagster import DefaultScheduleStatus, schedule

from csm_analytics.alerts.jobs import weekly_alert_digest


@schedule(job=weekly_alert_digest, cron_schedule="0 8 * * 1", default_status=DefaultScheduleStatus.RUNNING,
          description="Monday 08:00: each CSM's digest.")
def monday_alert_digest_schedule():
    return {}
