"""The alerts domain: alert events, delivery sensor, digest schedule and run-failure posts."""

from dagster import Definitions

from csm_analytics.alerts.assets import (
    AlertOutboxResource, alert_assets, alert_delivery_sensor, monday_alert_digest_schedule, run_failure_to_ops,
    weekly_alert_digest,
)
from csm_analytics.alerts.slack import default_messenger
from csm_analytics.lib import paths


def build_defs() -> Definitions:
    return Definitions(
        assets=alert_assets, jobs=[weekly_alert_digest], schedules=[monday_alert_digest_schedule],
        sensors=[alert_delivery_sensor, run_failure_to_ops],
        resources={"alert_outbox": AlertOutboxResource(), "slack": default_messenger(paths.outbox_dir())},
    )
