"""The CSM daily brief: which of my accounts need attention today, and why, in priority order.

One row per flagged account, at most `max_accounts_per_csm` per CSM, and besides `csm_id` exactly
seven columns. The table has no rank column: rows are written in priority order (CSM, then
priority, then ARR) and read back in that order with `ORDER BY rowid`. Definitions: docs/reports.md.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from csm_analytics.health.config import HealthConfig
from csm_analytics.reports.briefs.config import BriefsConfig
from csm_analytics.canonical.ownership import OWNER_PERIODS

COLUMNS = ["csm_id", "account", "health_band", "arr", "renewal_date", "last_activity_date", "open_actions", "reason"]
READ_SQL = "SELECT * FROM marts.csm_daily_brief ORDER BY rowid"

# Priorities, highest first. The reason shown is the one of the highest priority that applies.
PRIORITIES = ["red_renewal", "health_drop", "critical_alert", "qbr_overdue", "plan_stale", "actions_overdue"]


def load_open_alerts(con: duckdb.DuckDBPyConnection, alerts: list[dict]) -> None:
    """Open critical alerts (from the outbox, which lives outside the warehouse) as temp table open_critical_alerts."""
    con.execute("CREATE OR REPLACE TEMP TABLE open_critical_alerts (account_id VARCHAR, event_date DATE, headline VARCHAR)")
    if alerts:
        con.executemany("INSERT INTO open_critical_alerts VALUES (?, ?, ?)",
                        [(a["account_id"], str(a["event_date"])[:10], a["headline"]) for a in alerts])


def open_critical_alerts(outbox_rows) -> list[dict]:
    """Critical alerts still open: pending or sent, not acknowledged (dismissed and merged ones are suppressed)."""
    import json

    return [{"account_id": r["account_id"], "event_date": r["event_date"], "headline": json.loads(r["payload"])["headline"]}
            for r in outbox_rows
            if r["severity"] == "critical" and r["status"] in ("pending", "sent") and r["acknowledged_at"] is None]


def daily_brief_sql(config: BriefsConfig, health: HealthConfig) -> str:
    """SELECT of the brief; needs core.account_health_score, marts.account_plan_status, marts.qbr_action_items,
    the raw tables and the temp table open_critical_alerts (see load_open_alerts)."""
    return f"""
