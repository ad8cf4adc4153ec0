"""CSM performance scorecards, fair to the difficulty of each book. Method: docs/metrics.md.

Retention is judged against what the book was expected to lose: each account in a CSM's
cohort carries the team-wide loss rate of the health band it was in at the start of the 12
months. A CSM who loses as many accounts as expected scores 50; none lost scores 100; twice
the expected loss scores 0. So a hard book (many At-risk accounts) is not ranked below an easy
one for the same performance.
"""

from __future__ import annotations

from csm_analytics.canonical.ownership import OWNER_PERIODS

CATEGORIES = ("portfolio_health", "retention", "expansion", "activity_engagement", "customer_satisfaction", "efficiency")

SCORECARD_SQL = f"""
WITH cohort AS (
    SELECT r.*, coalesce(h.band, 'unscored') AS band_at_start, (r.end_arr = 0)::INT AS lost
    FROM marts.retention_cohorts r
    LEFT JOIN core.account_health_history h ON h.account_id = r.account_id AND h.as_of_date = r.cohort_date
),
band_rates AS (SELECT quarter_end, band_at_start, avg(lost) AS loss_rate FROM cohort GROUP BY ALL),
retention AS (
    SELECT c.quarter_end, c.csm_id, count(*) AS cohort_accounts, sum(c.lost) AS actual_lost,
           round(sum(b.loss_rate), 3) AS expected_lost,
           round(sum(greatest(c.end_arr - c.start_arr + c.contraction_arr, 0)) FILTER (c.end_arr > 0)
                 / sum(c.start_arr), 4) AS expansion_rate
    FROM cohort c JOIN band_rates b USING (quarter_end, band_at_start)
    GROUP BY ALL
),
book AS (
    SELECT q.quarter_end, o.csm_id, h.account_id, h.health_score
    FROM (SELECT DISTINCT quarter_end FROM marts.retention_cohorts) q
    JOIN core.account_health_history h ON h.as_of_date = q.quarter_end
    JOIN {OWNER_PERIODS} o ON o.account_id = h.account_id
     AND q.quarter_end BETWEEN o.valid_from AND coalesce(o.valid_to, DATE '9999-12-31')
),
health AS (SELECT quarter_end, csm_id, count(*) AS accounts, avg(health_score) AS avg_health FROM book GROUP BY ALL),
-- pooled over the quarter: on-target account-months / account-months the CSM owned (owner on each month's last day)
activity_q AS (
    SELECT last_day(CAST(date_trunc('quarter', month) AS DATE) + INTERVAL 2 MONTH) AS quarter_end, csm_id,
           avg(on_target::INT) AS on_target
    FROM marts.engagement_cadence GROUP BY ALL
),
nps AS (
    SELECT b.quarter_end, b.csm_id, avg(r.score) AS avg_nps
    FROM book b JOIN raw.survey_responses r ON r.account_id = b.account_id AND r.survey_type = 'NPS'
     AND r.response_date BETWEEN date_trunc('quarter', b.quarter_end) AND b.quarter_end  -- the calendar quarter
    GROUP BY ALL
),
scores AS (
    SELECT h.quarter_end, h.csm_id, h.accounts, r.cohort_accounts, r.actual_lost, r.expected_lost,
           round(h.avg_health, 1) AS portfolio_health,
           round(greatest(0, least(100, 100 * (1 - 0.5 * r.actual_lost / greatest(r.expected_lost, 0.5)))), 1) AS retention,
           round(greatest(0, least(100, 100 * r.expansion_rate / 0.2)), 1) AS expansion,
           round(100 * a.on_target, 1) AS activity_engagement,
           round(10 * n.avg_nps, 1) AS customer_satisfaction,
           round(100 * least(h.accounts / c.capacity, 1), 1) AS efficiency
    FROM health h
    JOIN retention r USING (quarter_end, csm_id)
    JOIN raw.csms c USING (csm_id)
    LEFT JOIN activity_q a USING (quarter_end, csm_id)
    LEFT JOIN nps n USING (quarter_end, csm_id)
),
overall AS (
    SELECT *, round((portfolio_health + retention + expansion + coalesce(activity_engagement, 50)
                     + coalesce(customer_satisfaction, 50) + efficiency) / 6, 1) AS overall_score
    FROM scores
)
SELECT *, round(avg(overall_score) OVER (PARTITION BY quarter_end), 1) AS team_average,
       rank() OVER (PARTITION BY quarter_end ORDER BY overall_score DESC) AS peer_rank,
       round(overall_score - lag(overall_score) OVER (PARTITION BY csm_id ORDER BY quarter_end), 1) AS change_vs_last_quarter
FROM overall
ORDER BY quarter_end, peer_rank
"""


def strengths_and_gaps(row: dict, team: dict[str, float]) -> tuple[list[str], list[str]]:
    """The two categories furthest above the team average, and the two furthest below it."""
    gaps = sorted(((row[c] or 0) - team[c], c) for c in CATEGORIES)
    return [c for d, c in reversed(gaps[-2:]) if d > 0], [c for d, c in gaps[:2] if d < 0]
