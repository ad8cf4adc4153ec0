"""Collect the facts of one account's QBR pack from the warehouse, as of a date.

Every number in a pack comes from here, read with plain SQL against the canonical and
scored tables, so a test can recompute it from the marts. No Dagster, no rendering.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from csm_analytics.health.config import COMPONENTS
from csm_analytics.lib.warehouse import fetch_dicts, table_exists
from csm_analytics.reports.qbr.analysis import anomalies_since, benchmarks, changes_since
from csm_analytics.canonical.ownership import OWNER_PERIODS
from csm_analytics.lib.suggest import account_ids, unknown_account_message
from csm_analytics.reports.qbr.pipeline import qbr_action_items_query


class UnknownAccount(LookupError):
    """The account id is not in raw.accounts."""


def _one(con, sql: str, params: list) -> dict:
    rows = fetch_dicts(con, sql, params)
    return rows[0] if rows else {}


def resolve_as_of(con: duckdb.DuckDBPyConnection, as_of: dt.date | None) -> dt.date:
    """The pack's date: the one asked for (clamped to the scored history), or the latest scored day."""
    first, last = con.execute("SELECT min(as_of_date), max(as_of_date) FROM core.account_health_history").fetchall()[0]
    if last is None:
        raise LookupError("core.account_health_history is empty: materialize the health assets first "
                          "(`csm-analytics materialize`).")
    if as_of is None:
        return last
    if not first <= as_of <= last:
        raise ValueError(f"--as-of {as_of} is outside the scored history {first} .. {last}.")
    return as_of


def account_header(con, account_id: str, as_of: dt.date) -> dict:
    row = _one(con, f"""
        SELECT a.account_id, a.account_name, a.tier, a.segment, a.industry, a.country, a.product,
               (SELECT arg_max(o.csm_id, o.valid_from) FROM {OWNER_PERIODS} o WHERE o.account_id = a.account_id
                  AND ? BETWEEN o.valid_from AND coalesce(o.valid_to, DATE '9999-12-31')) AS csm_id
        FROM raw.accounts a WHERE a.account_id = ?""", [as_of, account_id])
    if not row:
        raise UnknownAccount(unknown_account_message(account_id, account_ids(con)))
    csm = _one(con, "SELECT name, slack_user_id FROM raw.csms WHERE csm_id = ?", [row["csm_id"]])
    return {**row, "csm_name": csm.get("name", "unassigned")}


def health_section(con, account_id: str, as_of: dt.date) -> dict:
    now = _one(con, "SELECT * FROM core.account_health_history WHERE account_id = ? AND as_of_date = ?",
               [account_id, as_of])
    components = [{"component": c, "points": now.get(f"pts_{c}"), "lost": now.get(f"lost_{c}"),
                   "max": (now.get(f"pts_{c}") or 0) + (now.get(f"lost_{c}") or 0)} for c in COMPONENTS
                  if now.get(f"pts_{c}") is not None]
    trend = fetch_dicts(con, """
        SELECT as_of_date, health_score, band FROM core.account_health_history
        WHERE account_id = ? AND as_of_date BETWEEN CAST(? AS DATE) - 365 AND ? AND dayofweek(as_of_date) = dayofweek(CAST(? AS DATE))
        ORDER BY as_of_date""", [account_id, as_of, as_of, as_of])
    year_ago = trend[0]["health_score"] if trend else None
    month_ago = _one(con, "SELECT health_score FROM core.account_health_history WHERE account_id = ? "
                          "AND as_of_date = CAST(? AS DATE) - 30", [account_id, as_of]).get("health_score")
    change = None if now.get("health_score") is None or month_ago is None else now["health_score"] - month_ago
    # change_30d: score today minus score 30 days earlier, in points (not the per-day slope trend_30d)
    return {"score": now.get("health_score"), "band": now.get("band"), "change_30d": change, "score_30d_ago": month_ago,
            "score_year_ago": year_ago, "components": components, "trend": trend}


USAGE_METRICS = {"active_users": "Active users", "licensed_seats": "Licensed seats",
                 "key_feature_events": "Key-feature events / day", "worker_count": "Workers paid"}


