"""Publish the serving snapshot: what the workspace reads, copied out of the warehouse into its own DuckDB file.

DuckDB allows one writer and a reader cannot open the warehouse while a run writes it, so the app never
opens the warehouse. At the end of a refresh this module copies marts, scores, history windows and alert
state into a fresh file under a temporary name and swaps it in with one `os.replace` (atomic on POSIX):
a reader has either the old snapshot or the new one open, never half of one, and a publish never waits
for a reader. Everything is copied in DuckDB SQL; nothing large passes through Python.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from csm_analytics.lib.warehouse import table_exists
from csm_analytics.portfolio.adoption import csm_adoption_sql, with_csm_logins

FORMAT_VERSION = 1
HISTORY_DAYS = 90
TREND_MONTHS = 12
BAND_WEEKS = 12

# Marts copied whole: serving name -> warehouse table. Every one is a declared upstream of the serving asset.
MIRRORED = {
    "qbr_pipeline": "marts.qbr_pipeline",
    "qbr_action_items": "marts.qbr_action_items",
    "qbr_records": "marts.qbr_records",
    "account_plan_status": "marts.account_plan_status",
    "expansion_signals": "marts.expansion_signals",
    "expansion_forecast": "marts.expansion_forecast",
    "csm_scorecard": "marts.csm_scorecard",
    "coaching_insights": "marts.coaching_insights",
    "csm_portfolio": "marts.csm_portfolio",
    "account_management_kpis": "marts.account_management_kpis",
    "cs_ops_kpis": "marts.cs_ops_kpis",
    "revenue_retention": "marts.revenue_retention",
    "renewal_forecast_accuracy": "marts.renewal_forecast_accuracy",
    "expansion_forecast_accuracy": "marts.expansion_forecast_accuracy",
    "alert_quality": "marts.alert_quality",
    "alert_response_sla": "marts.alert_response_sla",
    "rebalancing_plan": "marts.rebalancing_plan",
    "risk_heatmap": "reports.risk_heatmap",
    "churn_predictions": "ml.churn_predictions",
    "csms": "raw.csms",
}

# Derived tables; `{as_of}` is the snapshot's as-of date as a bound parameter ($as_of).
DERIVED = {
    "daily_brief": "SELECT rowid + 1 AS priority, * FROM marts.csm_daily_brief",  # row order is the priority
    "accounts": """
WITH owner AS (
    SELECT account_id, csm_id FROM raw.csm_assignments
    WHERE $as_of BETWEEN valid_from AND coalesce(valid_to, DATE '9999-12-31')
    QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY valid_from DESC) = 1
),
live AS (
    SELECT account_id, sum(arr) AS arr, sum(mrr) AS mrr, sum(licensed_seats) AS licensed_seats, min(end_date) AS renewal_date
    FROM raw.contracts WHERE $as_of BETWEEN start_date AND end_date GROUP BY account_id
),
workers AS (
    SELECT account_id, arg_max(worker_count, usage_date) AS worker_count FROM raw.product_usage
    WHERE usage_date <= $as_of GROUP BY account_id
),
churn AS (
    SELECT * EXCLUDE (rn) FROM (SELECT account_id, churn_probability,
           row_number() OVER (PARTITION BY account_id ORDER BY as_of_date DESC) AS rn FROM ml.churn_predictions) WHERE rn = 1
)
SELECT h.account_id, a.account_name, a.tier, a.segment, a.industry, a.country, a.product,
       coalesce(o.csm_id, 'unassigned') AS csm_id, c.name AS csm_name, c.manager,
       round(l.arr, 2) AS arr, round(l.mrr, 2) AS mrr, l.licensed_seats, w.worker_count, l.renewal_date,
       date_diff('day', $as_of, l.renewal_date) AS days_to_renewal,
       h.health_score, h.band, h.trend_30d, ch.churn_probability,
       round(ch.churn_probability * l.arr, 2) AS revenue_at_risk
