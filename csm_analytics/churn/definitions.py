"""The churn domain: model, predictions, replayed snapshots, forecast accuracy and the nightly schedule."""

from dagster import Definitions

from csm_analytics.churn.assets import churn_assets
from csm_analytics.churn.jobs import nightly_churn_job
from csm_analytics.churn.schedules import nightly_churn_schedule


def build_defs() -> Definitions:
    return Definitions(assets=churn_assets, jobs=[nightly_churn_job], schedules=[nightly_churn_schedule])
