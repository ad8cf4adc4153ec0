"""`csm-analytics brief ACCOUNT_ID`: a one-page, internal briefing before a client meeting.

Five sections, each read point-in-time at the as-of day: recent issues and open tickets, the health
change and its drivers, open action items, talking points, risk areas. Everything is built from the
warehouse by fixed rules (docs/reports.md), so two CSMs get the same brief for the same account.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from csm_analytics.health.config import COMPONENTS
from csm_analytics.health.explain import EVIDENCE, _readable, latest_scored_day
from csm_analytics.lib.display import count, label, labels, money
from csm_analytics.lib.suggest import account_ids, unknown_account_message
from csm_analytics.lib.warehouse import fetch_dicts, fetch_one_dict, table_exists
from csm_analytics.canonical.ownership import OWNER_PERIODS
from csm_analytics.reports.qbr.pipeline import qbr_action_items_query

WIDTH = 96


class BriefError(LookupError):
    pass


def _money(v) -> str:
    return money(v)


def _n(n: int, noun: str) -> str:
    return count(n, noun)


def _days(n: int) -> str:
    return _n(n, "day")


def _ago(n: int) -> str:
    return "today" if n == 0 else f"{_days(n)} ago"


def _name(account_name: str, account_id: str) -> str:
    return account_name if account_name.endswith(f" {account_id}") else f"{account_name} ({account_id})"


def list_accounts(con: duckdb.DuckDBPyConnection, csm_id: str | None = None) -> str:
    """Active accounts (scored on the latest day) with their CSM, band and name: where to find an id."""
    rows = con.execute(
        "SELECT s.account_id, coalesce(o.csm_id, 'unassigned'), s.band, a.account_name FROM core.account_health_score s "
        f"JOIN raw.accounts a USING (account_id) LEFT JOIN {OWNER_PERIODS} o ON o.account_id = s.account_id "
        "AND s.as_of_date BETWEEN o.valid_from AND coalesce(o.valid_to, DATE '9999-12-31') "
        "WHERE ? IS NULL OR o.csm_id = ? ORDER BY 2, 1", [csm_id, csm_id]).fetchall()
    if not rows:
        raise BriefError(f"no active accounts{f' for CSM {csm_id!r}' if csm_id else ''}: check the CSM id (e.g. CSM01) "
                         "or run `make materialize`")
    return "\n".join(f"{a:<12} {c:<11} {b:<8} {n}" for a, c, b, n in rows)


def _header(con, account_id: str, as_of: dt.date) -> tuple[list[str], dict]:
    acc = fetch_one_dict(con, f"""
        SELECT a.*, h.health_score, h.band, c.arr, c.end_date AS renewal_date, o.csm_id, m.name AS csm_name
        FROM raw.accounts a
        LEFT JOIN core.account_health_history h ON h.account_id = a.account_id AND h.as_of_date = ?
        LEFT JOIN raw.contracts c ON c.account_id = a.account_id AND ? BETWEEN c.start_date AND c.end_date
        LEFT JOIN {OWNER_PERIODS} o ON o.account_id = a.account_id
         AND ? BETWEEN o.valid_from AND coalesce(o.valid_to, DATE '9999-12-31')
        LEFT JOIN raw.csms m ON m.csm_id = o.csm_id
        WHERE a.account_id = ? ORDER BY c.start_date DESC LIMIT 1""", [as_of, as_of, as_of, account_id])
    renews = (f"renews {acc['renewal_date']} (in {_days((acc['renewal_date'] - as_of).days)})"
              if acc["renewal_date"] else "no contract in force")
    lines = [
        "MEETING BRIEF · INTERNAL, FOR THE CSM ONLY: do not share or forward to the client",
        "=" * WIDTH,
        f"{_name(acc['account_name'], account_id)} · {acc['tier']} · {acc['segment']} · {acc['product']} · {acc['country']}",
        f"CSM {acc['csm_name'] or 'unassigned'} ({acc['csm_id'] or '-'}) · as of {as_of} · ARR {_money(acc['arr'])} · {renews}",
        f"Health {acc['health_score']:.1f} ({acc['band']})" if acc["health_score"] is not None else "Health: not scored",
    ]
    return lines, acc


def _issues(con, account_id: str, as_of: dt.date) -> list[str]:
    t = fetch_one_dict(con, """
        SELECT count(*) FILTER (opened_at::DATE > ? - 90) AS opened_90d,
               count(*) FILTER (opened_at::DATE > ? - 90 AND escalated) AS escalated_90d
        FROM raw.support_tickets WHERE account_id = ? AND opened_at::DATE <= ?""", [as_of, as_of, account_id, as_of])
    open_tickets = fetch_dicts(con, """
        SELECT ticket_id, priority, opened_at::DATE AS opened, escalated FROM raw.support_tickets
        WHERE account_id = ? AND opened_at::DATE <= ? AND (resolved_at IS NULL OR resolved_at::DATE > ?)
        ORDER BY opened_at""", [account_id, as_of, as_of])
    incidents = fetch_dicts(con, """
        SELECT occurred_at::DATE AS day, incident_type, severity, description FROM raw.incidents
        WHERE account_id = ? AND occurred_at::DATE <= ? AND occurred_at::DATE > ? - 180 ORDER BY occurred_at DESC""",
        [account_id, as_of, as_of])
    pay = fetch_one_dict(con, """
        SELECT count(*) FILTER (failed_payment) AS failed, count(*) FILTER (paid_date <= ? AND days_late > 0) AS late,
               count(*) FILTER ((paid_date IS NULL OR paid_date > ?) AND due_date < ?) AS overdue
        FROM raw.invoices WHERE account_id = ? AND due_date <= ? AND due_date > ? - 180""",
        [as_of, as_of, as_of, account_id, as_of, as_of])
    lines = [f"- Tickets: {t['opened_90d']} opened in the last 90 days ({t['escalated_90d']} escalated), "
             f"{len(open_tickets)} open now"]
    lines += [f"    open {r['ticket_id']}: {r['priority']}, opened {r['opened']} ({_ago((as_of - r['opened']).days)})"
              + (", escalated" if r["escalated"] else "") for r in open_tickets[:5]]
    if len(open_tickets) > 5:
        lines.append(f"    ... and {len(open_tickets) - 5} more")
    lines.append(f"- Incidents in 180 days: {len(incidents) or 'none'}")
    lines += [f"    {r['day']}: {label(r['incident_type'])} ({r['severity']}): {r['description']}"
              for r in incidents[:3]]
    lines.append(f"- Invoices due in 180 days: {_n(pay['failed'], 'failed payment')}, {pay['late']} paid late, "
                 f"{pay['overdue']} overdue now")
    return lines


def _health_change(con, account_id: str, as_of: dt.date) -> tuple[list[str], dict | None]:
    now = fetch_one_dict(con, "SELECT * FROM core.account_health_history WHERE account_id = ? AND as_of_date = ?", [account_id, as_of])
    comp = fetch_one_dict(con, "SELECT * FROM core.account_health_components WHERE account_id = ? AND as_of_date = ?",
                [account_id, as_of])
    if now is None:
        return [f"- No health score on {as_of}: the account had no contract in force that day."], None
    then = fetch_one_dict(con, "SELECT * FROM core.account_health_history WHERE account_id = ? AND as_of_date = ?",
                [account_id, as_of - dt.timedelta(days=30)])
    lost = sorted(((now[f"lost_{c}"], c) for c in COMPONENTS if now[f"lost_{c}"]), key=lambda x: (-x[0], x[1]))[:3]
    lines = []
    if then is None:
        lines.append("- 30 days ago: not scored yet (new contract)")
    else:
        delta = now["health_score"] - then["health_score"]
        band = f"{then['band']} -> {now['band']}" if then["band"] != now["band"] else f"still {now['band']}"
        moved = sorted((((now[f"pts_{c}"] or 0) - (then[f"pts_{c}"] or 0)), c) for c in COMPONENTS)
        moved = [f"{label(c)} {d:+.1f}" for d, c in sorted(moved, key=lambda x: -abs(x[0])) if abs(d) >= 0.5][:3]
        lines += [f"- Over 30 days: {then['health_score']:.1f} -> {now['health_score']:.1f} ({delta:+.1f} points), {band}",
                  f"- Moved by: {', '.join(moved) or 'nothing material'}"]
    lines.append(f"- Biggest gaps now (points lost): {', '.join(f'{label(c)} -{v:.1f}' for v, c in lost) or 'none'}")
    return lines, comp


def _actions(con, account_id: str, as_of: dt.date) -> list[str]:
    """The latest QBR's action items with their evidence-based status (the rule of marts.qbr_action_items)."""
    sql, params = qbr_action_items_query(as_of, account_id)
    items = fetch_dicts(con, f"SELECT * FROM ({sql}) ORDER BY qbr_date DESC, action", params)
    if not items:
        return ["- No QBR in the last 365 days, so no action items on record."]
    latest = items[0]["qbr_date"]
    lines = [f"- From the QBR on {latest}:"]
    for item in (i for i in items if i["qbr_date"] == latest):
        note = {"done": f"done {item['completed_on']}", "overdue": f"overdue since {item['due_date']}",
                "open": f"due {item['due_date']}"}[item["status"]]
        lines.append(f"    [{'x' if item['status'] == 'done' else ' '}] {item['action']} ({note})")
    earlier = [i for i in items if i["qbr_date"] != latest and i["status"] != "done"]
    if earlier:
        overdue = sum(i["status"] == "overdue" for i in earlier)
        lines.append(f"- Still open from earlier QBRs: {_n(len(earlier), 'item')}, {overdue} of them overdue")
    return lines