FROM core.account_health_history h
JOIN raw.accounts a USING (account_id)
LEFT JOIN owner o USING (account_id)
LEFT JOIN raw.csms c ON c.csm_id = o.csm_id
LEFT JOIN live l USING (account_id)
LEFT JOIN workers w USING (account_id)
LEFT JOIN churn ch USING (account_id)
WHERE h.as_of_date = $as_of
ORDER BY h.account_id
""",
    "health_history": f"""
SELECT * FROM core.account_health_history
WHERE as_of_date > $as_of - INTERVAL {HISTORY_DAYS} DAYS AND as_of_date <= $as_of ORDER BY account_id, as_of_date
""",
    "health_components": """
SELECT * FROM core.account_health_components WHERE as_of_date IN ($as_of, $as_of - INTERVAL 30 DAYS)
""",
    # the days in the history window on which the health config that scored the day differs from the day before's
    # (a day scored before versions were recorded has none: never a change)
    "health_config_changes": f"""
WITH days AS (
    SELECT as_of_date, min(config_version) AS config_version FROM core.account_health_history
    WHERE as_of_date > $as_of - INTERVAL {HISTORY_DAYS + 1} DAYS AND as_of_date <= $as_of GROUP BY as_of_date
),
ordered AS (SELECT *, lag(config_version) OVER (ORDER BY as_of_date) AS previous_version FROM days)
SELECT as_of_date, config_version, previous_version FROM ordered
WHERE as_of_date > $as_of - INTERVAL {HISTORY_DAYS} DAYS AND config_version <> previous_version ORDER BY as_of_date
""",
    "health_bands": "SELECT max(healthy_from)::DOUBLE AS healthy_from, max(watch_from)::DOUBLE AS watch_from FROM core.health_weights",
    "band_weeks": f"""
WITH weeks AS (SELECT ($as_of - INTERVAL (7 * k) DAYS)::DATE AS week_end FROM range({BAND_WEEKS}) t(k)),
owner AS (
    SELECT account_id, csm_id FROM raw.csm_assignments
    WHERE $as_of BETWEEN valid_from AND coalesce(valid_to, DATE '9999-12-31')
    QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY valid_from DESC) = 1
)
SELECT w.week_end, coalesce(o.csm_id, 'unassigned') AS csm_id, h.band, count(*) AS accounts
FROM weeks w JOIN core.account_health_history h ON h.as_of_date = w.week_end
LEFT JOIN owner o USING (account_id)
GROUP BY ALL ORDER BY 1, 2, 3
""",
    "account_trends": f"""
WITH months AS (SELECT (date_trunc('month', $as_of) - INTERVAL (k) MONTH)::DATE AS month FROM range({TREND_MONTHS}) t(k)),
usage AS (
    SELECT account_id, date_trunc('month', usage_date)::DATE AS month, round(avg(worker_count), 1) AS worker_count
    FROM raw.product_usage WHERE usage_date > $as_of - INTERVAL {TREND_MONTHS + 1} MONTH AND usage_date <= $as_of
    GROUP BY ALL
),
arr AS (
    SELECT m.month, c.account_id, round(sum(c.arr), 2) AS arr FROM months m
    JOIN raw.contracts c ON least(m.month + INTERVAL 1 MONTH - INTERVAL 1 DAY, $as_of) BETWEEN c.start_date AND c.end_date
    GROUP BY ALL
)
SELECT coalesce(u.account_id, a.account_id) AS account_id, coalesce(u.month, a.month) AS month, u.worker_count, a.arr
FROM usage u FULL JOIN arr a ON u.account_id = a.account_id AND u.month = a.month
WHERE coalesce(u.month, a.month) >= (SELECT min(month) FROM months)
ORDER BY 1, 2
""",
    "tickets": """
SELECT ticket_id, account_id, opened_at, resolved_at, priority, escalated, csat FROM raw.support_tickets
WHERE resolved_at IS NULL OR opened_at::DATE > $as_of - INTERVAL 90 DAYS
""",
    "interactions": """
