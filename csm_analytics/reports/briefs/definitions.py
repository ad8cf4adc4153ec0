"""The briefs domain: the CSM daily brief (mart, weekday Slack DM) and the risk heatmap.

Its resources (`briefs_config`, `slack`, `alert_outbox`) are bound in csm_analytics/resources.py.
"""

from dagster import Definitions

from csm_analytics.reports.briefs.assets import brief_assets
from csm_analytics.reports.briefs.jobs import csm_daily_brief_job
from csm_analytics.reports.briefs.schedules import brief_after_late_refresh, weekday_csm_daily_brief_schedule


def build_defs() -> Definitions:
    return Definitions(assets=brief_assets, jobs=[csm_daily_brief_job], schedules=[weekday_csm_daily_brief_schedule],
                       sensors=[brief_after_late_refresh],
                       )  # briefs_config is bound with every other resource in csm_analytics/resources.py


defs = build_defs()
