"""SQL for the nine health components of every active account on every day of a date range.

One pass over the range: a spine of (account, as_of_date) for the days each
account has a contract in force, range-joined to each raw table over the
look-back window the component needs. Data up to and including as_of_date
counts. Formulas are documented in docs/health.md; keep the two in step.
"""

from __future__ import annotations

import datetime as dt

from csm_analytics.health.config import HealthConfig


def clamp(expr: str, lo: float = 0, hi: float = 100) -> str:
    """Limit to [lo, hi], keeping NULL as NULL (DuckDB's greatest/least skip NULL arguments)."""
    return f"(CASE WHEN ({expr}) IS NULL THEN NULL ELSE greatest({lo}, least({hi}, {expr})) END)"


# Cold start: nothing is recorded before the first day of the data (the first product_usage row). A component
# that scores the absence of a record as bad (no touches, no contact roles, no QBR) is NULL, and so re-weighted
# like any missing component, until its look-back window lies inside the data: unknown, not bad.
LOOKBACK_DAYS = {"engagement": 90, "relationship": 90}  # the QBR component waits for its tier's qbr_every_days
NPS_SCORE = clamp("100 * (latest_nps - 3) / 7")  # NPS 3 or less -> 0, 10 -> 100
CSAT_SCORE = clamp("100 * (csat_180d - 2) / 3")  # CSAT 2 or less -> 0, 5 -> 100


