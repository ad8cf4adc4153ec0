"""The serving domain: side-store ingestion and the serving snapshot (resource workspace_stores is bound by
the composition root, csm_analytics/resources.py, like every other resource)."""

from dagster import Definitions

from csm_analytics.serving.assets import serving_assets


def build_defs() -> Definitions:
    return Definitions(assets=serving_assets)
