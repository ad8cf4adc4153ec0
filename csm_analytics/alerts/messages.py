"""Block Kit messages for alerts, digests and escalations."""

from __future__ import annotations

TITLES = {
    "band_transition": "Health band change", "score_drop": "Health score drop", "payment_failure": "Payment failed",
    "support_escalation": "Support escalation", "critical_incident": "Critical incident",
    "at_risk_renewal": "At-risk renewal",
}


def _money(value) -> str:
    return "n/a" if value is None else f"${float(value):,.0f}"


def _score(value) -> str:
    return "n/a" if value is None else f"{float(value):.1f}"


def alert_message(a: dict, ui_url: str, updates: int = 0) -> tuple[str, list]:
    """(fallback text, blocks) for one alert. `a` is the alert payload from alerts.alert_events."""
    title = f"{TITLES.get(a['rule'], a['rule'])}: {a['account_name']} ({a['account_id']})"
    text = f"{':rotating_light: ' if a['severity'] == 'critical' else ''}{title}: {a['headline']}"
    band = f"{a['band_from']} → {a['band_to']}" if a.get("band_from") else "n/a"
    score = f"{_score(a.get('score_before'))} → {_score(a.get('score_after'))}" if a.get("score_after") is not None else "n/a"
    link = f"{ui_url}/assets/core/account_health_history?partition={str(a['event_date'])[:10]}"
    fields = [("Account", f"{a['account_name']} ({a['account_id']})"), ("CSM", a.get("csm_name") or "unassigned"),
              ("Tier", a["tier"]), ("Band", band), ("Score", score), ("Moved by", a.get("moved_by") or "n/a"),
              ("ARR", _money(a.get("arr"))), ("Revenue at risk", _money(a.get("revenue_at_risk"))),
              ("Renewal date", str(a.get("renewal_date") or "n/a")[:10]), ("What happened", a["headline"])]
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in fields]},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Recommended next step:* {a['recommended_action']}"}},
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open in Dagster"},
                                          "url": link}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text":
            f"alert `{a['alert_key']}` · severity {a['severity']} · react with :white_check_mark: to acknowledge"
            + (f" · updated {updates}x while open" if updates else "")}]},
    ]
    return text, blocks


# Block Kit allows 50 blocks per message: a header, a context line and one section per alert.
DIGEST_ITEMS_PER_MESSAGE = 40
SECTION_TEXT_LIMIT = 3000


def digest_message(csm_name: str, alerts: list[dict]) -> tuple[str, list]:
    """One section per alert, each with its key, so every item can be acknowledged on its own
    (`csm-analytics alerts ack KEY`); a :white_check_mark: on the message acknowledges all of them."""
    if len(alerts) > DIGEST_ITEMS_PER_MESSAGE:
        raise ValueError(f"a digest message holds at most {DIGEST_ITEMS_PER_MESSAGE} alerts, got {len(alerts)}")
    text = f"Weekly alert digest for {csm_name}: {len(alerts)} alerts"
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": text[:150]}},
              {"type": "context", "elements": [{"type": "mrkdwn", "text":
                  "React with :white_check_mark: to acknowledge every alert below, or acknowledge one with "
                  "`csm-analytics alerts ack KEY`."}]}]
    for a in alerts:
        key = f"\n`{a['alert_key']}`"
        line = f"• *{TITLES.get(a['rule'], a['rule'])}* {a['account_name']} ({a['account_id']}): {a['headline']}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": line[:SECTION_TEXT_LIMIT - len(key)] + key}})
    return text, blocks


def escalation_message(a: dict, hours: float) -> tuple[str, list]:
    text = (f":warning: SLA breach: {TITLES.get(a['rule'], a['rule'])} for {a['account_name']} ({a['account_id']}) "
            f"not acknowledged by {a.get('csm_name') or 'the CSM'} within {hours:g} h. Escalating to {a.get('manager')}.")
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
