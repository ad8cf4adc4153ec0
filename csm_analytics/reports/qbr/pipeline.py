"""SQL for the QBR pipeline (who is due, and is the pack ready) and the QBR action items.

Pure SQL strings, no Dagster. Definitions: docs/reports.md.
"""

from __future__ import annotations

from csm_analytics.health.config import HealthConfig
from csm_analytics.canonical.ownership import OWNER_PERIODS

AS_OF = "(SELECT max(as_of_date) FROM core.account_health_score)"


def as_of_expr(as_of=None) -> str:
    """A SQL expression for the report date: a bound parameter (`?`) when a date is given, else the latest scored day."""
    return "CAST(? AS DATE)" if as_of else AS_OF


ACTION_DUE_DAYS = 30

# How each standard QBR action item shows up as done in the data we hold: the first matching
# event after the QBR. Items with no observable trace stay open until someone records them.
ACTION_EVIDENCE = {
    "draft expansion proposal": "expansion opportunity opened",
    "introduce new exec sponsor": "call or meeting with an Executive Sponsor",
    "schedule admin training": "meeting with an Admin",
    "enable SSO": "call with an Admin",
    "confirm renewal timeline": "call, meeting or email with Finance",
    "run payroll audit": "call or meeting with HR",
    "share adoption dashboard": "email to the Champion or an Admin",
    "review open tickets": "every ticket open at the QBR resolved",
}


def qbr_pipeline_sql(config: HealthConfig, packs: str | None = None) -> str:
    """One row per active account whose next QBR falls before the end of next quarter (or is overdue).

    next_qbr_due = last QBR held + the tier's cadence (first contract start + cadence if none held).
    pack_status: ready (a pack built from today's data), stale (built from older data), missing.
    `packs` names a table (account_id, as_of_date, html_path) of built packs, or None if none exists yet.
    """
    pack_join = (f"LEFT JOIN (SELECT account_id, max(as_of_date) AS pack_as_of, arg_max(html_path, as_of_date) "
                 f"AS pack_path FROM {packs} GROUP BY 1) p ON p.account_id = due.account_id") if packs else \
        "LEFT JOIN (SELECT NULL::VARCHAR AS account_id, NULL::DATE AS pack_as_of, NULL::VARCHAR AS pack_path) p ON p.account_id = due.account_id"
    return f"""
WITH d AS (
    SELECT {AS_OF} AS as_of,
           CAST(date_trunc('quarter', {AS_OF}) AS DATE) AS quarter_start,
           CAST(date_trunc('quarter', {AS_OF}) + INTERVAL 3 MONTH - INTERVAL 1 DAY AS DATE) AS quarter_end,
           CAST(date_trunc('quarter', {AS_OF}) + INTERVAL 6 MONTH - INTERVAL 1 DAY AS DATE) AS next_quarter_end
),
active AS (
    SELECT c.account_id, min(c.start_date) AS first_start
    FROM raw.contracts c, d
    GROUP BY c.account_id
    HAVING bool_or(d.as_of BETWEEN c.start_date AND c.end_date)
),
owner AS (
    SELECT o.account_id, arg_max(o.csm_id, o.valid_from) AS csm_id
    FROM {OWNER_PERIODS} o, d
    WHERE d.as_of BETWEEN o.valid_from AND coalesce(o.valid_to, DATE '9999-12-31')
    GROUP BY o.account_id
),
last_qbr AS (
    SELECT q.account_id, max(q.qbr_date) AS last_qbr_date
    FROM raw.qbrs q, d WHERE q.qbr_date <= d.as_of GROUP BY q.account_id
),
due AS (
    SELECT a.account_id, acc.account_name, acc.tier, acc.segment, o.csm_id, l.last_qbr_date, t.qbr_every_days,
           CAST(coalesce(l.last_qbr_date, a.first_start) + t.qbr_every_days AS DATE) AS next_qbr_due
    FROM active a
    JOIN raw.accounts acc USING (account_id)
    JOIN {config.targets_sql()} ON t.tier = acc.tier
    LEFT JOIN owner o USING (account_id)
    LEFT JOIN last_qbr l USING (account_id)
)
SELECT due.account_id, account_name, tier, segment, csm_id, last_qbr_date, qbr_every_days, next_qbr_due,
       CASE WHEN next_qbr_due < d.quarter_start THEN 'overdue'
            WHEN next_qbr_due <= d.quarter_end THEN 'this quarter'
            ELSE 'next quarter' END AS due_window,
       CASE WHEN p.pack_as_of IS NULL THEN 'missing'
            WHEN p.pack_as_of >= d.as_of THEN 'ready'
            ELSE 'stale' END AS pack_status,
       p.pack_as_of, p.pack_path, d.as_of AS as_of_date
FROM due, d
{pack_join}
WHERE next_qbr_due <= d.next_quarter_end
ORDER BY next_qbr_due, due.account_id
"""


