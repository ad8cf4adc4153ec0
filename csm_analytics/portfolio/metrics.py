"""SQL for retention, account-plan currency and QBR compliance. Definitions: docs/metrics.md.

Every metric is trailing 12 months at a quarter end (or as of the last day of data), so each
number can be recomputed by hand from raw.contracts, raw.account_plans and raw.qbrs.
"""

from __future__ import annotations

from csm_analytics.canonical.calendar import FIRST_DATA_DAY, LAST_DATA_DAY
from csm_analytics.canonical.ownership import OWNER_PERIODS
from csm_analytics.health.config import HealthConfig

BOUNDS = f"""bounds AS (SELECT {FIRST_DATA_DAY} AS first_day, {LAST_DATA_DAY} AS last_day)"""


def retention_cohorts_sql() -> str:
    """One row per quarter end Q x account in force on t0 = Q - 364: ARR on t0 and on Q (0 if lost),
    with the account's CSM on t0, segment and tier. The base of every TTM retention metric."""
    return f"""
WITH {BOUNDS},
quarters AS (
    SELECT DISTINCT last_day(CAST(m AS DATE)) AS quarter_end
    FROM bounds, range(CAST(date_trunc('month', first_day + INTERVAL 364 DAY) AS DATE), last_day + INTERVAL 1 DAY,
                       INTERVAL 1 MONTH) t(m)
    WHERE month(m) IN (3, 6, 9, 12) AND last_day(CAST(m AS DATE)) <= last_day
),
arr AS (
    SELECT q.quarter_end, c.account_id,
           sum(c.arr) FILTER (CAST(q.quarter_end - INTERVAL 364 DAY AS DATE) BETWEEN c.start_date AND c.end_date) AS start_arr,
           coalesce(sum(c.arr) FILTER (q.quarter_end BETWEEN c.start_date AND c.end_date), 0) AS end_arr,
           -- ARR cut at a downgrade renewal whose next contract starts inside (t0, Q]: counted before any
           -- expansion folded into the same renewal, so the two never net out
           coalesce(sum(c.downgrade_amount) FILTER (c.renewal_outcome = 'downgraded'
               AND c.end_date BETWEEN CAST(q.quarter_end - INTERVAL 364 DAY AS DATE) AND q.quarter_end - 1), 0)
               AS downgraded_arr
    FROM quarters q JOIN raw.contracts c
      ON c.start_date <= q.quarter_end AND c.end_date >= CAST(q.quarter_end - INTERVAL 364 DAY AS DATE)
    GROUP BY ALL
),
red AS (  -- the days an account entered the At-risk band
    SELECT account_id, transition_date AS red_day FROM core.health_band_transitions WHERE to_band = 'At risk'
)
SELECT a.quarter_end, CAST(a.quarter_end - INTERVAL 364 DAY AS DATE) AS cohort_date, a.account_id,
       coalesce(o.csm_id, 'unassigned') AS csm_id, acc.segment, acc.tier, a.start_arr, a.end_arr,
       -- contraction of a retained account: the downgrades at its renewals, or the net fall in ARR if larger
       -- (a contract that lapsed without a recorded downgrade), never more than its start ARR
       CASE WHEN a.end_arr > 0 THEN least(a.start_arr, greatest(a.start_arr - a.end_arr, a.downgraded_arr))
            ELSE 0 END AS contraction_arr,
       -- saved = went At risk, got a touchpoint within 14 days, then renewed (renewed or downgraded) after that day
       CASE WHEN a.end_arr > 0 AND EXISTS (
           SELECT 1 FROM red r JOIN raw.activities x ON x.account_id = r.account_id
            AND x.activity_type <> 'internal_review' AND x.activity_date BETWEEN r.red_day AND r.red_day + 14
           JOIN raw.contracts k ON k.account_id = r.account_id AND k.renewal_outcome IN ('renewed', 'downgraded')
            AND k.end_date BETWEEN r.red_day AND a.quarter_end - 1
           WHERE r.account_id = a.account_id AND r.red_day BETWEEN a.quarter_end - 364 AND a.quarter_end)
            THEN a.start_arr ELSE 0 END AS churn_prevented_arr,
       coalesce((SELECT sum(e.amount) FROM raw.expansion_opportunities e WHERE e.account_id = a.account_id
                 AND e.status = 'won' AND e.close_date BETWEEN a.quarter_end - 364 AND a.quarter_end
                 AND e.attributed_csm_id IS NOT NULL AND e.evidence_link IS NOT NULL), 0) AS expansion_attributed_arr,
       coalesce((SELECT sum(e.amount) FROM raw.expansion_opportunities e WHERE e.account_id = a.account_id
                 AND e.status = 'won' AND e.close_date BETWEEN a.quarter_end - 364 AND a.quarter_end
                 AND (e.attributed_csm_id IS NULL OR e.evidence_link IS NULL)), 0) AS expansion_organic_arr
FROM arr a JOIN raw.accounts acc USING (account_id)
LEFT JOIN {OWNER_PERIODS} o ON o.account_id = a.account_id
 AND CAST(a.quarter_end - INTERVAL 364 DAY AS DATE) BETWEEN o.valid_from AND coalesce(o.valid_to, DATE '9999-12-31')
WHERE a.start_arr IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY a.quarter_end, a.account_id ORDER BY o.valid_from DESC) = 1
ORDER BY a.quarter_end, a.account_id
"""