def _latest_table_row(con, table: str, account_id: str, as_of: dt.date) -> dict | None:
    """The account's row of a latest-day mart (predictions, expansion signals), only when it is as of `as_of`."""
    if not table_exists(con, table):
        return None
    return fetch_one_dict(con, f"SELECT * FROM {table} WHERE account_id = ? AND as_of_date::DATE = ?", [account_id, as_of])


def _talking_points(con, account_id: str, as_of: dt.date, acc: dict, comp: dict | None) -> list[str]:
    points = []
    if acc["renewal_date"] and (acc["renewal_date"] - as_of).days <= 120:
        points.append(f"Renewal on {acc['renewal_date']}: confirm the timeline, the decision makers and any blockers.")
    if comp:
        trend, seats = comp["usage_trend"], comp["seat_utilization"]
        if trend is not None and trend >= 1.1:
            points.append(f"Active users up {trend - 1:.0%} on three months ago: recognise the team's progress.")
        elif trend is not None and trend <= 0.9:
            points.append(f"Active users down {1 - trend:.0%} on three months ago: ask what changed in their teams.")
        if seats is not None and seats >= 0.9:
            points.append(f"{seats:.0%} of licensed seats in use: discuss headroom before they hit the ceiling.")
        if comp["open_tickets"]:
            points.append("Acknowledge the open tickets and bring the fix dates agreed with support.")
        if comp["latest_nps"] is not None and comp["latest_nps"] >= 9:
            points.append(f"Latest NPS {comp['latest_nps']}: ask for a referral, an introduction or a case study.")
        elif comp["latest_nps"] is not None and comp["latest_nps"] <= 6:
            points.append(f"Latest NPS {comp['latest_nps']}: ask what would have to change for them to recommend us.")
        if comp["qbr"] is not None and comp["qbr"] < 100:
            points.append(f"Propose a date for the next QBR (last one {comp['days_since_qbr']} days ago).")
    signal = _latest_table_row(con, "marts.expansion_signals", account_id, as_of)
    if signal and signal["readiness_index"] >= 60:
        points.append(f"Expansion readiness {signal['readiness_index']:.0f}/100: {signal['recommended_action']}")
    return points or ["Review progress on the account plan's objectives and ask about their plans for next quarter."]