def _evidence_sql() -> str:
    def first_activity(condition: str) -> str:
        return (f"(SELECT min(x.activity_date) FROM raw.activities x WHERE x.account_id = i.account_id "
                f"AND x.activity_date > i.qbr_date AND x.activity_date <= d.as_of AND {condition})")

    tickets_cleared = """CASE WHEN NOT EXISTS (
            SELECT 1 FROM raw.support_tickets s WHERE s.account_id = i.account_id
               AND CAST(s.opened_at AS DATE) <= i.qbr_date
               AND (s.resolved_at IS NULL OR CAST(s.resolved_at AS DATE) > d.as_of)
               AND (s.resolved_at IS NULL OR CAST(s.resolved_at AS DATE) > i.qbr_date))
        THEN coalesce((SELECT max(CAST(s.resolved_at AS DATE)) FROM raw.support_tickets s
                       WHERE s.account_id = i.account_id AND CAST(s.opened_at AS DATE) <= i.qbr_date
                         AND CAST(s.resolved_at AS DATE) > i.qbr_date), i.qbr_date) END"""
    return f"""CASE i.action
        WHEN 'draft expansion proposal' THEN (SELECT min(e.created_date) FROM raw.expansion_opportunities e
            WHERE e.account_id = i.account_id AND e.created_date > i.qbr_date AND e.created_date <= d.as_of)
        WHEN 'introduce new exec sponsor' THEN {first_activity("x.contact_role = 'Executive Sponsor' AND x.activity_type IN ('call', 'meeting')")}
        WHEN 'schedule admin training' THEN {first_activity("x.contact_role = 'Admin' AND x.activity_type = 'meeting'")}
        WHEN 'enable SSO' THEN {first_activity("x.contact_role = 'Admin' AND x.activity_type = 'call'")}
        WHEN 'confirm renewal timeline' THEN {first_activity("x.contact_role = 'Finance'")}
        WHEN 'run payroll audit' THEN {first_activity("x.contact_role = 'HR' AND x.activity_type IN ('call', 'meeting')")}
        WHEN 'share adoption dashboard' THEN {first_activity("x.contact_role IN ('Champion', 'Admin') AND x.activity_type = 'email'")}
        WHEN 'review open tickets' THEN {tickets_cleared}
    END"""


def qbr_action_items_sql() -> str:
    """Every account's QBR action items as of the latest scored day (no parameters): see `qbr_action_items_query`."""
    return qbr_action_items_query()[0]


def qbr_action_items_query(as_of=None, account_id: str | None = None) -> tuple[str, list]:
    """(SQL, parameters): every action item of the QBRs held in the last 365 days, with a status inferred from evidence.

    done: the evidence in ACTION_EVIDENCE appeared after the QBR (completed_on is its first date);
    overdue: no evidence and more than ACTION_DUE_DAYS days since the QBR; open: otherwise.
    The date and the account id are bound parameters, never formatted into the SQL.
    """
    params = ([as_of] if as_of else []) + ([account_id] if account_id is not None else [])
    return f"""
WITH d AS (SELECT {as_of_expr(as_of)} AS as_of),
items AS (
    SELECT q.qbr_id, q.account_id, q.csm_id, q.qbr_date, trim(a.action) AS action
    FROM raw.qbrs q, d, unnest(string_split(q.action_items, ';')) AS a(action)
    WHERE q.qbr_date > d.as_of - 365 AND q.qbr_date <= d.as_of AND trim(a.action) <> ''
      {"AND q.account_id = ?" if account_id is not None else ""}
),
evidence AS (
    SELECT DISTINCT i.qbr_id, i.account_id, i.csm_id, i.qbr_date, i.action,
           CAST(i.qbr_date + {ACTION_DUE_DAYS} AS DATE) AS due_date, {_evidence_sql()} AS completed_on, d.as_of
    FROM items i, d
)
SELECT qbr_id, account_id, csm_id, qbr_date, action, due_date, completed_on,
       CASE WHEN completed_on IS NOT NULL THEN 'done'
            WHEN as_of > due_date THEN 'overdue' ELSE 'open' END AS status,
       as_of AS as_of_date
FROM evidence
ORDER BY account_id, qbr_date, action
""", params
