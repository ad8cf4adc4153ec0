"""An alert acknowledged in the workspace app is not escalated in Slack; one dismissed there is not sent.

The app writes to its side store only; the delivery sensor reads that store at the start of every tick and
carries the answers into the outbox, against the fake Slack server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt

from dagster import build_sensor_context

from csm_analytics.alerts import delivery
from csm_analytics.alerts.outbox import Outbox
from csm_analytics.alerts.resources import AlertOutboxResource
from csm_analytics.alerts.sensors import alert_delivery_sensor
from csm_analytics.alerts.slack import SlackMessenger
from csm_analytics.lib.actions_store import ActionsStore
from csm_analytics_tests.test_alerts.conftest import NOW, TEAM, make_alert

OPS = "#cs-ops"


def _tick(tmp_path, slack):
    return alert_delivery_sensor(build_sensor_context(resources={
        "alert_outbox": AlertOutboxResource(path=str(tmp_path / "outbox.sqlite"),
                                            workspace_actions_path=str(tmp_path / "actions.sqlite")),
        "slack": SlackMessenger(token=slack.token, base_url=slack.url, backoff_factor=0.01)}))


def _escalated_accounts(slack) -> list[str]:
    return sorted(a for m in slack.posts(OPS) for a in ("A1 Co", "A2 Co", "A3 Co") if a in m["text"])


def test_sensor_does_not_escalate_an_alert_acknowledged_in_the_workspace(tmp_path, slack):
    outbox = Outbox(tmp_path / "outbox.sqlite")
    outbox.enqueue([make_alert("k1"), make_alert("k2", account="A2")])
    _tick(tmp_path, slack)  # delivers both
    assert [outbox.get(k)["status"] for k in ("k1", "k2")] == ["sent", "sent"]
    five_hours_ago = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=5)).isoformat(timespec="seconds")
    for key in ("k1", "k2"):  # both past the 4 h SLA of a critical alert
        outbox.update(key, sent_at=five_hours_ago)
    ActionsStore(tmp_path / "actions.sqlite").record_action(
        username="ana", csm_id="CSM01", action="acknowledge", account_id="A1", alert_key="k1",
        at="2026-10-01T10:15:00+00:00")

    _tick(tmp_path, slack)

    assert _escalated_accounts(slack) == ["A2 Co"]  # k2, not acknowledged, still escalates; k1 does not
    k1 = outbox.get("k1")
    assert (k1["acknowledged_at"], k1["acknowledged_by"], k1["escalated_at"]) == (
        "2026-10-01T10:15:00+00:00", "workspace:ana", None)
    _tick(tmp_path, slack)  # applying the store again changes nothing and posts nothing
    assert len(slack.posts(OPS)) == 1 and outbox.get("k1")["acknowledged_at"] == "2026-10-01T10:15:00+00:00"


def test_without_a_side_store_the_sensor_escalates_as_before(tmp_path, slack):
    outbox = Outbox(tmp_path / "outbox.sqlite")
    outbox.enqueue([make_alert("k1")])
    _tick(tmp_path, slack)
    outbox.update("k1", sent_at=(dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=5)).isoformat(timespec="seconds"))
    _tick(tmp_path, slack)
    assert not (tmp_path / "actions.sqlite").exists() and _escalated_accounts(slack) == ["A1 Co"]


def test_a_dismissal_in_the_workspace_means_never_sent(tmp_path, slack):
    outbox = Outbox(tmp_path / "outbox.sqlite")
    outbox.enqueue([make_alert("k1"), make_alert("k2", account="A2")])
    ActionsStore(tmp_path / "actions.sqlite").record_action(
        username="ana", csm_id="CSM01", action="dismiss", account_id="A1", alert_key="k1", reason="known, handled")
    _tick(tmp_path, slack)
    sent = {m["metadata"]["event_payload"]["alert_key"] for m in slack.posts(TEAM)}
    assert sent == {"k2"}
    assert (outbox.get("k1")["status"], outbox.get("k1")["status_reason"]) == ("suppressed", "dismissed")


def test_acknowledging_a_merged_alert_acknowledges_the_open_message_it_updated(outbox, transport, slack, config):
    """The app lists every alert event; the newest one for an account and rule was merged into the open alert
    whose Slack message it updated. Acknowledging it in the app must stop that open alert's escalation."""
    outbox.enqueue([make_alert("k1")])
    delivery.deliver_pending(outbox, transport, config, NOW)
    outbox.enqueue([make_alert("k2") | {"event_date": "2026-10-01"}])
    delivery.deliver_pending(outbox, transport, config, NOW)
    assert outbox.get("k2")["merged_into"] == "k1"

    done = delivery.apply_workspace_responses(outbox, [
        {"alert_key": "k2", "action": "acknowledge", "recorded_at": "2026-10-01T10:00:00+00:00", "username": "ana"}])

    assert done["acknowledged"] == 2
    assert outbox.get("k1")["acknowledged_by"] == "workspace:ana"
    assert delivery.escalate_breaches(outbox, transport, config, NOW + dt.timedelta(hours=5)) == 0
    assert slack.posts(OPS) == []


def test_the_earlier_slack_acknowledgment_is_kept(outbox, transport, slack, config):
    outbox.enqueue([make_alert("k1")])
    delivery.deliver_pending(outbox, transport, config, NOW)
    outbox.acknowledge("k1", by="slack:UCSM01", at="2026-10-01T09:30:00+00:00")
    done = delivery.apply_workspace_responses(outbox, [
        {"alert_key": "k1", "action": "acknowledge", "recorded_at": "2026-10-01T11:00:00+00:00", "username": "ana"}])
    assert done["acknowledged"] == 0
    assert (outbox.get("k1")["acknowledged_at"], outbox.get("k1")["acknowledged_by"]) == (
        "2026-10-01T09:30:00+00:00", "slack:UCSM01")


def test_side_store_keeps_the_first_response_per_alert(tmp_path):
    store = ActionsStore(tmp_path / "actions.sqlite")
    store.record_action(username="ana", csm_id="CSM01", action="acknowledge", account_id="A1", alert_key="k1",
                        at="2026-10-01T10:00:00+00:00")
    store.record_action(username="bo", csm_id="CSM02", action="acknowledge", account_id="A1", alert_key="k1",
                        at="2026-10-01T12:00:00+00:00")
    store.record_action(username="ana", csm_id="CSM01", action="snooze", account_id="A1", alert_key="k2",
                        snooze_until=dt.date(2026, 10, 8))
    store.record_action(username="ana", csm_id="CSM01", action="note", account_id="A1", note="called")
    assert store.alert_responses() == [
        {"alert_key": "k1", "action": "acknowledge", "recorded_at": "2026-10-01T10:00:00+00:00", "username": "ana"}]