def _risk_areas(con, account_id: str, as_of: dt.date, comp: dict | None) -> list[str]:
    lines = []
    if comp:
        readable = _readable(comp)
        weak = sorted((comp[c], c) for c in COMPONENTS if comp[c] is not None and comp[c] < 50)
        lines += [f"- {label(c)} {v:.0f}/100: {EVIDENCE[c].format(**readable)}" for v, c in weak]
    prediction = _latest_table_row(con, "ml.churn_predictions", account_id, as_of)
    if prediction and prediction["risk_level"] != "Low":
        drivers = f"; drivers: {labels(prediction['top_drivers'])}" if prediction["top_drivers"] else ""
        lines.append(f"- Churn model: {prediction['churn_probability']:.0%} probability ({prediction['risk_level']}), "
                     f"{_money(prediction['revenue_at_risk'])} revenue at risk{drivers}")
    return lines or ["- No health component below 50/100."]


def meeting_brief(con: duckdb.DuckDBPyConnection, account_id: str, as_of: dt.date | None = None) -> str:
    """The brief as text; raises BriefError naming the account when it is unknown or not scored."""
    known = con.execute("SELECT count(*) FROM raw.accounts WHERE account_id = ?", [account_id]).fetchall()[0][0]
    if not known:
        raise BriefError(unknown_account_message(account_id, account_ids(con)))
    if as_of is None:
        as_of = latest_scored_day(con, account_id)
        if as_of is None:
            raise BriefError(f"account {account_id!r} has never been scored (no contract in force in the history): "
                             "nothing to brief on")
    header, acc = _header(con, account_id, as_of)
    health, comp = _health_change(con, account_id, as_of)
    sections = [
        ("1. Recent issues and open tickets", _issues(con, account_id, as_of)),
        ("2. Health change and its drivers", health),
        ("3. Open action items", _actions(con, account_id, as_of)),
        ("4. Talking points", [f"- {p}" for p in _talking_points(con, account_id, as_of, acc, comp)]),
        ("5. Risk areas", _risk_areas(con, account_id, as_of, comp)),
    ]
    out = header
    for title, lines in sections:
        out += ["", title, "-" * len(title), *lines]
    return "\n".join(out)