def components_sql(start: dt.date, end: dt.date, config: HealthConfig, every_days: int = 1,
                   accounts: str | None = None) -> str:
    """SELECT producing one row per active account per day in [start, end].

    `every_days` keeps every n-th day from `start` and `accounts` (a SELECT of account_id) keeps only those
    accounts: both prune the spine before the range joins, so a sparse or sampled set of rows (the churn
    training snapshots) costs only its own rows. Each row is the same as in the dense result.
    """
    only = f"WHERE c.account_id IN ({accounts})" if accounts else ""
    return f"""
WITH days AS (
    SELECT CAST(range AS DATE) AS as_of_date
    FROM range(DATE '{start}', DATE '{end}' + INTERVAL 1 DAY, INTERVAL {every_days} DAY)
),
targets AS (SELECT * FROM {config.targets_sql()}),
data_start AS (SELECT min(usage_date) AS first_day FROM raw.product_usage),
spine AS (
    SELECT c.account_id, d.as_of_date, a.tier, a.created_date, c.end_date AS contract_end_date,
           t.touches_per_month, t.qbr_every_days
    FROM raw.contracts c
    JOIN days d ON d.as_of_date BETWEEN c.start_date AND c.end_date
    JOIN raw.accounts a USING (account_id)
    JOIN targets t USING (tier)
    {only}
    QUALIFY row_number() OVER (PARTITION BY c.account_id, d.as_of_date ORDER BY c.start_date DESC) = 1
),
usage_rows AS (
    SELECT *, CAST(CASE grain WHEN 'day' THEN 1 WHEN 'week' THEN 7 ELSE day(last_day(usage_date)) END AS INTEGER) AS period_days
    FROM raw.product_usage
),
usage AS (
    SELECT s.account_id, s.as_of_date,
           avg(u.active_users) FILTER (u.usage_date > s.as_of_date - 30) AS active_users_30d,
           avg(u.licensed_seats) FILTER (u.usage_date > s.as_of_date - 30) AS seats_30d,
           sum(u.key_feature_events) FILTER (u.usage_date > s.as_of_date - 30)
             / nullif(sum(u.active_users * u.period_days) FILTER (u.usage_date > s.as_of_date - 30), 0)
             AS key_events_per_user_day,
           avg(u.active_users) FILTER (u.usage_date <= s.as_of_date - 60) AS active_users_prior
    FROM spine s
    JOIN usage_rows u ON u.account_id = s.account_id
     AND u.usage_date > s.as_of_date - 90 AND u.usage_date + (u.period_days - 1) <= s.as_of_date
    GROUP BY ALL
),
touches AS (
    SELECT s.account_id, s.as_of_date,
           count(*) FILTER (a.activity_date > s.as_of_date - 30) AS touches_30d,
           count(*) AS touches_90d
    FROM spine s
    JOIN raw.activities a ON a.account_id = s.account_id
     AND a.activity_date > s.as_of_date - 90 AND a.activity_date <= s.as_of_date
     AND a.activity_type <> 'internal_review'
    GROUP BY ALL
),
roles AS (
    SELECT account_id, as_of_date, count(DISTINCT role) AS roles_90d FROM (
        SELECT s.account_id, s.as_of_date, a.contact_role AS role
        FROM spine s JOIN raw.activities a ON a.account_id = s.account_id
         AND a.activity_date > s.as_of_date - 90 AND a.activity_date <= s.as_of_date
        WHERE a.contact_role IS NOT NULL
        UNION ALL
        SELECT s.account_id, s.as_of_date, unnest(string_split(q.attendee_roles, ';')) AS role
        FROM spine s JOIN raw.qbrs q ON q.account_id = s.account_id
         AND q.qbr_date > s.as_of_date - 90 AND q.qbr_date <= s.as_of_date
    ) GROUP BY ALL
),
last_qbr AS (
    SELECT s.account_id, s.as_of_date, max(q.qbr_date) AS last_qbr_date
    FROM spine s JOIN raw.qbrs q ON q.account_id = s.account_id
     AND q.qbr_date <= s.as_of_date AND q.qbr_date > s.as_of_date - 730
    GROUP BY ALL
),
support AS (
    SELECT s.account_id, s.as_of_date,
           count(*) FILTER (t.escalated AND t.opened_at::DATE > s.as_of_date - 90) AS escalations_90d,
           count(*) FILTER (t.resolved_at IS NULL OR t.resolved_at::DATE > s.as_of_date) AS open_tickets,
           median(epoch(t.resolved_at - t.opened_at) / 3600.0)
             FILTER (t.resolved_at::DATE <= s.as_of_date AND t.opened_at::DATE > s.as_of_date - 90)
             AS median_resolution_hours_90d
    FROM spine s JOIN raw.support_tickets t ON t.account_id = s.account_id
     AND t.opened_at::DATE <= s.as_of_date AND t.opened_at::DATE > s.as_of_date - 180
    GROUP BY ALL
),
payment AS (
    SELECT s.account_id, s.as_of_date,
           count(*) FILTER (i.failed_payment) AS failed_payments_180d,
           count(*) FILTER (i.paid_date <= s.as_of_date AND i.days_late > 0) AS late_payments_180d,
           count(*) FILTER ((i.paid_date IS NULL OR i.paid_date > s.as_of_date) AND i.due_date < s.as_of_date)
             AS overdue_invoices
    FROM spine s JOIN raw.invoices i ON i.account_id = s.account_id
     AND i.due_date <= s.as_of_date AND i.due_date > s.as_of_date - 180
    GROUP BY ALL
),
nps AS (
    SELECT s.account_id, s.as_of_date, first(r.score ORDER BY r.response_date DESC, r.response_id DESC) AS latest_nps
    FROM spine s JOIN raw.survey_responses r ON r.account_id = s.account_id AND r.survey_type = 'NPS'
     AND r.response_date <= s.as_of_date AND r.response_date > s.as_of_date - 365
    GROUP BY ALL
),
csat AS (
    SELECT account_id, as_of_date, avg(score) AS csat_180d FROM (
        SELECT s.account_id, s.as_of_date, r.score
        FROM spine s JOIN raw.survey_responses r ON r.account_id = s.account_id AND r.survey_type = 'CSAT'
         AND r.response_date <= s.as_of_date AND r.response_date > s.as_of_date - 180
        UNION ALL
        SELECT s.account_id, s.as_of_date, t.csat
        FROM spine s JOIN raw.support_tickets t ON t.account_id = s.account_id AND t.csat IS NOT NULL
         AND t.resolved_at::DATE <= s.as_of_date AND t.resolved_at::DATE > s.as_of_date - 180
    ) GROUP BY ALL
),
prior_outcome AS (
    SELECT s.account_id, s.as_of_date, first(c.renewal_outcome ORDER BY c.end_date DESC) AS last_renewal_outcome
    FROM spine s JOIN raw.contracts c ON c.account_id = s.account_id AND c.end_date < s.as_of_date
    GROUP BY ALL
),
incidents AS (
    SELECT s.account_id, s.as_of_date,
           count(*) FILTER (i.incident_type = 'payroll_error' OR i.severity = 'critical') AS critical_incidents_180d,
           count(*) FILTER (NOT (i.incident_type = 'payroll_error' OR i.severity = 'critical')) AS other_incidents_180d
    FROM spine s JOIN raw.incidents i ON i.account_id = s.account_id
     AND i.occurred_at::DATE <= s.as_of_date AND i.occurred_at::DATE > s.as_of_date - 180
    GROUP BY ALL
),
metrics AS (
    SELECT s.*,
           u.active_users_30d / nullif(u.seats_30d, 0) AS seat_utilization,
           u.key_events_per_user_day,
           u.active_users_30d / nullif(u.active_users_prior, 0) AS usage_trend,
           coalesce(tc.touches_30d, 0) AS touches_30d, coalesce(tc.touches_90d, 0) AS touches_90d,
           coalesce(r.roles_90d, 0) AS roles_90d,
           q.last_qbr_date, s.as_of_date - q.last_qbr_date AS days_since_qbr,
           coalesce(sp.escalations_90d, 0) AS escalations_90d, coalesce(sp.open_tickets, 0) AS open_tickets,
           sp.median_resolution_hours_90d,
           p.failed_payments_180d, p.late_payments_180d, p.overdue_invoices,
           n.latest_nps, cs.csat_180d,
           s.as_of_date - s.created_date AS tenure_days, s.contract_end_date - s.as_of_date AS days_to_renewal,
           po.last_renewal_outcome,
           coalesce(inc.critical_incidents_180d, 0) AS critical_incidents_180d,
           coalesce(inc.other_incidents_180d, 0) AS other_incidents_180d,
           s.as_of_date - ds.first_day + 1 AS history_days
    FROM spine s
    CROSS JOIN data_start ds
    LEFT JOIN usage u USING (account_id, as_of_date)
    LEFT JOIN touches tc USING (account_id, as_of_date)
    LEFT JOIN roles r USING (account_id, as_of_date)
    LEFT JOIN last_qbr q USING (account_id, as_of_date)
    LEFT JOIN support sp USING (account_id, as_of_date)
    LEFT JOIN payment p USING (account_id, as_of_date)
    LEFT JOIN nps n USING (account_id, as_of_date)
    LEFT JOIN csat cs USING (account_id, as_of_date)
    LEFT JOIN prior_outcome po USING (account_id, as_of_date)
    LEFT JOIN incidents inc USING (account_id, as_of_date)
)
SELECT account_id, as_of_date, tier,
    CASE WHEN seat_utilization IS NULL THEN NULL ELSE round(100 * (
        0.60 * {clamp('(seat_utilization - 0.3) / 0.6', 0, 1)}
      + 0.20 * least(coalesce(key_events_per_user_day, 0) / 0.7, 1)
      + 0.20 * coalesce({clamp('(usage_trend - 0.7) / 0.4', 0, 1)}, 0.5)), 2) END AS usage,
    CASE WHEN history_days < {LOOKBACK_DAYS['engagement']} THEN NULL
         ELSE round(100 * (0.4 * least(touches_30d / touches_per_month, 1)
                         + 0.6 * least(touches_90d / (3 * touches_per_month), 1)), 2) END AS engagement,
    CASE WHEN last_qbr_date IS NULL THEN (CASE WHEN tenure_days < qbr_every_days OR history_days < qbr_every_days
                                               THEN NULL ELSE 0 END)
         ELSE round(100 * {clamp('(2 * qbr_every_days - days_since_qbr) / qbr_every_days', 0, 1)}, 2) END AS qbr,
    round({clamp('100 - 15 * escalations_90d - 5 * open_tickets - 10 * ' + clamp('log2(coalesce(median_resolution_hours_90d, 8) / 8)', 0, 3))}, 2) AS support,
    CASE WHEN failed_payments_180d IS NULL THEN NULL
         ELSE {clamp('100 - 30 * failed_payments_180d - 8 * late_payments_180d - 25 * overdue_invoices')} END AS payment,
    CASE WHEN latest_nps IS NOT NULL AND csat_180d IS NOT NULL THEN round(0.6 * {NPS_SCORE} + 0.4 * {CSAT_SCORE}, 2)
         WHEN latest_nps IS NOT NULL THEN round({NPS_SCORE}, 2)
         WHEN csat_180d IS NOT NULL THEN round({CSAT_SCORE}, 2) END AS sentiment,
    CASE WHEN history_days < {LOOKBACK_DAYS['relationship']} THEN NULL
         ELSE round(100 * least(roles_90d / 5, 1), 2) END AS relationship,
    round({clamp("40 + 60 * least(tenure_days, 365) / 365 - 30 * (coalesce(last_renewal_outcome, '') = 'downgraded')::INT - 10 * (days_to_renewal <= 90)::INT")}, 2) AS renewal,
    {clamp('100 - 40 * critical_incidents_180d - 10 * other_incidents_180d')} AS incidents,
    round(seat_utilization, 4) AS seat_utilization, round(key_events_per_user_day, 4) AS key_events_per_user_day,
    round(usage_trend, 4) AS usage_trend, touches_30d, touches_90d, roles_90d, days_since_qbr,
    escalations_90d, open_tickets, round(median_resolution_hours_90d, 2) AS median_resolution_hours_90d,
    failed_payments_180d, late_payments_180d, overdue_invoices, latest_nps, round(csat_180d, 2) AS csat_180d,
    tenure_days, days_to_renewal, last_renewal_outcome, critical_incidents_180d, other_incidents_180d
FROM metrics
"""
