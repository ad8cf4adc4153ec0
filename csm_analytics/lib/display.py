"""How a value reads to a person, in one place: reports, asset metadata, Slack and the CLI all use it.

- Money carries its currency (`CSM_CURRENCY`, an ISO code, default USD) and thousands separators.
- Ratios read as percentages; empty (None, NaN) reads as "—", never `nan` or `None`.
- Raw codes (incident types, signals, model features, rules) read through one mapping, `LABELS`.
- Counts agree with their noun: "1 ticket", "2 tickets" (`count`).
"""

from __future__ import annotations

import math
import os
import re

EMPTY = "—"
DEFAULT_CURRENCY = "USD"
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "AUD": "A$", "CAD": "C$"}

# Every raw code a user can see, as the words a user reads. Codes missing here read as their words
# ("seat_ceiling" -> "Seat ceiling"), so a new code is readable before it gets a better label.
LABELS = {
    # incident types
    "payroll_error": "Payroll error", "compliance_breach": "Compliance breach", "platform_outage": "Platform outage",
    "data_issue": "Data issue",
    # expansion signals
    "worker_growth": "Worker growth", "seat_ceiling": "Seats nearly full", "new_country": "New country",
    "cor_to_eor": "Contractors moving to EOR", "qbr_discussion": "Discussed at the QBR", "inbound": "Inbound request",
    "new_country_interest": "Interest in a new country", "eor_pattern": "Contractor usage that looks like EOR",
    # health components
    "usage": "Product usage", "engagement": "Engagement cadence", "qbr": "QBR cadence", "support": "Support experience",
    "payment": "Payment health", "sentiment": "Sentiment (NPS/CSAT)", "relationship": "Relationship breadth",
    "renewal": "Renewal history", "incidents": "Incidents",
    # churn model features (named as drivers)
    "seat_utilization": "Seat utilization", "key_events_per_user_day": "Key-feature use per user",
    "usage_trend": "Usage trend", "touches_30d": "CSM touches (30 days)", "touches_90d": "CSM touches (90 days)",
    "roles_90d": "Contact roles engaged (90 days)", "days_since_qbr": "Days since the last QBR",
    "escalations_90d": "Escalations (90 days)", "open_tickets": "Open tickets",
    "median_resolution_hours_90d": "Ticket resolution time (90 days)", "failed_payments_180d": "Failed payments (180 days)",
    "late_payments_180d": "Late payments (180 days)", "overdue_invoices": "Overdue invoices", "latest_nps": "Latest NPS",
    "csat_180d": "CSAT (180 days)", "tenure_days": "Tenure", "critical_incidents_180d": "Critical incidents (180 days)",
    "other_incidents_180d": "Other incidents (180 days)", "days_to_renewal": "Days to renewal", "arr": "ARR",
    "term_months": "Contract term", "previously_downgraded": "Downgraded before", "qbr_shortfall_365d": "QBRs missed (12 months)",
    "usage_avg_90d": "Product usage (90-day average)", "usage_change_120d": "Usage change (120 days)",
    "engagement_avg_90d": "CSM engagement (90-day average)", "support_avg_90d": "Support experience (90-day average)",
    "sentiment_avg_90d": "Sentiment (90-day average)", "csm_book_churn_rate_365d": "Churn rate of the CSM's book",
    "health_score": "Health score", "tier": "Tier", "segment": "Segment", "product": "Product",
    # alert rules
    "band_transition": "Health band change", "score_drop": "Health score drop", "payment_failure": "Payment failed",
    "support_escalation": "Support escalation", "critical_incident": "Critical incident",
    "at_risk_renewal": "At-risk renewal",
    # daily-brief reasons
    "red_renewal": "At-risk renewal", "health_drop": "Health dropped", "critical_alert": "Open critical alert",
    "qbr_overdue": "QBR overdue", "plan_stale": "Account plan out of date", "actions_overdue": "QBR actions overdue",
}

# noun -> plural, where adding "s" is wrong
_PLURALS = {"activity": "activities", "opportunity": "opportunities", "day": "days", "person": "people"}