WITH latest AS (SELECT max(as_of_date) AS d FROM core.account_health_score),
cadence AS (SELECT tier, qbr_every_days FROM {health.targets_sql()}),
owner AS (
    SELECT o.account_id, o.csm_id FROM {OWNER_PERIODS} o, latest
    WHERE latest.d BETWEEN o.valid_from AND coalesce(o.valid_to, DATE '9999-12-31')
    QUALIFY row_number() OVER (PARTITION BY o.account_id ORDER BY o.valid_from DESC) = 1
),
contract AS (
    SELECT c.account_id, c.end_date AS renewal_date, c.arr FROM raw.contracts c, latest
    WHERE latest.d BETWEEN c.start_date AND c.end_date
    QUALIFY row_number() OVER (PARTITION BY c.account_id ORDER BY c.start_date DESC) = 1
),
touch AS (
    SELECT x.account_id, max(x.activity_date) AS last_activity_date FROM raw.activities x, latest
    WHERE x.activity_type <> 'internal_review' AND x.activity_date <= latest.d GROUP BY x.account_id
),
last_qbr AS (
    SELECT q.account_id, max(q.qbr_date) AS qbr_date FROM raw.qbrs q, latest WHERE q.qbr_date <= latest.d GROUP BY q.account_id
),
actions AS (  -- the evidence-based status of every QBR action item of the last year, as of the same latest day
    SELECT account_id, count(*) FILTER (WHERE status <> 'done') AS open_actions,
           count(*) FILTER (WHERE status = 'overdue') AS overdue_actions,
           min(qbr_date) FILTER (WHERE status = 'overdue') AS oldest_overdue_qbr
    FROM marts.qbr_action_items GROUP BY account_id
),
alerts AS (
    SELECT account_id, count(*) AS n, arg_max(headline, event_date) AS headline FROM open_critical_alerts GROUP BY account_id
),
base AS (
    SELECT s.account_id, a.account_name, o.csm_id, s.band, s.delta_30d, s.moved_30d, k.arr, k.renewal_date,
           k.renewal_date - latest.d AS days_to_renewal, t.last_activity_date,
           coalesce(ac.open_actions, 0) AS open_actions, coalesce(ac.overdue_actions, 0) AS overdue_actions,
           ac.oldest_overdue_qbr, q.qbr_date AS last_qbr_date, cad.qbr_every_days,
           latest.d - a.created_date AS tenure_days, latest.d - q.qbr_date AS days_since_qbr,
           al.n AS open_alerts, al.headline AS latest_alert,
           p.plan_required, p.plan_status, p.days_since_update, latest.d AS as_of_date
    FROM core.account_health_score s CROSS JOIN latest
    JOIN raw.accounts a USING (account_id) JOIN cadence cad ON cad.tier = a.tier
    JOIN contract k USING (account_id)
    LEFT JOIN owner o USING (account_id)
    LEFT JOIN touch t USING (account_id)
    LEFT JOIN last_qbr q USING (account_id)
    LEFT JOIN actions ac USING (account_id)
    LEFT JOIN alerts al USING (account_id)
    LEFT JOIN marts.account_plan_status p USING (account_id)
),
flags AS (
    SELECT *, CASE
        WHEN band = 'At risk' AND days_to_renewal BETWEEN 0 AND {config.renewal_within_days} THEN 1
        WHEN delta_30d <= -{config.health_drop_points_30d} THEN 2
        WHEN open_alerts > 0 THEN 3
        WHEN (last_qbr_date IS NULL AND tenure_days > qbr_every_days) OR days_since_qbr > qbr_every_days THEN 4
        WHEN plan_required AND plan_status IN ('stale', 'missing') THEN 5
        WHEN overdue_actions > 0 THEN 6
    END AS priority
    FROM base
),
drivers AS (  -- the components that cost the most points over 30 days, e.g. ['support', 'engagement']
    SELECT account_id, list_transform(list_filter(string_split(moved_30d, ', '), lambda m: m LIKE '% -%')[1:2],
                                      lambda m: split_part(m, ' ', 1)) AS names
    FROM flags WHERE priority = 2
),
reasons AS (
    SELECT f.*, CASE priority
        WHEN 1 THEN 'At risk, renews in ' || days_to_renewal || CASE WHEN days_to_renewal = 1 THEN ' day' ELSE ' days' END
        WHEN 2 THEN 'Health fell ' || printf('%.0f', -delta_30d) || ' points in 30 days'
                    || coalesce(CASE len(d.names) WHEN 0 THEN NULL WHEN 1 THEN ', driven by ' || d.names[1]
                                ELSE ', driven by ' || d.names[1] || ' and ' || d.names[2] END, '')
        WHEN 3 THEN CASE WHEN open_alerts = 1 THEN 'Open critical alert: ' || latest_alert
                    ELSE open_alerts || ' open critical alerts, latest: ' || latest_alert END
        WHEN 4 THEN CASE WHEN last_qbr_date IS NULL THEN 'No QBR held yet, due every ' || qbr_every_days || ' days'
                    ELSE 'QBR overdue: last held ' || last_qbr_date || ', due every ' || qbr_every_days || ' days' END
        WHEN 5 THEN CASE WHEN plan_status = 'missing' THEN 'No account plan on file'
                    ELSE 'Account plan not updated for ' || days_since_update || ' days' END
        WHEN 6 THEN overdue_actions || CASE WHEN overdue_actions = 1 THEN ' QBR action item' ELSE ' QBR action items' END
                    || ' overdue, the oldest from the QBR on ' || oldest_overdue_qbr
    END AS reason
    FROM flags f LEFT JOIN drivers d USING (account_id)
    WHERE priority IS NOT NULL
)
SELECT coalesce(csm_id, 'unassigned') AS csm_id,
       CASE WHEN ends_with(account_name, ' ' || account_id) THEN account_name ELSE account_name || ' (' || account_id || ')' END
         AS account,
       band AS health_band, round(arr, 0) AS arr, renewal_date, last_activity_date,
       CAST(open_actions AS INTEGER) AS open_actions, reason
