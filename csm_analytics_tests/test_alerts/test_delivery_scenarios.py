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
    alerts = critical_alerts(10) + [make_alert(f"score_drop:W{i:02d}", account=f"W{i:02d}", rule="score_drop",
                                               severity="warning") for i in range(45)]
    outbox.enqueue(alerts)
    transport = _transport(slack)
    assert drain(outbox, transport, config, NOW) == 1
    assert delivery.send_digests(outbox, transport, NOW) == 45
    assert delivery.send_digests(outbox, transport, NOW) == 0
    assert len(slack.posts(slack.dm_id("UCSM01"))) == 2
    result = tally(slack, alerts, "normal")
    assert result == perfect(result)


def test_429_four_times_in_a_row(outbox, slack, config):
    """Slack rate-limits: Retry-After is honoured once, the second 429 ends the tick, the next tick delivers."""
    alerts = critical_alerts(4)
    outbox.enqueue(alerts)
    slack.fail_next(429, times=2, retry_after=1)
    transport = _transport(slack, max_retries=1)
    started = time.monotonic()
    delivery.deliver_pending(outbox, transport, config, NOW)
    assert time.monotonic() - started >= 1.0 and len(outbox.rows("status = 'pending'")) == 4
    drain(outbox, transport, config, NOW)
    result = tally(slack, alerts, "429 (Retry-After 1 s, twice)")
    assert result == perfect(result)


def test_429_with_a_retry_after_longer_than_the_tick_is_not_waited_for(outbox, slack, config):
    alerts = critical_alerts(2)
    outbox.enqueue(alerts)
    slack.fail_next(429, retry_after=30)
    started = time.monotonic()
    report = delivery.deliver_pending(outbox, _transport(slack, max_retry_after_seconds=5), config, NOW)
    assert time.monotonic() - started < 5 and report.stopped.startswith("Slack unavailable")
    drain(outbox, _transport(slack), config, NOW)
    result = tally(slack, alerts, "429 (Retry-After 30 s, longer than a tick)")
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
    assert report.stopped.startswith("Slack unavailable") and report.outcomes["failed_attempt"] == 1  # one try, not 4
    slack.start()
    try:
        drain(outbox, transport, config, NOW)
        result = tally(slack, alerts, "nothing listening, then back")
    finally:
        slack.stop()
    assert result == perfect(result)


def test_connection_dropped_after_slack_stored_the_post(outbox, slack, config):
    alerts = critical_alerts(3)
    outbox.enqueue(alerts)
    slack.drop_next("chat.postMessage", times=2)  # the first alert's team post and its DM post
    transport = _transport(slack)
    assert drain(outbox, transport, config, NOW) == 1
    assert slack.calls("conversations.history") == 2  # each dropped post was found, not resent
    result = tally(slack, alerts, "connection dropped after accept")
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
    lookups = [p["channel"] for m, p in slack.requests if m == "conversations.history"]
    assert lookups and all(c.startswith(("C", "D")) for c in lookups)
    result = tally(slack, alerts, "failed first post, then retry")
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
    assert len(slack.posts()) == 3 and len(Outbox(path).rows("status = 'pending'")) == 5
    slack.post_delay = 0
    time.sleep(3.1)  # the dead deliverer's lease expires
    drain(Outbox(path), _transport(slack), load_alert_config(rules), NOW)
    result = tally(slack, alerts, "deliverer killed mid-batch (SIGKILL)")
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
    assert all(p.returncode == 0 for p in procs), outputs
    assert all("'sent'" in out for out, _ in outputs), outputs  # both took part
    result = tally(slack, alerts, "two deliverers at once (two processes)")
    assert result == perfect(result)
