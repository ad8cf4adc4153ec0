"""The executive report's schedule."""

from dagster import build_schedule_from_partitioned_job

from csm_analytics.reports.executive.jobs import executive_report_job

# Runs on the 1st at 06:00 for the month just ended.
executive_report_schedule = build_schedule_from_partitioned_job(executive_report_job, hour_of_day=6)
