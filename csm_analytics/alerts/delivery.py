"""Deliver pending alerts exactly once, with the fatigue controls, then poll acks and escalate SLA breaches.

Order of decisions for each pending alert: snoozed -> suppressed; warning -> weekly digest;
an open unacknowledged alert for the same account and rule -> that message is updated
(chat.update, showing the newest of the merged events) instead of posting; an alert for the
same account and rule sent within the rule's cooldown -> suppressed; the CSM's critical cap for
the week reached -> digest (never dropped); otherwise sent to the CSM's DM and the team channel.

Exactly once, under any fault:
- each alert is claimed with a lease (outbox.claim_next) before anything is sent, so two
  deliverers (an overrunning tick beside the next one, two processes) never both post it;
- a tick stops claiming once its time budget is spent, and stops at the first failure that is
  Slack's (down, 5xx, 429, bad token): the rest waits for the next tick;
- a post is never resent blindly: when an earlier attempt may have reached Slack (a crash, a
  dropped connection, a timeout, a 5xx), the alert key is looked up in the message metadata of the
  channel's history (by channel id, never by #name) before any resend.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from csm_analytics.alerts.config import AlertConfig
from csm_analytics.alerts.messages import DIGEST_ITEMS_PER_MESSAGE, alert_message, digest_message, escalation_message
from csm_analytics.alerts.outbox import LeaseLost, Outbox
from csm_analytics.alerts.slack import SendOutcomeUnknown, is_channel_id, stops_the_tick

ACK_REACTION = "white_check_mark"
RESEND_TRIES = 3  # posts per message in one tick, each after a lookup that found nothing
LOOKBACK_SLACK_SECONDS = 300  # clock skew allowed between us and Slack when bounding a history lookup


@dataclass
class DeliveryReport:
    outcomes: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the tick left pending alerts for the next one


def new_owner() -> str:
    """A deliverer's identity on its leases: host, process and a random part (one per tick)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def channel_id(outbox: Outbox, transport, channel: str) -> str:
    """The id Slack needs for history, updates and reactions: as given, remembered from a post, or looked up."""
    if is_channel_id(channel):
        return channel
    known = outbox.channel_id(channel)
    if known is None:
        known = transport.channel_id(channel)
        outbox.remember_channel(channel, known)
    return known


def post_once(outbox: Outbox, transport, channel: str, text: str, blocks: list, key: str, *, may_exist: bool,
              since: float | None, before_send=None, deadline: float | None = None,
              items: list[str] | None = None) -> tuple[str, str]:
    """Post the message carrying `key` to `channel` exactly once; (channel id, ts).

    `may_exist`: an earlier attempt may have reached Slack, so look for the key first. After a
    post whose outcome is unknown, look again before the next try. `before_send` runs before
    each post (the lease check)."""
    backoff = getattr(transport, "backoff_factor", 0.5)
    for attempt in range(RESEND_TRIES):
        if may_exist:
            cid = channel_id(outbox, transport, channel)
            ts = transport.find(cid, key, since)
            if ts:
                return cid, ts
        if before_send:
            before_send()
        may_exist = True
        try:
            cid, ts = transport.post(outbox.channel_id(channel) or channel, text, blocks, key, items)
        except SendOutcomeUnknown:
            if attempt == RESEND_TRIES - 1 or _past(deadline):
                raise
            time.sleep(backoff * 2 ** attempt)
            continue
        if not is_channel_id(channel):
            outbox.remember_channel(channel, cid)
        return cid, ts
    raise AssertionError("unreachable")


def _since(row) -> float:
    return dt.datetime.fromisoformat(row["enqueued_at"]).timestamp() - LOOKBACK_SLACK_SECONDS


def _send(outbox: Outbox, transport, config: AlertConfig, row, payload: dict, now: dt.datetime, owner: str,
          deadline: float | None) -> None:
    key = row["alert_key"]
    may_exist = row["attempts"] > 0
    outbox.bump_attempts(key, owner)
    text, blocks = alert_message(payload, config.dagster_ui_url)

    def check_lease():
        outbox.renew(key, owner, config.lease_seconds)

    if not row["ts"]:
        channel, ts = post_once(outbox, transport, config.team_channel, text, blocks, key, may_exist=may_exist,
                                since=_since(row), before_send=check_lease, deadline=deadline)
        outbox.record(key, owner, channel=channel, ts=ts)
    if row["csm_slack_id"] and not row["dm_ts"]:
        dm = row["dm_channel"] or transport.open_dm(row["csm_slack_id"])
        outbox.record(key, owner, dm_channel=dm)
        dm, ts = post_once(outbox, transport, dm, text, blocks, key, may_exist=may_exist, since=_since(row),
                           before_send=check_lease, deadline=deadline)
        outbox.record(key, owner, dm_ts=ts)
    outbox.record(key, owner, status="sent", sent_at=_iso(now), last_error=None)


