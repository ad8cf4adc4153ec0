"""Deliver pending alerts exactly once, with the fatigue controls, then poll acks and escalate SLA breaches.

Order of decisions for each pending alert: snoozed -> suppressed; warning -> weekly digest;
an open unacknowledged alert for the same account and rule -> that message is updated
(chat.update) instead of posting; acknowledged within the rule's cooldown -> suppressed;
the CSM's critical cap for the week reached -> digest (never dropped); otherwise sent to the
CSM's DM and the team channel. A send that fails after slack-sdk's retries leaves the alert
pending for the next tick. A send that died after Slack accepted it is found again through the
message metadata (conversations.history) and recorded instead of posted twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field

from csm_analytics.alerts.config import AlertConfig
from csm_analytics.alerts.messages import alert_message, digest_message, escalation_message
from csm_analytics.alerts.outbox import Outbox

ACK_REACTION = "white_check_mark"


@dataclass
class DeliveryReport:
    outcomes: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def _send(outbox: Outbox, transport, config: AlertConfig, row, payload: dict, now: dt.datetime) -> None:
    key = row["alert_key"]
    retried = row["attempts"] > 0
    outbox.bump_attempts(key)
    text, blocks = alert_message(payload, config.dagster_ui_url)
    if not row["ts"]:
        ts = transport.find(config.team_channel, key) if retried else None
        channel, ts = (config.team_channel, ts) if ts else transport.post(config.team_channel, text, blocks, key)
        outbox.update(key, channel=channel, ts=ts)
    if row["csm_slack_id"] and not row["dm_ts"]:
        dm = transport.open_dm(row["csm_slack_id"])
        ts = transport.find(dm, key) if retried else None
        if not ts:
            dm, ts = transport.post(dm, text, blocks, key)
        outbox.update(key, dm_channel=dm, dm_ts=ts)
    outbox.update(key, status="sent", sent_at=_iso(now), last_error=None)


def deliver_pending(outbox: Outbox, transport, config: AlertConfig, now: dt.datetime) -> DeliveryReport:
    report = DeliveryReport()
    week_ago = _iso(now - dt.timedelta(days=7))
    for row in outbox.rows("status = 'pending'"):
        key, account, rule = row["alert_key"], row["account_id"], row["rule"]
        payload = json.loads(row["payload"])
        if outbox.snoozed(account, rule, now.date()):
            outbox.update(key, status="suppressed", status_reason="snoozed")
            report.outcomes["snoozed"] += 1
            continue
        if row["severity"] != "critical":
            outbox.update(key, status="digest", status_reason="weekly digest")
            report.outcomes["digest"] += 1
            continue
        open_alert = outbox.rows("account_id = ? AND rule = ? AND status = 'sent' AND acknowledged_at IS NULL "
                                 "AND alert_key <> ?", (account, rule, key))
        try:
            if open_alert:
                target = open_alert[-1]
                text, blocks = alert_message(payload, config.dagster_ui_url, updates=target["updates"] + 1)
                transport.update(target["channel"], target["ts"], text, blocks)
                outbox.update(target["alert_key"], updates=target["updates"] + 1)
                outbox.update(key, status="suppressed", status_reason=f"merged into {target['alert_key']}")
                report.outcomes["updated"] += 1
                continue
            cooldown_from = _iso(now - dt.timedelta(days=config.cooldown_days(rule)))
            if outbox.rows("account_id = ? AND rule = ? AND status = 'sent' AND sent_at >= ?", (account, rule, cooldown_from)):
                outbox.update(key, status="suppressed", status_reason="cooldown")
                report.outcomes["cooldown"] += 1
                continue
            sent_this_week = outbox.rows("csm_id IS ? AND severity = 'critical' AND status = 'sent' AND sent_at >= ?",
                                         (row["csm_id"], week_ago))
            if len(sent_this_week) >= config.critical_cap_per_week:
                outbox.update(key, status="digest", status_reason="critical cap reached")
                report.outcomes["capped"] += 1
                continue
            _send(outbox, transport, config, row, payload, now)
            report.outcomes["sent"] += 1
        except Exception as exc:  # noqa: BLE001 - Slack down: the alert stays pending for the next tick
            outbox.update(key, last_error=f"{type(exc).__name__}: {str(exc)[:300]}")
            report.errors.append(key)
            report.outcomes["failed_attempt"] += 1
    return report


def poll_acknowledgments(outbox: Outbox, transport) -> int:
    """Acknowledge open critical alerts that got a :white_check_mark: reaction."""
    acked = 0
    for row in outbox.rows("status = 'sent' AND acknowledged_at IS NULL AND ts IS NOT NULL"):
        for channel, ts in ((row["channel"], row["ts"]), (row["dm_channel"], row["dm_ts"])):
            if not ts:
                continue
            reactions = transport.reactions(channel, ts)
            users = [u for r in reactions if r.get("name") == ACK_REACTION for u in r.get("users", [])]
            if users and outbox.acknowledge(row["alert_key"], by=f"slack:{users[0]}"):
                acked += 1
                break
    return acked


def escalate_breaches(outbox: Outbox, transport, config: AlertConfig, now: dt.datetime) -> int:
    """Post SLA breaches (sent, unacknowledged past the SLA) to the ops channel for the CSM's manager."""
    escalated = 0
    for row in outbox.rows("status = 'sent' AND acknowledged_at IS NULL AND escalated_at IS NULL"):
        hours = config.sla_hours["critical" if row["severity"] == "critical" else "warning"]
        if dt.datetime.fromisoformat(row["sent_at"]) + dt.timedelta(hours=hours) > now:
            continue
        text, blocks = escalation_message(json.loads(row["payload"]), hours)
        transport.post(config.ops_channel, text, blocks, f"escalation:{row['alert_key']}")
        outbox.update(row["alert_key"], escalated_at=_iso(now))
        escalated += 1
    return escalated


def send_digests(outbox: Outbox, transport, now: dt.datetime) -> int:
    """One message per CSM with every alert waiting for the digest; each alert is digested once."""
    waiting = outbox.rows("status = 'digest' AND digested_at IS NULL")
    by_csm: dict[str, list] = {}
    for row in waiting:
        by_csm.setdefault(row["csm_slack_id"] or "", []).append(row)
    for slack_id, rows in by_csm.items():
        payloads = [json.loads(r["payload"]) for r in rows]
        text, blocks = digest_message(payloads[0].get("csm_name") or "unassigned", payloads)
        key = f"digest:{slack_id}:{now.date()}"
        channel = transport.open_dm(slack_id) if slack_id else "#cs-unassigned"
        if not transport.find(channel, key):
            transport.post(channel, text, blocks, key)
        for r in rows:
            outbox.update(r["alert_key"], digested_at=_iso(now))
    return len(waiting)
