"""The sources domain: raw canonical tables and their quarantine checks."""

from dagster import Definitions

from csm_analytics.sources.assets import source_assets


def build_defs() -> Definitions:
    return Definitions(assets=source_assets)