def _merge(outbox: Outbox, transport, config: AlertConfig, row, target, owner: str) -> None:
    """Update the open alert's message to show the newest event among it and everything merged into it."""
    merged = outbox.rows("merged_into = ? AND alert_key <> ?", (target["alert_key"], row["alert_key"]))
    newest = max([target, *merged, row], key=lambda r: (r["event_date"], r["seq"]))
    updates = len(merged) + 1
    text, blocks = alert_message(json.loads(newest["payload"]), config.dagster_ui_url, updates=updates)
    outbox.renew(row["alert_key"], owner, config.lease_seconds)
    transport.update(channel_id(outbox, transport, target["channel"]), target["ts"], text, blocks)  # idempotent
    outbox.update(target["alert_key"], updates=updates)
    outbox.record(row["alert_key"], owner, status="suppressed", status_reason=f"merged into {target['alert_key']}",
                  merged_into=target["alert_key"])


def _deliver_one(outbox: Outbox, transport, config: AlertConfig, row, now: dt.datetime, owner: str,
                 deadline: float | None) -> str:
    key, account, rule = row["alert_key"], row["account_id"], row["rule"]
    payload = json.loads(row["payload"])
    if row["ts"] or row["dm_ts"]:  # half delivered by an earlier attempt: finish it, whatever happened since
        _send(outbox, transport, config, row, payload, now, owner, deadline)
        return "sent"
    if outbox.snoozed(account, rule, now.date()):
        outbox.record(key, owner, status="suppressed", status_reason="snoozed")
        return "snoozed"
    if row["severity"] != "critical":
        outbox.record(key, owner, status="digest", status_reason="weekly digest")
        return "digest"
    same = "account_id = ? AND rule = ? AND status = 'sent' AND alert_key <> ?"
    open_alert = outbox.rows(f"{same} AND acknowledged_at IS NULL", (account, rule, key))
    if open_alert:
        _merge(outbox, transport, config, row, open_alert[-1], owner)
        return "updated"
    cooldown_from = _iso(now - dt.timedelta(days=config.cooldown_days(rule)))
    if outbox.rows(f"{same} AND sent_at >= ?", (account, rule, key, cooldown_from)):
        outbox.record(key, owner, status="suppressed", status_reason="cooldown")
        return "cooldown"
    sent_this_week = outbox.rows("csm_id IS ? AND severity = 'critical' AND status = 'sent' AND sent_at >= ?",
                                 (row["csm_id"], _iso(now - dt.timedelta(days=7))))
    if len(sent_this_week) >= config.critical_cap_per_week:
        outbox.record(key, owner, status="digest", status_reason="critical cap reached")
        return "capped"
    _send(outbox, transport, config, row, payload, now, owner, deadline)
    return "sent"


def deliver_pending(outbox: Outbox, transport, config: AlertConfig, now: dt.datetime, owner: str | None = None,
                    deadline: float | None = None) -> DeliveryReport:
    """Claim and deliver pending alerts one at a time until none is left or `deadline` (time.monotonic) passes."""
    report, owner, after = DeliveryReport(), owner or new_owner(), 0
    while not (report.outcomes and _past(deadline)):
        row = outbox.claim_next(owner, config.lease_seconds, after)
        if row is None:
            return report
        after, key = row["seq"], row["alert_key"]
        try:
            report.outcomes[_deliver_one(outbox, transport, config, row, now, owner, deadline)] += 1
        except LeaseLost:
            report.outcomes["lease_lost"] += 1
        except Exception as exc:  # noqa: BLE001 - the alert stays pending for a later tick
            outbox.update(key, last_error=f"{type(exc).__name__}: {str(exc)[:300]}")
            report.errors.append(key)
            report.outcomes["failed_attempt"] += 1
            if stops_the_tick(exc):
                report.stopped = f"Slack unavailable ({type(exc).__name__})"
                return report
        finally:
            outbox.release(key, owner)
    report.stopped = "time budget spent"
    return report