FROM reasons
QUALIFY row_number() OVER (PARTITION BY csm_id ORDER BY priority, arr DESC, account_id) <= {config.max_accounts_per_csm}
ORDER BY csm_id, priority, arr DESC, account_id
"""


def write_daily_brief(con: duckdb.DuckDBPyConnection, config: BriefsConfig, health: HealthConfig,
                      alerts: list[dict]) -> int:
    """Replace marts.csm_daily_brief, keeping the priority order as the table's row order."""
    load_open_alerts(con, alerts)
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    previous = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = true")  # the row order is the priority order
    try:
        con.execute(f"CREATE OR REPLACE TABLE marts.csm_daily_brief AS {daily_brief_sql(config, health)}")
    finally:
        con.execute(f"SET preserve_insertion_order = {str(previous).lower()}")
    return con.execute("SELECT count(*) FROM marts.csm_daily_brief").fetchall()[0][0]


def _money(value) -> str:
    from csm_analytics.lib.display import money

    return money(value)


def brief_message(csm_name: str, day: dt.date, rows: list[dict], as_of: dt.date | None = None,
                  stale_note: str = "") -> tuple[str, list]:
    """(fallback text, Block Kit blocks) for one CSM's daily DM; `stale_note` leads it when the data is stale."""
    from csm_analytics.lib.display import count

    text = (f"{stale_note} " if stale_note else "") + \
        f"Good morning {csm_name.split()[0]}: {len(rows)} of your accounts need attention today ({day:%a %d %b})"
    lines = [f"{i}. *{r['account']}* · {r['health_band']} · {_money(r['arr'])} · renews {r['renewal_date']}\n"
             f"      {r['reason']} · last touch {r['last_activity_date'] or 'never'} · {count(r['open_actions'], 'open action')}"
             for i, r in enumerate(rows, 1)]
    return text, [{"type": "header", "text": {"type": "plain_text", "text": text[:150]}},
                  {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}},
                  {"type": "context", "elements": [{"type": "mrkdwn", "text":
                      (f"Data as of {str(as_of)[:10]}. " if as_of else "")
                      + "Highest priority first: red renewals, health drops, critical alerts, missed QBRs, stale plans, "
                        "overdue actions. Internal: do not forward to clients."}]}]


def send_daily_briefs(rows: list[dict], csms: dict[str, dict], transport, day: dt.date,
                      as_of: dt.date | None = None, stale_note: str = "") -> dict[str, str]:
    """One DM per CSM with their rows (already in priority order); at most once per CSM per day.

    Returns {csm_id: 'sent' | 'already sent'}. `csms` maps csm_id to {'name', 'slack_user_id'}.
    A CSM with nothing on the list gets no message.
    """
    by_csm: dict[str, list[dict]] = {}
    for row in rows:
        by_csm.setdefault(row["csm_id"], []).append(row)
    outcome = {}
    for csm_id, items in by_csm.items():
        csm = csms.get(csm_id)
        if csm is None:  # unassigned accounts have nobody to DM
            continue
        key = f"daily_brief:{csm_id}:{day}"
        channel = transport.open_dm(csm["slack_user_id"])
        if transport.find(channel, key):
            outcome[csm_id] = "already sent"
            continue
        text, blocks = brief_message(csm["name"], day, items, as_of, stale_note)
        transport.post(channel, text, blocks, key)
        outcome[csm_id] = "sent"
    return outcome