def revenue_retention_sql(cohorts: str = "marts.retention_cohorts") -> str:
    """GRR, NRR, logo retention, net-ARR-down rate, churned / contraction / expansion ARR per quarter end,
    for the whole book and by CSM (owner at the start of the 12 months), segment and tier."""
    return f"""
WITH grouped AS (
    SELECT quarter_end,
           CASE WHEN GROUPING(csm_id) = 0 THEN 'csm' WHEN GROUPING(segment) = 0 THEN 'segment'
                WHEN GROUPING(tier) = 0 THEN 'tier' ELSE 'all' END AS dimension,
           coalesce(CASE WHEN GROUPING(csm_id) = 0 THEN csm_id END, CASE WHEN GROUPING(segment) = 0 THEN segment END,
                    CASE WHEN GROUPING(tier) = 0 THEN tier END, 'all') AS dimension_value,
           count(*) AS accounts_at_start,
           count(*) FILTER (end_arr > 0) AS accounts_retained,
           count(*) FILTER (end_arr > 0 AND end_arr < start_arr) AS accounts_net_arr_down,
           round(sum(start_arr), 2) AS start_arr,
           round(sum(end_arr), 2) AS end_arr,
           round(sum(start_arr) FILTER (end_arr = 0), 2) AS churned_arr,
           round(sum(contraction_arr) FILTER (end_arr > 0), 2) AS contraction_arr,
           -- whatever else moved the retained ARR up: start - contraction + expansion = end
           round(sum(greatest(end_arr - start_arr + contraction_arr, 0)) FILTER (end_arr > 0), 2) AS expansion_arr,
           round(sum(churn_prevented_arr), 2) AS churn_prevented_arr,
           round(sum(expansion_attributed_arr), 2) AS expansion_attributed_arr,
           round(sum(expansion_organic_arr), 2) AS expansion_organic_arr
    FROM {cohorts}
    GROUP BY GROUPING SETS ((quarter_end), (quarter_end, csm_id), (quarter_end, segment), (quarter_end, tier))
)
SELECT quarter_end, dimension, dimension_value, accounts_at_start, accounts_retained, accounts_net_arr_down,
       start_arr, end_arr, coalesce(churned_arr, 0) AS churned_arr, coalesce(contraction_arr, 0) AS contraction_arr,
       coalesce(expansion_arr, 0) AS expansion_arr, churn_prevented_arr, expansion_attributed_arr, expansion_organic_arr,
       round((start_arr - coalesce(churned_arr, 0) - coalesce(contraction_arr, 0)) / start_arr, 4) AS grr,
       round(end_arr / start_arr, 4) AS nrr,
       round(accounts_retained / accounts_at_start, 4) AS logo_retention,
       round(accounts_net_arr_down / accounts_at_start, 4) AS net_arr_down_rate
FROM grouped
ORDER BY quarter_end, dimension, dimension_value
"""


