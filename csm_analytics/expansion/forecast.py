"""Expansion pipeline forecast: stage probabilities recalibrated every quarter, and the replayed backtest.

Snapshots are taken at the start of a day: an opportunity is open on snapshot date `s` when it was
created before `s` and had not closed before `s`; its stage is the furthest stage it entered before `s`.
A quarter is three calendar months from its first day.

Calibration for quarter q: on the first of every month m whose following quarter ended by q
(m + 3 months <= q), each open opportunity at stage k either closed won within that quarter or not.
p_q(k) = (won_k + a * pooled) / (observed_k + a), with `pooled` the close rate over all stages
and `a` the prior weight from the config. Nothing after q is read. Definitions: docs/metrics.md.
"""

from __future__ import annotations

from csm_analytics.canonical.calendar import LAST_DATA_DAY
from csm_analytics.canonical.ownership import OWNER_PERIODS
from csm_analytics.canonical.schemas import OPPORTUNITY_STAGES

OPEN_STAGES = OPPORTUNITY_STAGES[:4]
STAGE_ORDER = "(VALUES " + ", ".join(f"('{s}', {i})" for i, s in enumerate(OPPORTUNITY_STAGES)) + ") AS so(stage, stage_order)"
LAST_DAY = LAST_DATA_DAY


def _open_at(snapshots: str) -> str:
    """(snapshot_date, opportunity, account, amount, stage, won_in_quarter) for every open opportunity."""
    return f"""
    SELECT s.snapshot_date, o.opportunity_id, o.account_id, o.amount,
           arg_max(h.stage, so.stage_order) AS stage,
           coalesce(o.status = 'won' AND o.close_date < s.snapshot_date + INTERVAL 3 MONTH, false) AS won_in_quarter
    FROM ({snapshots}) s
    JOIN raw.expansion_opportunities o
      ON o.created_date < s.snapshot_date AND (o.close_date IS NULL OR o.close_date >= s.snapshot_date)
    JOIN raw.opportunity_stage_history h
      ON h.opportunity_id = o.opportunity_id AND h.entered_date < s.snapshot_date
    JOIN {STAGE_ORDER} ON so.stage = h.stage AND so.stage_order < 4
    GROUP BY s.snapshot_date, o.opportunity_id, o.account_id, o.amount, o.status, o.close_date"""


def _bounds() -> str:
    return f"""
bounds AS (SELECT date_trunc('quarter', min(created_date))::DATE AS first_quarter, {LAST_DAY} AS last_day
           FROM raw.expansion_opportunities),
quarters AS (
    SELECT CAST(range AS DATE) AS quarter_start,
           CAST(range + INTERVAL 3 MONTH - INTERVAL 1 DAY AS DATE) AS quarter_end
    FROM bounds, range(first_quarter, date_trunc('quarter', last_day + 1) + INTERVAL 1 DAY, INTERVAL 3 MONTH)
),
months AS (SELECT CAST(range AS DATE) AS snapshot_date FROM bounds,
           range(first_quarter, last_day + INTERVAL 1 DAY, INTERVAL 1 MONTH))"""


def calibration_sql(prior_weight: float) -> str:
    """Per quarter and open stage: the history behind the probability, the probability, and what happened."""
    return f"""
WITH {_bounds()},
monthly AS ({_open_at("SELECT snapshot_date FROM months")}),
history AS (
    SELECT q.quarter_start, m.stage, count(*) AS observed, count(*) FILTER (m.won_in_quarter) AS won
    FROM quarters q JOIN monthly m ON m.snapshot_date + INTERVAL 3 MONTH <= q.quarter_start
    GROUP BY ALL
),
pooled AS (SELECT quarter_start, sum(won) / sum(observed) AS pooled_rate FROM history GROUP BY ALL),
stages AS (SELECT q.quarter_start, q.quarter_end, so.stage, so.stage_order FROM quarters q, {STAGE_ORDER}
           WHERE so.stage_order < 4),
actual AS (
    SELECT snapshot_date AS quarter_start, stage, count(*) AS open_at_start, count(*) FILTER (won_in_quarter) AS won_in_quarter
    FROM ({_open_at("SELECT quarter_start AS snapshot_date FROM quarters")}) GROUP BY ALL
)
SELECT s.quarter_start, s.stage, s.stage_order, coalesce(h.observed, 0) AS history_observed,
       coalesce(h.won, 0) AS history_won, round(p.pooled_rate, 4) AS pooled_rate,
       round((coalesce(h.won, 0) + {prior_weight} * p.pooled_rate) / (coalesce(h.observed, 0) + {prior_weight}), 4)
           AS probability,
       coalesce(a.open_at_start, 0) AS open_at_start, coalesce(a.won_in_quarter, 0) AS won_in_quarter,
       CASE WHEN s.quarter_end <= (SELECT last_day FROM bounds)
            THEN round(a.won_in_quarter / a.open_at_start, 4) END AS actual_rate
FROM stages s LEFT JOIN history h USING (quarter_start, stage) LEFT JOIN pooled p USING (quarter_start)
LEFT JOIN actual a USING (quarter_start, stage)
ORDER BY s.quarter_start, s.stage_order
"""


