"""The reports domain: QBR pipeline and packs, and the executive monthly report."""

from dagster import Definitions

from csm_analytics.reports.executive.assets import executive_assets, executive_report_job, executive_report_schedule
from csm_analytics.reports.qbr.assets import qbr_assets, qbr_packs_job


def build_defs() -> Definitions:
    return Definitions(assets=qbr_assets + executive_assets, jobs=[qbr_packs_job, executive_report_job],
                       schedules=[executive_report_schedule])
