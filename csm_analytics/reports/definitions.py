"""The reports domain: QBR pipeline and packs, and the executive monthly report."""

from dagster import Definitions

from csm_analytics.reports.executive.assets import executive_assets
from csm_analytics.reports.executive.jobs import executive_report_job
from csm_analytics.reports.executive.schedules import executive_report_schedule
from csm_analytics.reports.qbr.assets import qbr_assets
from csm_analytics.reports.qbr.jobs import qbr_packs_job


def build_defs() -> Definitions:
    return Definitions(assets=qbr_assets + executive_assets, jobs=[qbr_packs_job, executive_report_job],
                       schedules=[executive_report_schedule])