def forecast_sql(calibration_table: str = "marts.expansion_stage_calibration") -> str:
    """Weighted pipeline per quarter, owning CSM (on the day before the quarter) and segment."""
    return f"""
WITH {_bounds()},
pipeline AS ({_open_at("SELECT quarter_start AS snapshot_date FROM quarters")})
SELECT q.quarter_start, q.quarter_end, q.quarter_end <= b.last_day AS quarter_complete,
       coalesce(a.csm_id, 'unassigned') AS csm_id, acc.segment,
       count(*) AS open_opportunities, round(sum(p.amount), 2) AS pipeline_amount,
       round(sum(p.amount * c.probability), 2) AS weighted_forecast,
       CASE WHEN q.quarter_end <= b.last_day
            THEN round(coalesce(sum(p.amount) FILTER (p.won_in_quarter), 0), 2) END AS won_from_pipeline
FROM pipeline p JOIN quarters q ON q.quarter_start = p.snapshot_date CROSS JOIN bounds b
JOIN raw.accounts acc USING (account_id)
LEFT JOIN {calibration_table} c ON c.quarter_start = q.quarter_start AND c.stage = p.stage
LEFT JOIN {OWNER_PERIODS} a ON a.account_id = p.account_id
 AND q.quarter_start - 1 BETWEEN a.valid_from AND coalesce(a.valid_to, DATE '9999-12-31')
GROUP BY q.quarter_start, q.quarter_end, b.last_day, a.csm_id, acc.segment
ORDER BY q.quarter_start, csm_id, acc.segment
"""


def accuracy_sql(calibration_table: str = "marts.expansion_stage_calibration",
                 forecast_table: str = "marts.expansion_forecast", target: float = 0.15, strong: float = 0.20) -> str:
    """Each complete quarter with a calibration: forecast (pipeline + new-business run rate) against what closed won.

    New business is what was both created and won inside a quarter; its forecast is the mean of
    the same figure over the (up to) four previous complete quarters."""
    return f"""
WITH {_bounds()},
new_business AS (
    SELECT q.quarter_start, coalesce(sum(o.amount), 0) AS won_new_business
    FROM quarters q LEFT JOIN raw.expansion_opportunities o
      ON o.status = 'won' AND o.created_date BETWEEN q.quarter_start AND q.quarter_end
     AND o.close_date <= q.quarter_end
    GROUP BY ALL
),
run_rate AS (
    SELECT q.quarter_start, avg(n.won_new_business) AS new_business_forecast, count(n.quarter_start) AS run_rate_quarters
    FROM quarters q LEFT JOIN new_business n
      ON n.quarter_start < q.quarter_start AND n.quarter_start >= q.quarter_start - INTERVAL 12 MONTH
    GROUP BY ALL
),
pipeline AS (
    SELECT quarter_start, sum(weighted_forecast) AS pipeline_forecast, sum(won_from_pipeline) AS won_from_pipeline,
           sum(pipeline_amount) AS pipeline_amount
    FROM {forecast_table} GROUP BY ALL
),
calibrated AS (SELECT DISTINCT quarter_start FROM {calibration_table} WHERE probability IS NOT NULL),
rows AS (
    SELECT q.quarter_start, q.quarter_end, coalesce(p.pipeline_amount, 0) AS pipeline_amount,
           coalesce(p.pipeline_forecast, 0) AS pipeline_forecast, r.new_business_forecast, r.run_rate_quarters,
           coalesce(p.won_from_pipeline, 0) AS won_from_pipeline, n.won_new_business
    FROM quarters q JOIN calibrated USING (quarter_start) JOIN run_rate r USING (quarter_start)
    JOIN new_business n USING (quarter_start) LEFT JOIN pipeline p USING (quarter_start)
    WHERE q.quarter_end <= (SELECT last_day FROM bounds) AND r.run_rate_quarters > 0
)
SELECT quarter_start, quarter_end, round(pipeline_amount, 2) AS pipeline_amount,
       round(pipeline_forecast, 2) AS pipeline_forecast, round(new_business_forecast, 2) AS new_business_forecast,
       round(pipeline_forecast + new_business_forecast, 2) AS forecast,
       round(won_from_pipeline, 2) AS won_from_pipeline, round(won_new_business, 2) AS won_new_business,
       round(won_from_pipeline + won_new_business, 2) AS actual,
       round((pipeline_forecast + new_business_forecast) / nullif(won_from_pipeline + won_new_business, 0) - 1, 4)
           AS variance,
       round(pipeline_forecast / nullif(won_from_pipeline, 0) - 1, 4) AS pipeline_variance,
       abs((pipeline_forecast + new_business_forecast) / nullif(won_from_pipeline + won_new_business, 0) - 1) <= {target}
           AS within_target,
       abs((pipeline_forecast + new_business_forecast) / nullif(won_from_pipeline + won_new_business, 0) - 1) < {strong}
           AS strong
FROM rows ORDER BY quarter_start
"""
