"""The serving domain: side-store ingestion and the serving snapshot, with their resource."""

from dagster import Definitions

from csm_analytics.serving.assets import WorkspaceStoresResource, serving_assets


def build_defs() -> Definitions:
    return Definitions(assets=serving_assets, resources={"workspace_stores": WorkspaceStoresResource()})
