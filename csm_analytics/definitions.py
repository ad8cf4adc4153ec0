"""The code location: merges the domains and binds the resources of the chosen environment."""

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor

from csm_analytics import automation
from csm_analytics.alerts import definitions as alerts
from csm_analytics.churn import definitions as churn
from csm_analytics.expansion import definitions as expansion
from csm_analytics.health import definitions as health
from csm_analytics.portfolio import definitions as portfolio
from csm_analytics.reports import definitions as reports
from csm_analytics.reports.briefs import definitions as briefs
from csm_analytics.reports.executive.assets import REPORT_KEY
from csm_analytics.reports.qbr.assets import PACK_KEY
from csm_analytics.lib.partitions import full_history_tags
from csm_analytics.resources import resources_for
from csm_analytics.serving import definitions as serving
from csm_analytics.sources import definitions as sources

MATERIALIZE_JOB = "materialize_everything"


def build_definitions() -> Definitions:
    # DuckDB allows one writer process, so every run executes its steps in one process.
    platform = Definitions(
        jobs=[define_asset_job(MATERIALIZE_JOB, selection=AssetSelection.all() - AssetSelection.assets(PACK_KEY, REPORT_KEY),
                               description="Every asset but the per-account QBR packs and the monthly report "
                                           "(jobs qbr_packs and executive_monthly_report), in dependency order. "
                                           "Without a partition it runs every day of history in one run.",
                               tags=full_history_tags())],  # issue 17: a Launchpad run needs no partition
        resources=resources_for(),  # CSM_ENV = local | ci | prod picks them; asset code never changes
        executor=in_process_executor,
    )
    merged = Definitions.merge(sources.build_defs(), health.build_defs(), churn.build_defs(), alerts.build_defs(),
                               portfolio.build_defs(), expansion.build_defs(), briefs.build_defs(), reports.build_defs(),
                               serving.build_defs(), automation.build_defs(), platform)  # automation: daily refresh, raw sensor, freshness
    return automation.with_freshness_policies(merged)


defs = build_definitions()
