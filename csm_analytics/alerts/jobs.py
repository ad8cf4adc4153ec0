"""The alerts' jobs: each CSM's weekly digest of non-critical and overflow alerts."""

import datetime as dt

from dagster import job, op

from csm_analytics.alerts import delivery
from csm_analytics.alerts.resources import AlertOutboxResource
from csm_analytics.alerts.slack import SlackMessenger


@op(description="Post each CSM's weekly digest of non-critical and overflow alerts.")
def post_alert_digests(alert_outbox: AlertOutboxResource, slack: SlackMessenger) -> int:
    return delivery.send_digests(alert_outbox.outbox(), slack.transport(), dt.datetime.now(dt.timezone.utc),
                                 alert_outbox.config().unassigned_channel)


@job(description="Send the weekly alert digests.")
def weekly_alert_digest():
    post_alert_digests()