def is_empty(value) -> bool:
    if value is None:
        return True
    try:
        return bool(math.isnan(value))
    except (TypeError, ValueError):
        return str(value) in ("NaT", "<NA>", "nan")


def currency() -> str:
    """The ISO code every amount is shown in (setting `CSM_CURRENCY`; the data carries no currency)."""
    code = (os.environ.get("CSM_CURRENCY") or DEFAULT_CURRENCY).strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValueError(f"CSM_CURRENCY must be a three-letter ISO 4217 code such as USD or EUR, got {code!r}")
    return code


def currency_prefix(code: str | None = None) -> str:
    """What goes before an amount: "$", "€", or "CHF " for a code without a symbol."""
    code = code or currency()
    return SYMBOLS.get(code) or f"{code} "


def money(value, code: str | None = None, digits: int = 0) -> str:
    """"$1,186,480" (USD), "€1,186,480" (EUR), "CHF 1,186,480" (a code without a symbol); "—" when empty."""
    if is_empty(value):
        return EMPTY
    code = code or currency()
    amount = f"{abs(float(value)):,.{digits}f}"
    sign = "-" if float(value) < 0 and float(amount.replace(",", "")) != 0 else ""
    symbol = SYMBOLS.get(code)
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{code} {amount}"


def pct(value, digits: int = 0, signed: bool = False) -> str:
    """A ratio as a percentage: 1.0784 -> "107.8 %" with digits=1; "—" when empty."""
    if is_empty(value):
        return EMPTY
    text = f"{float(value) * 100:{'+' if signed else ''},.{digits}f} %"
    return text


def number(value, digits: int = 1) -> str:
    if is_empty(value):
        return EMPTY
    if isinstance(value, int) or (isinstance(value, float) and digits == 0):
        return f"{value:,.0f}"
    return f"{float(value):,.{digits}f}"


def points(value, digits: int = 1) -> str:
    """A signed change in score points: "−7.3 points", "+0.4 points"; "—" when empty."""
    if is_empty(value):
        return EMPTY
    v = round(float(value), digits)
    return f"{'+' if v > 0 else '−' if v < 0 else '±'}{abs(v):,.{digits}f} points"


def label(code) -> str:
    """The words a user reads for a raw code."""
    if is_empty(code) or code == "":
        return EMPTY
    code = str(code)
    if code in LABELS:
        return LABELS[code]
    head, space, tail = code.partition(" ")  # "usage (-12.3)", "support +4.0": label the code, keep the figure
    if space and head in LABELS:
        return f"{LABELS[head]} {tail}"
    words = code.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def labels(codes) -> str:
    """A comma-separated list of codes (a model's drivers) as labels: "usage_change_120d, open_tickets" ->
    "Usage change (120 days), Open tickets"; "—" when empty."""
    if is_empty(codes) or not str(codes).strip():
        return EMPTY
    return ", ".join(label(c.strip()) for c in str(codes).split(",") if c.strip())


def count(n, noun: str, plural: str | None = None) -> str:
    """"1 ticket", "3 tickets", "0 touches": the noun agrees with the number."""
    n = 0 if is_empty(n) else n
    if n == 1:
        return f"1 {noun}"
    plural = plural or _PLURALS.get(noun) or (noun + "es" if noun.endswith(("s", "sh", "ch", "x")) else noun + "s")
    return f"{n:,} {plural}"


def cell(value, kind: str | None = None) -> str:
    """One table cell by kind: money, pct, pct1 (one decimal), int, score, text; None guesses from the value."""
    if is_empty(value):
        return EMPTY
    if kind == "money":
        return money(value)
    if kind in ("pct", "pct1"):
        return pct(value, 1 if kind == "pct1" else 0)
    if kind == "int":
        return f"{int(round(float(value))):,}"
    if kind == "score":
        return number(value, 1)
    if kind == "label":
        return label(value)
    if isinstance(value, bool) or kind == "text":
        return "yes" if value is True else "no" if value is False else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4f}"
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return cell(value.item(), kind)
    return str(value)