def account_plan_status_sql() -> str:
    """Every active Enterprise or Strategic account needs a plan updated within 90 days of the last day."""
    return f"""
WITH {BOUNDS},
active AS (
    SELECT DISTINCT c.account_id, a.tier FROM raw.contracts c JOIN raw.accounts a USING (account_id), bounds b
    WHERE b.last_day BETWEEN c.start_date AND c.end_date
),
latest AS (SELECT account_id, max(last_updated) AS last_updated FROM raw.account_plans, bounds
           WHERE last_updated <= last_day GROUP BY account_id)
SELECT a.account_id, a.tier, a.tier IN ('Enterprise', 'Strategic') AS plan_required, l.last_updated,
       b.last_day - l.last_updated AS days_since_update,
       CASE WHEN l.last_updated IS NULL THEN 'missing'
            WHEN b.last_day - l.last_updated <= 90 THEN 'current' ELSE 'stale' END AS plan_status,
       b.last_day AS as_of_date
FROM active a CROSS JOIN bounds b LEFT JOIN latest l USING (account_id)
ORDER BY plan_required DESC, plan_status DESC, a.account_id
"""


def qbr_records_sql(config: HealthConfig) -> str:
    """QBRs held against the tier's cadence over the trailing 365 days, per account (with its CSM on the last day).

    The window is the 365 days to the last day, or less when the account's first contract started later;
    required = floor(days in the window / cadence days); completion = min(held, required) / required.
    """
    return f"""
WITH {BOUNDS},
cadence AS (SELECT tier, qbr_every_days FROM {config.targets_sql()}),
active AS (
    SELECT c.account_id, greatest(min(c.start_date), CAST(any_value(b.last_day) - INTERVAL 364 DAY AS DATE)) AS window_start,
           any_value(b.last_day) AS last_day
    FROM raw.contracts c, bounds b
    WHERE c.account_id IN (SELECT account_id FROM raw.contracts, bounds WHERE last_day BETWEEN start_date AND end_date)
    GROUP BY c.account_id
),
held AS (
    SELECT a.account_id, count(q.qbr_id) AS qbrs_held,
           round(avg(len(string_split(q.attendee_roles, ';'))), 2) AS avg_attendee_roles,
           round(avg((q.attendee_roles LIKE '%Executive Sponsor%')::INT), 4) AS share_with_exec_sponsor
    FROM active a LEFT JOIN raw.qbrs q ON q.account_id = a.account_id AND q.qbr_date BETWEEN a.window_start AND a.last_day
    GROUP BY a.account_id
)
SELECT a.account_id, acc.tier, o.csm_id, a.window_start, a.last_day AS as_of_date, k.qbr_every_days,
       CAST(floor((a.last_day - a.window_start + 1) / k.qbr_every_days) AS INTEGER) AS qbrs_required,
       h.qbrs_held,
       greatest(CAST(floor((a.last_day - a.window_start + 1) / k.qbr_every_days) AS INTEGER) - h.qbrs_held, 0) AS qbrs_missed,
       h.avg_attendee_roles, h.share_with_exec_sponsor
FROM active a JOIN held h USING (account_id) JOIN raw.accounts acc USING (account_id) JOIN cadence k USING (tier)
LEFT JOIN {OWNER_PERIODS} o ON o.account_id = a.account_id
 AND a.last_day BETWEEN o.valid_from AND coalesce(o.valid_to, DATE '9999-12-31')
ORDER BY qbrs_missed DESC, a.account_id
"""


