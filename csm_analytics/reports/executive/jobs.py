"""The executive report's job: one month's report (a monthly partition)."""

from dagster import define_asset_job

from csm_analytics.lib.partitions import REPORT_MONTHS
from csm_analytics.reports.executive.assets import REPORT_KEY

executive_report_job = define_asset_job("executive_monthly_report", selection=[REPORT_KEY],
                                        partitions_def=REPORT_MONTHS)
