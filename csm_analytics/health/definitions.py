"""The health domain: components, score, history and band transitions."""

from dagster import Definitions

from csm_analytics.health.assets import health_assets


def build_defs() -> Definitions:
    return Definitions(assets=health_assets)
