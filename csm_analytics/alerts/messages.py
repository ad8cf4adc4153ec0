"""Block Kit messages for alerts, digests and escalations."""

from __future__ import annotations

from csm_analytics.lib.display import LABELS, is_empty, money

TITLES = {rule: LABELS[rule] for rule in ("band_transition", "score_drop", "payment_failure", "support_escalation",
                                          "critical_incident", "at_risk_renewal")}  # words from lib.display.LABELS


def _score(value) -> str:
    return f"{float(value):.1f}"


def alert_fields(a: dict) -> list[tuple[str, str]]:
    """The (label, value) fields of an alert; a field without a value is left out, never shown as "n/a"."""
    band_to, band_from = a.get("band_to"), a.get("band_from")
    band = f"{band_from} → {band_to}" if band_from and band_to and band_from != band_to else band_to or band_from
    before, after = a.get("score_before"), a.get("score_after")
    score = (f"{_score(before)} → {_score(after)}" if before is not None and after is not None
             else _score(after) if after is not None else None)
    fields = [("Account", f"{a['account_name']} ({a['account_id']})"), ("CSM", a.get("csm_name") or "unassigned"),
              ("Tier", a.get("tier")), ("Band", band), ("Score", score), ("Moved by", a.get("moved_by")),
              ("ARR", money(a["arr"]) if a.get("arr") is not None else None),
              ("Revenue at risk", money(a["revenue_at_risk"]) if a.get("revenue_at_risk") is not None else None),
              ("Renewal date", str(a["renewal_date"])[:10] if a.get("renewal_date") else None),
              ("What happened", a.get("headline"))]
    return [(k, str(v)) for k, v in fields if v not in (None, "") and not is_empty(v)]


def alert_message(a: dict, ui_url: str, updates: int = 0) -> tuple[str, list]:
    """(fallback text, blocks) for one alert. `a` is the alert payload from alerts.alert_events."""
    title = f"{TITLES.get(a['rule'], a['rule'])}: {a['account_name']} ({a['account_id']})"
    text = f"{':rotating_light: ' if a['severity'] == 'critical' else ''}{title}: {a['headline']}"
    link = f"{ui_url}/assets/core/account_health_history?partition={str(a['event_date'])[:10]}"
    fields = alert_fields(a)
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