def poll_acknowledgments_after(outbox: Outbox, transport, after_seq: int = 0,
                               deadline: float | None = None) -> tuple[int, int]:
    """Acknowledge open alerts that got a :white_check_mark: (on the alert, or on the digest that carries it).

    Polls in outbox order from `after_seq`; returns (acknowledged, where to resume): the last alert
    polled when the deadline cut the pass short, else 0 (the next pass starts from the top), so
    with a short budget every open alert is still polled in turn."""
    acked, polled, seen = 0, 0, {}
    rows = outbox.rows("acknowledged_at IS NULL AND seq > ? AND ((status = 'sent' AND ts IS NOT NULL) "
                       "OR (status = 'digest' AND digest_ts IS NOT NULL))", (after_seq,))
    for row in rows:
        if polled and _past(deadline):
            return acked, row["seq"] - 1
        messages = ([(row["channel"], row["ts"]), (row["dm_channel"], row["dm_ts"])] if row["status"] == "sent"
                    else [(row["digest_channel"], row["digest_ts"])])
        for channel, ts in messages:
            if not ts:
                continue
            if (channel, ts) not in seen:
                reactions = transport.reactions(channel_id(outbox, transport, channel), ts)
                seen[(channel, ts)] = [u for r in reactions if r.get("name") == ACK_REACTION for u in r.get("users", [])]
                polled += 1
            users = seen[(channel, ts)]
            if users and outbox.acknowledge(row["alert_key"], by=f"slack:{users[0]}"):
                acked += 1
                break
    return acked, 0


def poll_acknowledgments(outbox: Outbox, transport) -> int:
    return poll_acknowledgments_after(outbox, transport)[0]


def apply_workspace_responses(outbox: Outbox, responses: list[dict]) -> Counter:
    """Carry what users answered in the workspace app into the outbox, so the sensor treats it like Slack:
    an acknowledgment stops the SLA clock and the escalation (the earlier of app and ✅ wins: an alert already
    acknowledged keeps its time), a dismissal means the alert is never sent or escalated (as `alerts dismiss`).

    `responses`: rows of the side store's `alert_responses()` (alert_key, action, recorded_at, username).
    Idempotent, so every tick can apply the whole list."""
    acks = [(r["alert_key"], f"workspace:{r['username']}", r["recorded_at"]) for r in responses
            if r["action"] == "acknowledge"]
    done = Counter(acknowledged=outbox.acknowledge_many(acks) if acks else 0)
    done["dismissed"] = sum(outbox.dismiss(r["alert_key"]) for r in responses if r["action"] == "dismiss")
    return done


def escalate_breaches(outbox: Outbox, transport, config: AlertConfig, now: dt.datetime, owner: str | None = None,
                      deadline: float | None = None) -> int:
    """Post SLA breaches (sent, unacknowledged past the SLA) to the ops channel for the CSM's manager, once each."""
    owner, after, escalated = owner or new_owner(), 0, 0
    while not _past(deadline):  # escalations wait for a tick with time left; none is ever skipped for good
        row = outbox.claim_next(owner, config.lease_seconds, after,
                                "status = 'sent' AND acknowledged_at IS NULL AND escalated_at IS NULL")
        if row is None:
            break
        after, key = row["seq"], row["alert_key"]
        try:
            hours = config.sla_hours["critical" if row["severity"] == "critical" else "warning"]
            if dt.datetime.fromisoformat(row["sent_at"]) + dt.timedelta(hours=hours) > now:
                continue
            text, blocks = escalation_message(json.loads(row["payload"]), hours)
            post_once(outbox, transport, config.ops_channel, text, blocks, f"escalation:{key}", may_exist=True,
                      since=time.time() - 7 * 86400, before_send=lambda: outbox.renew(key, owner, config.lease_seconds),
                      deadline=deadline)
            outbox.record(key, owner, escalated_at=_iso(now))
            escalated += 1
        finally:
            outbox.release(key, owner)
    return escalated


def send_digests(outbox: Outbox, transport, now: dt.datetime, unassigned_channel: str = "#cs-unassigned") -> int:
    """Each CSM's waiting alerts, in messages of at most DIGEST_ITEMS_PER_MESSAGE; each alert is digested once.

    Digest keys are assigned in the outbox before posting, and each message is looked up by its key
    before it is posted, so a rerun after a crash neither repeats nor drops a digest."""
    outbox.assign_digests(now.date(), DIGEST_ITEMS_PER_MESSAGE)
    waiting = outbox.rows("status = 'digest' AND digested_at IS NULL AND digest_key IS NOT NULL")
    by_digest: dict[str, list] = {}
    for row in waiting:
        by_digest.setdefault(row["digest_key"], []).append(row)
    for digest_key, rows in by_digest.items():
        payloads = [json.loads(r["payload"]) for r in rows]
        text, blocks = digest_message(payloads[0].get("csm_name") or "unassigned", payloads)
        slack_id = rows[0]["csm_slack_id"]
        channel = transport.open_dm(slack_id) if slack_id else unassigned_channel
        cid, ts = post_once(outbox, transport, channel, text, blocks, digest_key, may_exist=True,
                            since=time.time() - 14 * 86400, items=[r["alert_key"] for r in rows])
        with outbox.connect() as con:
            con.execute("UPDATE alerts SET digested_at = ?, digest_channel = ?, digest_ts = ? "
                        "WHERE digest_key = ? AND digested_at IS NULL", (_iso(now), cid, ts, digest_key))
    return len(waiting)
