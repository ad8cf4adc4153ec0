"""Delivery under faults, against the fake Slack over HTTP, counted by alert key (scenarios.tally).

Each scenario ends with expected = delivered, 0 duplicates, 0 lost. The daemon outage is in
test_delivery_daemon.py (slow)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from csm_analytics.alerts import delivery
from csm_analytics.alerts.config import load_alert_config
from csm_analytics.alerts.outbox import Outbox
from csm_analytics.alerts.slack import SlackMessenger
from csm_analytics.lib.fake_slack import FakeSlack, free_port
from csm_analytics_tests.test_alerts.conftest import NOW, make_alert, rules_file
from csm_analytics_tests.test_alerts.scenarios import critical_alerts, drain, perfect, tally


def _transport(slack, **kw):
    return SlackMessenger(token=slack.token, base_url=slack.url, backoff_factor=0.01, **kw).transport()


def test_normal_delivery_with_a_digest_of_45_warnings(outbox, slack, config):
    """10 critical alerts, and 45 warnings for one CSM: two digest messages (40 + 5), every item in one."""
    warnings = [make_alert(f"score_drop:W{i:02d}", account=f"W{i:02d}", rule="score_drop", severity="warning")
                for i in range(45)]
    for w in warnings:  # names of a realistic length: 45 lines no longer fit in one 3,000-character block
        w["account_name"] = f"{w['account_id']} Northwind Logistics & Freight Holdings"
    alerts = critical_alerts(10) + warnings
    outbox.enqueue(alerts)
    transport = _transport(slack)
    ticks = drain(outbox, transport, config, NOW)
    digested = [delivery.send_digests(outbox, transport, NOW) for _ in range(2)]
    result = tally(slack, alerts, "normal (10 critical, 45 warnings in digests)")
    assert (ticks, digested, len(slack.posts(slack.dm_id("UCSM01")))) == (1, [45, 0], 2)
    assert result == perfect(result)


def test_429_four_times_in_a_row(outbox, slack, config):
    """Slack rate-limits: Retry-After is honoured once, the second 429 ends the tick, the next tick delivers."""
    alerts = critical_alerts(4)
    outbox.enqueue(alerts)
    slack.fail_next(429, times=2, retry_after=1)
    transport = _transport(slack, max_retries=1)
    started = time.monotonic()
    delivery.deliver_pending(outbox, transport, config, NOW)
    first_tick = (time.monotonic() - started >= 1.0, len(outbox.rows("status = 'pending'")))
    drain(outbox, transport, config, NOW)
    result = tally(slack, alerts, "429 twice (Retry-After 1 s)")
    assert first_tick == (True, 4)  # waited once, then left the batch for the next tick
    assert result == perfect(result)


def test_429_with_a_retry_after_longer_than_the_tick_is_not_waited_for(outbox, slack, config):
    alerts = critical_alerts(2)
    outbox.enqueue(alerts)
    slack.fail_next(429, retry_after=30)
    started = time.monotonic()
    delivery.deliver_pending(outbox, _transport(slack, max_retry_after_seconds=5), config, NOW)
    seconds = time.monotonic() - started
    drain(outbox, _transport(slack), config, NOW)
    result = tally(slack, alerts, "429 with Retry-After 30 s (longer than a tick)")
    assert seconds < 5
    assert result == perfect(result)


def test_500_on_four_posts(outbox, slack, config):
    alerts = critical_alerts(4)
    outbox.enqueue(alerts)
    slack.fail_next(500, times=4, method="chat.postMessage")
    drain(outbox, _transport(slack), config, NOW)
    result = tally(slack, alerts, "500 on 4 posts")
    assert result == perfect(result)


def test_nothing_listening_then_slack_comes_back(outbox, config):
    alerts = critical_alerts(4)
    outbox.enqueue(alerts)
    slack = FakeSlack(port=free_port())  # not started: connections are refused
    transport = _transport(slack)
    report = delivery.deliver_pending(outbox, transport, config, NOW)
    slack.start()
    try:
        drain(outbox, transport, config, NOW)
        result = tally(slack, alerts, "nothing listening, then back")
    finally:
        slack.stop()
    assert report.outcomes["failed_attempt"] == 1  # the tick stopped at the first refusal, not after 4
    assert result == perfect(result)


def test_connection_dropped_after_slack_stored_the_post(outbox, slack, config):
    alerts = critical_alerts(3)
    outbox.enqueue(alerts)
    slack.drop_next("chat.postMessage", times=2)  # the first alert's team post and its DM post
    transport = _transport(slack)
    ticks = drain(outbox, transport, config, NOW)
    result = tally(slack, alerts, "connection dropped after Slack stored the post")
    assert (ticks, slack.calls("conversations.history")) == (1, 2)  # each dropped post was found, not resent
    assert result == perfect(result)


def test_a_failed_first_post_is_retried_by_channel_id(outbox, slack, config):
    """Slack is down for the first tick; later ticks look the key up by channel id (a #name would get
    channel_not_found from conversations.history and the alert would stay pending forever)."""
    alerts = critical_alerts(3)
    outbox.enqueue(alerts)
    transport = _transport(slack, max_retries=1)
    slack.down()
    delivery.deliver_pending(outbox, transport, config, NOW)
    slack.down(False)
    drain(outbox, transport, config, NOW)
    result = tally(slack, alerts, "failed first post, then retry")
    lookups = [p["channel"] for m, p in slack.requests if m == "conversations.history"]
    assert lookups and all(c.startswith(("C", "D")) for c in lookups)
    assert result == perfect(result)


def _deliverer(outbox_path, rules, slack, go=None) -> subprocess.Popen:
    args = [sys.executable, "-m", "csm_analytics_tests.test_alerts.deliverer", str(outbox_path), rules, slack.url]
    return subprocess.Popen(args + (["--go", str(go)] if go else []), env=dict(os.environ, SLACK_BOT_TOKEN=slack.token),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_deliverer_killed_mid_batch(tmp_path, slack):
    """SIGKILL while Slack holds the answer to a post it stored; another deliverer takes the lease over."""
    rules = rules_file(tmp_path, lease_seconds=3)
    path = tmp_path / "outbox.sqlite"
    alerts = critical_alerts(6)
    Outbox(path).enqueue(alerts)
    slack.post_delay = 1.0  # each post is stored, then answered 1 s later
    proc = _deliverer(path, rules, slack)
    deadline = time.monotonic() + 60
    while len(slack.posts()) < 3 and time.monotonic() < deadline:  # alert 1 done, alert 2's team post stored
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    at_kill = (len(slack.posts()), len(Outbox(path).rows("status = 'pending'")))
    slack.post_delay = 0
    time.sleep(3.1)  # the dead deliverer's lease expires
    drain(Outbox(path), _transport(slack), load_alert_config(rules), NOW)
    result = tally(slack, alerts, "deliverer killed mid-batch (SIGKILL)")
    assert at_kill == (3, 5)  # alert 1 delivered; alert 2 in Slack's team channel, not yet in the outbox
    assert result == perfect(result)


def test_two_deliverers_at_once(tmp_path, slack):
    rules = rules_file(tmp_path)
    path = tmp_path / "outbox.sqlite"
    alerts = critical_alerts(12)
    Outbox(path).enqueue(alerts)
    slack.post_delay = 0.1
    go = tmp_path / "go"
    procs = [_deliverer(path, rules, slack, go) for _ in range(2)]
    time.sleep(0.5)
    go.touch()
    outputs = [p.communicate(timeout=120) for p in procs]
    result = tally(slack, alerts, "two deliverers at once (two processes)")
    assert all(p.returncode == 0 for p in procs), outputs
    assert all("'sent'" in out for out, _ in outputs), outputs  # both took part
    assert result == perfect(result)
