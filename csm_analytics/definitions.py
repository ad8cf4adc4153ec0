"""The code location: merges the domains and binds the resources of the chosen environment."""

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor

from csm_analytics.lib.resources import default_resources
from csm_analytics.sources.definitions import defs as sources_defs

MATERIALIZE_JOB = "materialize_everything"

# DuckDB allows one writer process, so every run executes its steps in one process.
platform_defs = Definitions(
    jobs=[define_asset_job(MATERIALIZE_JOB, selection=AssetSelection.all(), description="Every asset, in dependency order.")],
    resources=default_resources(),
    executor=in_process_executor,
)

defs = Definitions.merge(sources_defs, platform_defs)
