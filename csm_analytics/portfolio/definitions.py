"""The portfolio domain: retention, account-plan currency and QBR compliance."""

from dagster import Definitions

from csm_analytics.portfolio.assets import portfolio_assets


def build_defs() -> Definitions:
    return Definitions(assets=portfolio_assets)