SELECT activity_id, account_id, csm_id, activity_type, activity_date, duration_minutes, contact_role FROM raw.activities
WHERE activity_date <= $as_of
QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY activity_date DESC, activity_id DESC) <= 10
""",
    "qbrs": "SELECT * FROM raw.qbrs WHERE qbr_date <= $as_of",
    "alerts": """
SELECT e.*, o.status AS delivery_status, o.sent_at, o.acknowledged_at, o.acknowledged_by, o.escalated_at
FROM alerts.alert_events e LEFT JOIN outbox_state o USING (alert_key)
WHERE e.event_date > $as_of - INTERVAL 90 DAYS
""",
    # one definition with the Data adoption KPI (portfolio/adoption.py): real workspace logins where they exist
    "adoption": f"""
SELECT a.csm_id, c.name, c.manager, a.* EXCLUDE (csm_id)
FROM ({csm_adoption_sql("$as_of")}) a JOIN raw.csms c USING (csm_id) ORDER BY a.csm_id
""",
}

OUTBOX_COLUMNS = ("alert_key", "status", "sent_at", "acknowledged_at", "acknowledged_by", "escalated_at")


@dataclass(frozen=True)
class PublishReport:
    path: Path
    as_of: dt.date
    published_at: str
    rows: dict[str, int]
    seconds: float
    bytes: int


def _literal(path: Path) -> str:
    """A file path as a SQL string literal (ATTACH takes no bound parameters; the path is ours, not user data)."""
    return "'" + str(path).replace("'", "''") + "'"


def publish(con: duckdb.DuckDBPyConnection, target: Path, outbox_rows: list[dict], as_of: dt.date | None = None) -> PublishReport:
    """Write the snapshot of the warehouse open on `con` to `target`, atomically; `outbox_rows` = alert delivery state."""
    import pandas as pd

    started = time.perf_counter()
    as_of = as_of or con.execute("SELECT max(as_of_date) FROM core.account_health_history").fetchall()[0][0]
    if as_of is None:
        raise ValueError("core.account_health_history is empty: materialize the health scores before publishing")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    for leftover in (tmp, Path(f"{tmp}.wal")):
        leftover.unlink(missing_ok=True)
    state = pd.DataFrame([{c: r.get(c) for c in OUTBOX_COLUMNS} for r in outbox_rows], columns=list(OUTBOX_COLUMNS))
    con.register("outbox_state", state.astype("string"))
    catalog = f"serving_new_{os.getpid()}"
    con.execute(f"ATTACH {_literal(tmp)} AS {catalog}")
    rows: dict[str, int] = {}
    try:
        for name, table in MIRRORED.items():
            con.execute(f"CREATE TABLE {catalog}.{name} AS SELECT * FROM {table}")
        real_logins = table_exists(con, "raw.workspace_events")
        for name, sql in DERIVED.items():
            sql = with_csm_logins(sql, real_logins)
            con.execute(f"CREATE TABLE {catalog}.{name} AS {sql}", {"as_of": as_of} if "$as_of" in sql else {})
        for name in [*MIRRORED, *DERIVED]:
            rows[name] = con.execute(f"SELECT count(*) FROM {catalog}.{name}").fetchall()[0][0]
        published_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        con.execute(f"CREATE TABLE {catalog}.meta AS SELECT ?::DATE AS as_of_date, ?::TIMESTAMPTZ AS published_at, "
                    "?::INTEGER AS format_version", [as_of, published_at, FORMAT_VERSION])
        con.execute(f"CREATE TABLE {catalog}.table_rows (name VARCHAR, row_count BIGINT)")
        con.executemany(f"INSERT INTO {catalog}.table_rows VALUES (?, ?)", list(rows.items()))
        con.execute(f"DETACH {catalog}")
    except BaseException:
        con.execute(f"DETACH DATABASE IF EXISTS {catalog}")
        tmp.unlink(missing_ok=True)
        raise
    finally:
        con.unregister("outbox_state")
    os.replace(tmp, target)  # the swap: readers see the old file or the new one, never a partial one
    return PublishReport(target, as_of, published_at, rows, time.perf_counter() - started, target.stat().st_size)
