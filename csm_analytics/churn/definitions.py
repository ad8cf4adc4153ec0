"""The churn domain: model, predictions, replayed snapshots, forecast accuracy and the nightly schedule."""

from dagster import Definitions

from csm_analytics.churn.assets import churn_assets, nightly_churn_job, nightly_churn_schedule


def build_defs() -> Definitions:
    return Definitions(assets=churn_assets, jobs=[nightly_churn_job], schedules=[nightly_churn_schedule])