def usage_section(con, account_id: str, as_of: dt.date) -> dict:
    monthly = fetch_dicts(con, f"""
        SELECT CAST(date_trunc('month', usage_date) AS DATE) AS month,
               {", ".join(f"round(avg({m}), 1) AS {m}" for m in USAGE_METRICS)}
        FROM raw.product_usage WHERE account_id = ? AND usage_date BETWEEN CAST(? AS DATE) - 365 AND ?
        GROUP BY 1 ORDER BY 1""", [account_id, as_of, as_of])
    window = lambda lo, hi: ", ".join(  # noqa: E731 - a 30-day average of each metric
        f"avg({m}) FILTER (usage_date BETWEEN CAST(? AS DATE) - {lo} AND CAST(? AS DATE) - {hi}) AS {m}_{lo}"
        for m in USAGE_METRICS)
    row = _one(con, f"SELECT {window(29, 0)}, {window(119, 90)} FROM raw.product_usage WHERE account_id = ?",
               [as_of] * 16 + [account_id])
    metrics = []
    for m, label in USAGE_METRICS.items():
        now, before = row.get(f"{m}_29"), row.get(f"{m}_119")
        change = (now - before) / before if now is not None and before else None
        metrics.append({"metric": m, "label": label, "last_30d": now, "prior_30d_90d_ago": before, "change": change})
    seats = row.get("licensed_seats_29") or 0
    utilization = (row.get("active_users_29") or 0) / seats if seats else None
    return {"metrics": metrics, "monthly": monthly, "seat_utilization": utilization}


def revenue_section(con, account_id: str, as_of: dt.date) -> dict:
    contracts = fetch_dicts(con, """
        SELECT contract_id, start_date, end_date, arr, term_months, licensed_seats, renewal_outcome, downgrade_amount
        FROM raw.contracts WHERE account_id = ? AND start_date <= ? ORDER BY start_date""", [account_id, as_of])
    current = next((c for c in contracts if c["start_date"] <= as_of <= c["end_date"]), None)
    # today's figure is the champion's (ml.churn_predictions, as everywhere else); a past day's is the replay's
    p = _one(con, "SELECT churn_probability, risk_level, top_drivers FROM ml.churn_predictions "
                  "WHERE account_id = ? AND as_of_date = ?", [account_id, as_of]) \
        if table_exists(con, "ml.churn_predictions") else {}
    if not p and table_exists(con, "ml.churn_snapshots"):
        p = _one(con, "SELECT churn_probability FROM ml.churn_snapshots WHERE account_id = ? AND snapshot_date = ?",
                 [account_id, as_of])
    arr = current["arr"] if current else 0.0
    prob = p.get("churn_probability")
    return {"contracts": contracts, "arr": arr, "renewal_date": current["end_date"] if current else None,
            "days_to_renewal": (current["end_date"] - as_of).days if current else None,
            "churn_probability": prob, "revenue_at_risk": arr * prob if prob is not None else None,
            "first_arr": contracts[0]["arr"] if contracts else None}


def support_section(con, account_id: str, as_of: dt.date) -> dict:
    periods = fetch_dicts(con, """
        SELECT CASE WHEN CAST(opened_at AS DATE) > CAST(? AS DATE) - 90 THEN 'last 90 days' ELSE 'prior 90 days' END AS period,
               count(*) AS tickets, count(*) FILTER (priority IN ('high', 'urgent')) AS high_priority,
               count(*) FILTER (escalated) AS escalated,
               round(median(date_diff('minute', opened_at, resolved_at) / 60.0), 1) AS median_resolution_hours,
               round(avg(csat), 2) AS avg_csat
        FROM raw.support_tickets WHERE account_id = ? AND CAST(opened_at AS DATE) BETWEEN CAST(? AS DATE) - 179 AND ?
        GROUP BY 1 ORDER BY 1""", [as_of, account_id, as_of, as_of])
    open_now = fetch_dicts(con, """
        SELECT ticket_id, CAST(opened_at AS DATE) AS opened, priority, escalated FROM raw.support_tickets
        WHERE account_id = ? AND CAST(opened_at AS DATE) <= ? AND (resolved_at IS NULL OR CAST(resolved_at AS DATE) > ?)
        ORDER BY opened_at""", [account_id, as_of, as_of])
    incidents = fetch_dicts(con, """
        SELECT CAST(occurred_at AS DATE) AS occurred, incident_type, severity, description FROM raw.incidents
        WHERE account_id = ? AND CAST(occurred_at AS DATE) BETWEEN CAST(? AS DATE) - 179 AND ?
        ORDER BY occurred_at DESC""", [account_id, as_of, as_of])
    return {"periods": {r["period"]: r for r in periods}, "open_tickets": open_now, "incidents": incidents}


