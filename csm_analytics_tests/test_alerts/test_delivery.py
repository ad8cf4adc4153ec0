"""Exactly-once delivery against a fake Slack Web API on 127.0.0.1, counting what it received."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from csm_analytics.alerts import delivery
from csm_analytics.alerts.outbox import Outbox
from csm_analytics.alerts.slack import SlackMessenger
from csm_analytics.lib.fake_slack import FakeSlack, free_port
from csm_analytics_tests.test_alerts.conftest import NOW, TEAM, make_alert


def test_normal_delivery_posts_to_team_channel_and_dm(outbox, transport, slack, config):
    outbox.enqueue([make_alert("k1")])
    report = delivery.deliver_pending(outbox, transport, config, NOW)
    assert report.outcomes["sent"] == 1
    assert len(slack.posts(TEAM)) == 1 and len(slack.posts(slack.dm_id("UCSM01"))) == 1
    row = outbox.get("k1")
    # the outbox keeps the channel ids Slack returned (C..., D...), never the #name of the rules file
    assert (row["status"], row["attempts"], row["channel"], row["dm_channel"]) == (
        "sent", 1, slack.channel_id(TEAM), slack.dm_id("UCSM01"))
    assert row["ts"] == slack.posts(TEAM)[0]["ts"]
    assert slack.posts(TEAM)[0]["metadata"]["event_payload"]["alert_key"] == "k1"
    # nothing pending: a second tick sends nothing
    delivery.deliver_pending(outbox, transport, config, NOW)
    assert len(slack.posts()) == 2


def test_wrong_token_keeps_the_alert_pending(outbox, slack, config):
    transport = SlackMessenger(token="xoxb-wrong", base_url=slack.url).transport()
    outbox.enqueue([make_alert("k1")])
    delivery.deliver_pending(outbox, transport, config, NOW)
    row = outbox.get("k1")
    assert row["status"] == "pending" and "invalid_auth" in row["last_error"] and "xoxb" not in row["last_error"]


def test_429_is_retried_after_retry_after(outbox, transport, slack, config):
    slack.fail_next(429, times=1, retry_after=1)
    outbox.enqueue([make_alert("k1")])
    started = time.monotonic()
    delivery.deliver_pending(outbox, transport, config, NOW)
    assert time.monotonic() - started >= 1.0
    assert slack.calls("chat.postMessage") == 3  # the 429, its retry, then the DM
    assert len(slack.posts(TEAM)) == 1 and outbox.get("k1")["status"] == "sent"


def test_repeated_500s_then_recovery(outbox, transport, slack, config):
    """A 500 on chat.postMessage may come after Slack stored the message, so each resend follows a lookup."""
    slack.fail_next(500, times=3, method="chat.postMessage")  # every post of the first tick fails
    outbox.enqueue([make_alert("k1")])
    delivery.deliver_pending(outbox, transport, config, NOW)
    row = outbox.get("k1")
    assert (row["status"], row["attempts"]) == ("pending", 1) and "HTTP 500" in row["last_error"]
    assert slack.posts() == [] and slack.calls("chat.postMessage") == 3
    assert slack.calls("conversations.history") == 2  # a lookup before each resend, none before the first post
    delivery.deliver_pending(outbox, transport, config, NOW)  # Slack is back
    assert outbox.get("k1")["status"] == "sent"
    assert len(slack.posts(TEAM)) == 1 and len(slack.posts(slack.dm_id("UCSM01"))) == 1


def test_connection_refused_then_recovery(outbox, config):
    port = free_port()
    server = FakeSlack(port=port)  # not started: connections are refused
    transport = SlackMessenger(token=server.token, base_url=server.url, backoff_factor=0.01).transport()
    outbox.enqueue([make_alert("k1")])
    delivery.deliver_pending(outbox, transport, config, NOW)
    assert outbox.get("k1")["status"] == "pending"
    server.start()
    try:
        delivery.deliver_pending(outbox, transport, config, NOW)
        assert outbox.get("k1")["status"] == "sent" and len(server.posts(TEAM)) == 1
    finally:
        server.stop()


class Crash(BaseException):
    """The process dies: not an Exception, so nothing catches it."""


def test_crash_between_send_and_record_does_not_duplicate(tmp_path, slack, config):
    path = tmp_path / "outbox.sqlite"
    outbox = Outbox(path)
    outbox.enqueue([make_alert("k1")])
    transport = SlackMessenger(token=slack.token, base_url=slack.url).transport()
    real_record = outbox.record

    def die_after_slack_accepted(key, owner, **fields):
        if "ts" in fields:
            raise Crash()
        real_record(key, owner, **fields)

    outbox.record = die_after_slack_accepted
    with pytest.raises(Crash):
        delivery.deliver_pending(outbox, transport, config, NOW)
    assert len(slack.posts(TEAM)) == 1 and outbox.get("k1")["ts"] is None  # Slack has it, the outbox does not
    restarted = Outbox(path)  # a new process
    fresh = SlackMessenger(token=slack.token, base_url=slack.url).transport()
    delivery.deliver_pending(restarted, fresh, config, NOW)
    assert len(slack.posts(TEAM)) == 1 and len(slack.posts(slack.dm_id("UCSM01"))) == 1  # 0 duplicates
    row = restarted.get("k1")
    assert row["status"] == "sent" and row["ts"] == slack.posts(TEAM)[0]["ts"] and row["attempts"] == 2


def test_dedupe_updates_the_open_alert(outbox, transport, slack, config):
    outbox.enqueue([make_alert("k1")])
    delivery.deliver_pending(outbox, transport, config, NOW)
    outbox.enqueue([make_alert("k2")])  # same account and rule, first still open and unacknowledged
    report = delivery.deliver_pending(outbox, transport, config, NOW)
    assert report.outcomes["updated"] == 1
    assert len(slack.posts(TEAM)) == 1 and len(slack.updates) == 1
    assert outbox.get("k2")["status_reason"] == "merged into k1" and outbox.get("k1")["updates"] == 1


def test_cooldown_after_acknowledgment(outbox, transport, slack, config):
    outbox.enqueue([make_alert("k1")])
    delivery.deliver_pending(outbox, transport, config, NOW)
    outbox.acknowledge("k1", by="cli")
    outbox.enqueue([make_alert("k2")])
    delivery.deliver_pending(outbox, transport, config, NOW + dt.timedelta(days=1))  # payment cooldown: 3 days
    assert outbox.get("k2")["status_reason"] == "cooldown" and len(slack.posts(TEAM)) == 1


def test_critical_cap_overflows_into_the_digest(outbox, transport, slack, config):
    outbox.enqueue([make_alert(f"k{i}", account=f"A{i}") for i in range(5)])
    report = delivery.deliver_pending(outbox, transport, config, NOW)
    assert (report.outcomes["sent"], report.outcomes["capped"]) == (3, 2)
    assert len(slack.posts(TEAM)) == 3
    assert delivery.send_digests(outbox, transport, NOW) == 2
    digest = slack.posts(slack.dm_id("UCSM01"))[-1]
    assert "2 alerts" in digest["text"] and "A3 Co" in str(digest["blocks"]) and "A4 Co" in str(digest["blocks"])
    assert delivery.send_digests(outbox, transport, NOW) == 0  # never twice


def test_warning_alerts_wait_for_the_digest(outbox, transport, slack, config):
    outbox.enqueue([make_alert("w1", rule="score_drop", severity="warning")])
    delivery.deliver_pending(outbox, transport, config, NOW)
    assert outbox.get("w1")["status"] == "digest" and slack.posts() == []


def test_snooze(outbox, transport, slack, config):
    outbox.snooze("A1", "payment_failure", dt.date(2026, 10, 15))
    outbox.enqueue([make_alert("k1"), make_alert("k2", account="A2")])
    delivery.deliver_pending(outbox, transport, config, NOW)
    assert outbox.get("k1")["status_reason"] == "snoozed" and outbox.get("k2")["status"] == "sent"
    assert len(slack.posts(TEAM)) == 1


def test_reaction_acknowledges_and_sla_breach_escalates(outbox, transport, slack, config):
    outbox.enqueue([make_alert("k1"), make_alert("k2", account="A2")])
    delivery.deliver_pending(outbox, transport, config, NOW)
    slack.react(TEAM, outbox.get("k1")["ts"], "white_check_mark", "UCSM01")
    assert delivery.poll_acknowledgments(outbox, transport) == 1
    assert outbox.get("k1")["acknowledged_by"] == "slack:UCSM01"
    assert delivery.escalate_breaches(outbox, transport, config, NOW + dt.timedelta(hours=3)) == 0  # within 4 h
    assert delivery.escalate_breaches(outbox, transport, config, NOW + dt.timedelta(hours=5)) == 1  # k2 only
    ops = slack.posts("#cs-ops")
    assert len(ops) == 1 and "A2 Co" in ops[0]["text"] and "Morgan Lee" in ops[0]["text"]
    assert delivery.escalate_breaches(outbox, transport, config, NOW + dt.timedelta(hours=9)) == 0  # once


def test_a_merge_after_a_failed_update_shows_the_newest_event(outbox, transport, slack, config):
    """k2's chat.update fails (500s beyond the retries) and k3's goes through; when k2 is retried the open
    message must still show k3, the newest event, and an older event merged later must not replace it."""
    outbox.enqueue([make_alert("k1")])
    delivery.deliver_pending(outbox, transport, config, NOW)
    newer = [make_alert(k) | {"event_date": day, "headline": words}
             for k, day, words in (("k2", "2026-10-01", "second failure"), ("k3", "2026-10-02", "third failure"))]
    outbox.enqueue(newer)
    slack.fail_next(500, times=4, method="chat.update")
    delivery.deliver_pending(outbox, transport, config, NOW)
    delivery.deliver_pending(outbox, transport, config, NOW)
    outbox.enqueue([make_alert("k0") | {"event_date": "2026-09-20", "headline": "an old failure, found late"}])
    delivery.deliver_pending(outbox, transport, config, NOW)
    message = slack.posts(TEAM)[0]
    assert message["text"].endswith("third failure") and "updated 3x while open" in str(message["blocks"])
    assert [outbox.get(k)["merged_into"] for k in ("k0", "k2", "k3")] == ["k1"] * 3 and outbox.get("k1")["updates"] == 3


class _Interleaved:
    """A transport whose first post lets another deliverer run to the end first (two overlapping ticks)."""

    def __init__(self, inner, other_tick):
        self.inner, self.other_tick = inner, other_tick

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def post(self, *args, **kwargs):
        other_tick, self.other_tick = self.other_tick, None
        if other_tick:
            other_tick()
        return self.inner.post(*args, **kwargs)


def test_an_alert_sent_by_an_overlapping_tick_is_neither_resent_nor_suppressed(outbox, transport, slack, config):
    """Before the lease, the first tick had read both alerts as pending: it posted k1 a second time and then
    found k2, sent by the other tick, in its own cooldown query and marked it `suppressed`."""
    outbox.enqueue([make_alert("k1"), make_alert("k2", account="A2")])
    other = SlackMessenger(token=slack.token, base_url=slack.url, backoff_factor=0.01).transport()
    first = _Interleaved(transport, lambda: delivery.deliver_pending(outbox, other, config, NOW))
    delivery.deliver_pending(outbox, first, config, NOW)
    assert [outbox.get(k)["status"] for k in ("k1", "k2")] == ["sent", "sent"]
    assert sorted(slack.alert_copies().values()) == [1, 1, 1, 1]  # k1 and k2, each once in the channel and the DM


def test_digest_items_are_acknowledged_by_a_reaction_on_the_digest_or_one_by_one(outbox, transport, slack, config):
    from csm_analytics.alerts.quality import response_sla_rows

    outbox.enqueue([make_alert(f"w{i}", account=f"A{i}", rule="score_drop", severity="warning") for i in (1, 2, 3)])
    delivery.deliver_pending(outbox, transport, config, NOW)
    assert delivery.send_digests(outbox, transport, dt.datetime.now(dt.timezone.utc)) == 3  # acks below are stamped now
    (digest,) = slack.posts(slack.dm_id("UCSM01"))
    assert digest["metadata"]["event_payload"]["items"] == ["w1", "w2", "w3"] and "`w2`" in str(digest["blocks"])
    assert {outbox.get(k)["digest_ts"] for k in ("w1", "w2", "w3")} == {digest["ts"]}
    assert outbox.acknowledge("w2", by="cli")  # one item: `csm-analytics alerts ack w2`
    slack.react(slack.dm_id("UCSM01"), digest["ts"], "white_check_mark", "UCSM01")  # the whole digest
    assert delivery.poll_acknowledgments(outbox, transport) == 2
    assert [outbox.get(k)["acknowledged_by"] for k in ("w1", "w2", "w3")] == ["slack:UCSM01", "cli", "slack:UCSM01"]
    warning = response_sla_rows([dict(r) for r in outbox.rows()], config.sla_hours)[1]
    assert (warning["coverage"], warning["acknowledged"], warning["pct_within_sla"]) == (3, 3, 1.0)