QBR_COMPLIANCE_BY_CSM = """
SELECT csm_id, sum(qbrs_required) AS qbrs_required, sum(least(qbrs_held, qbrs_required)) AS qbrs_held_against_required,
       round(sum(least(qbrs_held, qbrs_required)) / nullif(sum(qbrs_required), 0), 4) AS qbr_completion_rate,
       sum(qbrs_missed) AS qbrs_missed,
       list(account_id ORDER BY account_id) FILTER (qbrs_missed > 0) AS accounts_to_escalate
FROM marts.qbr_records GROUP BY csm_id ORDER BY csm_id
"""


def engagement_cadence_sql(config: HealthConfig) -> str:
    """Touchpoints per active account per month (last 12 complete months) against the tier's target,
    and whether the month reached at least two contact roles (multi-role engagement).

    Active for a month = under contract every day of it, counting back-to-back contracts as one span."""
    return f"""
WITH {BOUNDS},
months AS (
    SELECT CAST(m AS DATE) AS month_start, last_day(CAST(m AS DATE)) AS month_end
    FROM bounds, range(CAST(date_trunc('month', last_day + INTERVAL 1 DAY) - INTERVAL 12 MONTH AS DATE),
                       CAST(date_trunc('month', last_day + INTERVAL 1 DAY) AS DATE), INTERVAL 1 MONTH) t(m)
    WHERE last_day(CAST(m AS DATE)) <= last_day
),
targets AS (SELECT tier, touches_per_month FROM {config.targets_sql()}),
-- contracts that follow each other without a gap (a renewal mid-month) merge into one span, so the renewal
-- month counts as a whole month under contract
starts AS (
    SELECT account_id, start_date, end_date,
           coalesce(start_date > max(end_date) OVER (PARTITION BY account_id ORDER BY start_date, end_date
                                                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) + 1,
                    true)::INT AS opens_span
    FROM raw.contracts
),
spans AS (
    SELECT account_id, min(start_date) AS start_date, max(end_date) AS end_date
    FROM (SELECT *, sum(opens_span) OVER (PARTITION BY account_id ORDER BY start_date, end_date
                                          ROWS UNBOUNDED PRECEDING) AS span_no FROM starts)
    GROUP BY account_id, span_no
),
active AS (
    SELECT DISTINCT m.month_start, m.month_end, c.account_id
    FROM months m JOIN spans c ON c.start_date <= m.month_start AND c.end_date >= m.month_end
),
-- activities bucketed by calendar month first, then an equi-join: joining every activity of an account
-- to each of its 12 months (a range join) ran out of memory at 1,000,000 accounts
touched AS (
    SELECT x.account_id, CAST(date_trunc('month', x.activity_date) AS DATE) AS month_start,
           count(x.activity_id) AS touches, count(DISTINCT x.contact_role) AS distinct_roles
    FROM raw.activities x
    WHERE x.activity_type <> 'internal_review'
      AND x.activity_date BETWEEN (SELECT min(month_start) FROM months) AND (SELECT max(month_end) FROM months)
    GROUP BY ALL
)
SELECT a.account_id, a.month_start AS month, acc.tier, o.csm_id, t.touches_per_month AS target_touches,
       coalesce(x.touches, 0) AS touches, coalesce(x.touches, 0) >= t.touches_per_month AS on_target,
       coalesce(x.distinct_roles, 0) AS distinct_roles, coalesce(x.distinct_roles, 0) >= 2 AS multi_role
FROM active a JOIN raw.accounts acc USING (account_id) JOIN targets t USING (tier)
LEFT JOIN {OWNER_PERIODS} o ON o.account_id = a.account_id
 AND a.month_end BETWEEN o.valid_from AND coalesce(o.valid_to, DATE '9999-12-31')
LEFT JOIN touched x ON x.account_id = a.account_id AND x.month_start = a.month_start
ORDER BY month, a.account_id
"""
