"""The expansion domain: readiness signals, the calibrated pipeline forecast and its backtest, the KPI catalogue."""

from dagster import Definitions

from csm_analytics.expansion.assets import expansion_assets


def build_defs() -> Definitions:
    return Definitions(assets=expansion_assets)  # its resource is bound in csm_analytics/resources.py
