"""The briefs domain: the CSM daily brief (mart, weekday Slack DM) and the risk heatmap.

Slack and the alert outbox are the alerts domain's resources (`slack`, `alert_outbox`), bound there.
"""

from dagster import Definitions

from csm_analytics.reports.briefs.assets import (
    BriefsConfigResource, brief_assets, csm_daily_brief_job, weekday_csm_daily_brief_schedule,
)


def build_defs() -> Definitions:
    return Definitions(assets=brief_assets, jobs=[csm_daily_brief_job], schedules=[weekday_csm_daily_brief_schedule],
                       resources={"briefs_config": BriefsConfigResource()})


defs = build_defs()
