"""The churn domain's schedules: yesterday's partition of the nightly snapshot job at 02:00."""

from dagster import build_schedule_from_partitioned_job

from csm_analytics.churn.jobs import nightly_churn_job

nightly_churn_schedule = build_schedule_from_partitioned_job(nightly_churn_job, hour_of_day=2, minute_of_hour=0)
