"""The alerts domain: alert events, delivery sensor, digest schedule and run-failure posts."""

from dagster import Definitions

from csm_analytics.alerts.assets import alert_assets
from csm_analytics.alerts.jobs import weekly_alert_digest
from csm_analytics.alerts.schedules import monday_alert_digest_schedule
from csm_analytics.alerts.sensors import alert_delivery_sensor, run_failure_to_ops


def build_defs() -> Definitions:
    return Definitions(
        assets=alert_assets, jobs=[weekly_alert_digest], schedules=[monday_alert_digest_schedule],
        sensors=[alert_delivery_sensor, run_failure_to_ops],
    )