def action_items(con, account_id: str, as_of: dt.date) -> list[dict]:
    """The items of the last QBR on or before the date, with their evidence-based status."""
    rows = fetch_dicts(con, *qbr_action_items_query(as_of, account_id))
    last = max((r["qbr_date"] for r in rows), default=None)
    return [r for r in rows if r["qbr_date"] == last]


def freshness(con, account_id: str, as_of: dt.date) -> list[dict]:
    """How old each source's newest record for this account is, on the pack's date."""
    sources = [("product usage", "raw.product_usage", "usage_date"), ("activities", "raw.activities", "activity_date"),
               ("support tickets", "raw.support_tickets", "CAST(opened_at AS DATE)"),
               ("invoices", "raw.invoices", "due_date"), ("surveys (NPS/CSAT)", "raw.survey_responses", "response_date"),
               ("incidents", "raw.incidents", "CAST(occurred_at AS DATE)"), ("QBRs", "raw.qbrs", "qbr_date")]
    union = " UNION ALL ".join(
        f"SELECT '{label}' AS source, max({col}) AS newest FROM {table} WHERE account_id = $1 AND {col} <= $2"
        for label, table, col in sources)
    rows = fetch_dicts(con, union, [account_id, as_of])
    return [{**r, "age_days": (as_of - r["newest"]).days if r["newest"] else None} for r in rows]


def expansion_signal(con, account_id: str) -> dict:
    if not table_exists(con, "marts.expansion_signals"):
        return {}
    return _one(con, "SELECT * FROM marts.expansion_signals WHERE account_id = ?", [account_id])


def collect_pack(con: duckdb.DuckDBPyConnection, account_id: str, as_of: dt.date | None = None) -> dict:
    """Every fact of one account's QBR pack (rendering and narrative live elsewhere)."""
    as_of = resolve_as_of(con, as_of)
    header = account_header(con, account_id, as_of)
    last_qbr = con.execute("SELECT max(qbr_date) FROM raw.qbrs WHERE account_id = ? AND qbr_date <= ?",
                           [account_id, as_of]).fetchall()[0][0]
    since = last_qbr or as_of - dt.timedelta(days=90)
    return {
        "account": header, "as_of": as_of, "last_qbr": last_qbr, "since": since,
        "health": health_section(con, account_id, as_of),
        "usage": usage_section(con, account_id, as_of),
        "revenue": revenue_section(con, account_id, as_of),
        "support": support_section(con, account_id, as_of),
        "benchmarks": benchmarks(con, account_id, as_of),
        "anomalies": anomalies_since(con, account_id, since, as_of),
        "changes": changes_since(con, account_id, since, as_of),
        "open_opportunities": fetch_dicts(con, """
            SELECT opportunity_id, stage, amount, source_signal, created_date FROM raw.expansion_opportunities
            WHERE account_id = ? AND created_date <= ? AND (close_date IS NULL OR close_date > ?)
            ORDER BY amount DESC""", [account_id, as_of, as_of]),
        "expansion_signal": expansion_signal(con, account_id),
        "last_qbr_row": _one(con, "SELECT * FROM raw.qbrs WHERE account_id = ? AND qbr_date = ?", [account_id, last_qbr]),
        "action_items": action_items(con, account_id, as_of),
        "freshness": freshness(con, account_id, as_of),
    }
