"""Turn a pack's facts into the executive summary, recommendations and proposed actions.

Deterministic templates: the same facts always give the same words, and every sentence
points at a number in the pack. One extension point, `CSM_NARRATIVE_REWRITER`, may name a
`module:function(text, facts) -> str` (an LLM rewriter, say) that polishes the summary; it is
off by default, and any failure falls back to the template text.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import os
from typing import Callable

from csm_analytics.lib.display import count, label, money, pct

log = logging.getLogger(__name__)

# What a CSM does about each health component when it costs the account points.
MITIGATIONS = {
    "usage": "Run an adoption workshop with the admins and set a seat-activation goal for the quarter.",
    "engagement": "Restore the agreed touch cadence and add a second contact role to the relationship.",
    "qbr": "Book the overdue QBR with the executive sponsor now.",
    "support": "Review open and escalated tickets with Support and agree a resolution plan.",
    "payment": "Align with Finance on the overdue or failed invoices before the renewal conversation.",
    "sentiment": "Close the loop with detractors: call them, log the cause, follow up in 30 days.",
    "relationship": "Map the buying committee and get an executive sponsor meeting on the calendar.",
    "renewal": "Start the renewal plan: confirm decision makers, timeline and commercial terms.",
    "incidents": "Share the incident root-cause report and the prevention steps with the client.",
}
LOST_POINTS_WORTH_ACTING = 3.0


def _pct(x: float | None) -> str:
    return pct(x, signed=True)


def risks(pack: dict) -> list[dict]:
    """The components that cost the most points, with the mitigating action; then renewal risk."""
    out = [{"risk": f"{label(c['component'])} cost {c['lost']:.1f} of {c['max']:.0f} points",
            "action": MITIGATIONS[c["component"]], "weight": c["lost"]}
           for c in pack["health"]["components"] if (c["lost"] or 0) >= LOST_POINTS_WORTH_ACTING]
    rev = pack["revenue"]
    if rev["churn_probability"] is not None and rev["churn_probability"] >= 0.25:
        out.append({"risk": f"Churn probability {rev['churn_probability']:.0%} with {rev['days_to_renewal']} days "
                            f"to renewal ({money(rev['revenue_at_risk'])} ARR at risk)",
                    "action": MITIGATIONS["renewal"], "weight": 100 * rev["churn_probability"]})
    return sorted(out, key=lambda r: -r["weight"])[:4]


def expansion_ideas(pack: dict) -> list[dict]:
    ideas = [{"idea": f"{o['stage'].capitalize()} opportunity ({label(o['source_signal']).lower()})",
              "amount": o["amount"], "signal": o["source_signal"]} for o in pack["open_opportunities"]]
    sig = pack["expansion_signal"]
    if sig:
        ideas.append({"idea": sig.get("recommended_action") or "Expansion signal", "amount": sig.get("estimated_expansion_arr"),
                      "signal": sig.get("strongest_signal")})
    usage = {m["metric"]: m for m in pack["usage"]["metrics"]}
    util = pack["usage"]["seat_utilization"]
    if util is not None and util >= 0.9 and not any(i["signal"] == "seat_ceiling" for i in ideas):
        ideas.append({"idea": f"Seats {util:.0%} used: propose a seat top-up before the ceiling blocks hiring",
                      "amount": None, "signal": "seat_ceiling"})
    growth = usage["worker_count"]["change"]
    if growth is not None and growth >= 0.10:
        ideas.append({"idea": f"Workforce up {growth:.0%} in 90 days: discuss hiring plans and new countries",
                      "amount": None, "signal": "hiring_velocity"})
    return ideas[:4]


def advocacy_ask(pack: dict) -> str | None:
    nps = next((m["value"] for m in pack["benchmarks"]["metrics"] if m["metric"] == "latest_nps"), None)
    referral = (pack["last_qbr_row"] or {}).get("referral_intent")
    if pack["health"]["band"] == "Healthy" and ((nps is not None and nps >= 9) or referral):
        why = f"NPS {nps}" if nps is not None and nps >= 9 else "referral intent at the last QBR"
        return f"Healthy account with {why}: ask for a referral, a case study or a reference call."
    return None


def proposed_actions(pack: dict, as_of: dt.date) -> list[dict]:
    due = as_of + dt.timedelta(days=30)
    owner = pack["account"]["csm_name"]
    items = [{"action": r["action"], "owner": owner, "due": due} for r in risks(pack)[:2]]
    items += [{"action": f"Qualify: {i['idea']}", "owner": owner, "due": due} for i in expansion_ideas(pack)[:1]]
    carried = [a for a in pack["action_items"] if a["status"] != "done"]
    items += [{"action": f"Carry over: {a['action']}", "owner": owner, "due": due} for a in carried]
    if advocacy_ask(pack):
        items.append({"action": "Ask for a referral or case study", "owner": owner, "due": due})
    return items


def went_well(pack: dict) -> list[str]:
    good = []
    h = pack["health"]
    if h["band"] == "Healthy":
        good.append(f"Health is {h['score']:.0f} (Healthy)")
    if h["score_year_ago"] is not None and h["score"] - h["score_year_ago"] >= 5:
        good.append(f"health up {h['score'] - h['score_year_ago']:.0f} points on a year ago")
    for m in pack["usage"]["metrics"]:
        if m["metric"] in ("active_users", "key_feature_events", "worker_count") and (m["change"] or 0) >= 0.05:
            good.append(f"{m['label'].lower()} {_pct(m['change'])} over 90 days")
    top = [b for b in pack["benchmarks"]["metrics"] if (b["percentile"] or 0) >= 75]
    good += [f"top-quartile {b['label'].split(':')[0].split('(')[0].strip().lower()} among {pack['benchmarks']['peer_group']} peers"
             for b in top]
    return good


def at_risk(pack: dict) -> list[str]:
    bad = [r["risk"] for r in risks(pack)]
    for m in pack["usage"]["metrics"]:
        if m["metric"] in ("active_users", "key_feature_events") and (m["change"] or 0) <= -0.10:
            bad.append(f"{m['label'].lower()} {_pct(m['change'])} over 90 days")
    h = pack["health"]
    if h["score_year_ago"] is not None and h["score_year_ago"] - h["score"] >= 5:
        bad.append(f"health down {h['score_year_ago'] - h['score']:.0f} points on a year ago")
    crit = [i for i in pack["support"]["incidents"] if i["severity"] == "critical"]
    if crit:
        bad.append(f"{count(len(crit), 'critical incident')} in 180 days")
    return bad


def _sentence(lead: str, items: list[str], none: str) -> str:
    if not items:
        return none
    items = [_lower_first(i) for i in items]
    body = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    return f"{lead} {body}."


def _lower_first(text: str) -> str:
    """'Product usage' -> 'product usage', but 'QBR cadence' stays."""
    return text[0].lower() + text[1:] if len(text) > 1 and text[1].islower() else text


def _numbered(lead: str, items: list[str], none: str) -> str:
    if not items:
        return none
    return lead + " " + "; ".join(f"({i}) {_lower_first(t)}" for i, t in enumerate(items, start=1)) + "."


def executive_summary(pack: dict) -> dict:
    recs = [r["action"] for r in risks(pack)[:2]] + [i["idea"] for i in expansion_ideas(pack)[:1]]
    ask = advocacy_ask(pack)
    text = {
        "went_well": _sentence("What went well:", went_well(pack)[:4], "No standout gains this period."),
        "at_risk": _sentence("What is at risk:", at_risk(pack)[:4], "No material risks in the data."),
        "recommend": _numbered("We recommend:", [r.rstrip(".") for r in recs] + ([ask.split(": ", 1)[1].rstrip(".")] if ask else []),
                               "We recommend keeping the current plan."),
    }
    rewriter = load_rewriter()
    if rewriter is not None:
        for key, value in text.items():
            try:
                text[key] = rewriter(value, pack)
            except Exception as exc:  # noqa: BLE001 - the template text is always a valid summary
                log.warning("narrative rewriter failed (%s); keeping the template text", exc)
    return text


def load_rewriter() -> Callable[[str, dict], str] | None:
    """The optional rewriter named by CSM_NARRATIVE_REWRITER=module:function (unset or 'off': none)."""
    spec = os.environ.get("CSM_NARRATIVE_REWRITER", "").strip()
    if not spec or spec.lower() == "off":
        return None
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)
