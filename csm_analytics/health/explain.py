"""`csm-analytics health explain`: why an account scores what it scores, and what changed."""

from __future__ import annotations

import datetime as dt

import duckdb

from csm_analytics.health.config import COMPONENTS
from csm_analytics.lib.warehouse import fetch_one_dict
from csm_analytics.lib.suggest import account_ids, unknown_account_message

SPARK = "▁▂▃▄▅▆▇█"
EVIDENCE = {
    "usage": "seat utilisation {seat_utilization}, key events per user-day {key_events_per_user_day}, usage trend {usage_trend}",
    "engagement": "{touches_30d} touches in 30 days, {touches_90d} in 90",
    "qbr": "{days_since_qbr} days since the last QBR",
    "support": "{escalations_90d} escalations in 90 days, {open_tickets} open, median resolution {median_resolution_hours_90d} h",
    "payment": "{failed_payments_180d} failed, {late_payments_180d} late, {overdue_invoices} overdue (180 days)",
    "sentiment": "latest NPS {latest_nps}, CSAT {csat_180d} (180 days)",
    "relationship": "{roles_90d} contact roles engaged in 90 days",
    "renewal": "tenure {tenure_days} days, renews in {days_to_renewal} days, last renewal {last_renewal_outcome}",
    "incidents": "{critical_incidents_180d} critical / payroll, {other_incidents_180d} other (180 days)",
}


class ExplainError(LookupError):
    pass


def sparkline(scores: list[float]) -> str:
    """One character per day, scaled between the window's min and max (printed beside it)."""
    lo, hi = min(scores), max(scores)
    if hi - lo < 1e-9:
        return SPARK[3] * len(scores)
    return "".join(SPARK[min(len(SPARK) - 1, int((s - lo) / (hi - lo) * len(SPARK)))] for s in scores)


def _readable(row: dict) -> dict:
    return {k: "n/a" if v is None else round(v, 2) if isinstance(v, float) else v for k, v in row.items()}


def latest_scored_day(con: duckdb.DuckDBPyConnection, account_id: str) -> dt.date | None:
    """The account's latest day in core.account_health_history (None when it was never scored)."""
    return con.execute("SELECT max(as_of_date) FROM core.account_health_history WHERE account_id = ?",
                       [account_id]).fetchall()[0][0]


def explain(con: duckdb.DuckDBPyConnection, account_id: str, as_of: dt.date | None = None) -> str:
    if as_of is None:
        as_of = latest_scored_day(con, account_id)
        if as_of is None:
            known = account_ids(con)
            if account_id not in known:
                raise ExplainError(unknown_account_message(account_id, known))
            raise ExplainError(f"no health history for account {account_id!r}: it has never had a contract in force "
                               "in the history, or core/account_health_history is not materialized")
    now = fetch_one_dict(con, "SELECT * FROM core.account_health_history WHERE account_id = ? AND as_of_date = ?", [account_id, as_of])
    if now is None:
        raise ExplainError(f"account {account_id!r} has no score on {as_of}: it may not have had a contract in force "
                           "that day, or that day's partition is not materialized")
    comp = fetch_one_dict(con, "SELECT * FROM core.account_health_components WHERE account_id = ? AND as_of_date = ?", [account_id, as_of])
    then = fetch_one_dict(con, "SELECT * FROM core.account_health_history WHERE account_id = ? AND as_of_date = ?",
                [account_id, as_of - dt.timedelta(days=30)])
    scores = [r[0] for r in con.execute(
        "SELECT health_score FROM core.account_health_history WHERE account_id = ? AND as_of_date > ? AND as_of_date <= ? "
        "ORDER BY as_of_date", [account_id, as_of - dt.timedelta(days=90), as_of]).fetchall()]
    trend = f"{now['trend_30d']:+.2f} points/day over 30 days" if now["trend_30d"] is not None else "trend n/a"
    lines = [f"{account_id} ({now['tier']}) on {as_of}: health {now['health_score']:.1f}, {now['band']}; {trend}", "",
             f"{'component':<13}{'value':>7}{'weight':>8}{'points':>8}{'lost':>7}  evidence"]
    lost = []
    for c in COMPONENTS:
        value, pts, lst = comp[c], now[f"pts_{c}"], now[f"lost_{c}"]
        if value is None:
            lines.append(f"{c:<13}{'n/a':>7}{'0.0':>8}{'-':>8}{'-':>7}  no data: weight shared out over the others")
            continue
        lost.append((lst, c))
        lines.append(f"{c:<13}{value:>7.1f}{pts + lst:>8.1f}{pts:>8.1f}{lst:>7.1f}  {EVIDENCE[c].format(**_readable(comp))}")
    drivers = ", ".join(f"{c} (-{v:.1f})" for v, c in sorted(lost, key=lambda x: (-x[0], x[1]))[:3] if v > 0)
    lines += ["", f"Drivers (points lost): {drivers or 'none'}",
              f"Last {len(scores)} days: {sparkline(scores)}  (min {min(scores):.1f}, max {max(scores):.1f})"]
    if then is None:
        lines.append("30 days ago: no score (account not active then)")
    else:
        moved = sorted(((now[f"pts_{c}"] or 0) - (then[f"pts_{c}"] or 0), c) for c in COMPONENTS)
        moved = [f"{c} {d:+.1f}" for d, c in sorted(moved, key=lambda x: -abs(x[0])) if abs(d) >= 0.5]
        lines.append(f"Since {as_of - dt.timedelta(days=30)}: {then['health_score']:.1f} -> {now['health_score']:.1f} "
                     f"({now['health_score'] - then['health_score']:+.1f}); moved by: {', '.join(moved) or 'nothing material'}")
    return "\n".join(lines)
