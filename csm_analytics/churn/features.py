"""Point-in-time churn features and renewal labels, in DuckDB SQL.

Features of a snapshot on day D use only data strictly before D: they are the
health components computed as of D - 1 (which read data up to and including
D - 1), the churn rate of the renewals decided before D on the CSM's book, plus
contract facts known at contract start. Changing or adding any row
dated D or later cannot change them (tested in test_churn/test_features.py).

Labels: `churned` = the contract in force on D ends within the horizon and its
renewal outcome is churned; `downgraded` likewise. A label is *known* once the
contract has ended, or when the end lies beyond the horizon.
"""

from __future__ import annotations

import datetime as dt

from csm_analytics.health.components import components_sql
from csm_analytics.health.config import COMPONENTS, HealthConfig
from csm_analytics.canonical.ownership import OWNER_PERIODS

HORIZON_DAYS = 180
# Trends over months rather than days: a slow slide shows months before a renewal, while the
# 30-day metrics above only move once it is steep. From the daily components of the days before D.
TRAJECTORY_FEATURES = ["usage_avg_90d", "usage_change_120d", "engagement_avg_90d", "support_avg_90d",
                       "sentiment_avg_90d"]
TRAJECTORY_DAYS = 120  # how far back before D the trajectory features read the components
# The churn rate of the renewals decided in the year before D on the book of the account's CSM (its owner on
# D - 1), shrunk towards the rate of all renewals decided in that year as if the CSM had CSM_BOOK_PRIOR_RENEWALS
# more renewals at that rate: a CSM with 4 renewals in a year says little by itself. Known at any lead time,
# unlike the signals of the last weeks before a renewal.
CSM_BOOK_FEATURES = ["csm_book_churn_rate_365d"]
CSM_BOOK_PRIOR_RENEWALS = 10
NUMERIC_FEATURES = [
    *COMPONENTS,
    "seat_utilization", "key_events_per_user_day", "usage_trend", "touches_30d", "touches_90d", "roles_90d",
    "days_since_qbr", "escalations_90d", "open_tickets", "median_resolution_hours_90d", "failed_payments_180d",
    "late_payments_180d", "overdue_invoices", "latest_nps", "csat_180d", "tenure_days", "critical_incidents_180d",
    "other_incidents_180d", "days_to_renewal", "arr", "term_months", "previously_downgraded", "qbr_shortfall_365d",
    *TRAJECTORY_FEATURES, *CSM_BOOK_FEATURES,
]
# Computed here rather than read from the health components:
CONTRACT_FEATURES = ["days_to_renewal", "arr", "term_months", "previously_downgraded"]
QBR_FEATURES = ["qbr_shortfall_365d"]  # QBRs the tier cadence expected in the past year but not held
CATEGORICAL_FEATURES = ["tier", "segment", "product"]
# Timing and size facts, and the CSM's own book: they shape the probability but are not something the
# account's CSM can act on for this account, so they are never named as a driver.
NOT_DRIVERS = {"days_to_renewal", "tenure_days", "term_months", "arr", *CSM_BOOK_FEATURES}
FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES


def features_sql(start: dt.date, end: dt.date, config: HealthConfig, every_days: int = 1,
                 accounts: str | None = None, trajectory: bool = True) -> str:
    """One row per account with a contract in force on snapshot day D, for D in [start, end] every `every_days`.

    `accounts` (a SELECT of account_id) limits the rows to those accounts (a training sample). The
    trajectory features need the daily components of the TRAJECTORY_DAYS before each snapshot day;
    `trajectory=False` (big worlds, see docs/churn.md "At scale") reads only the day before and leaves
    them NULL, so the model learns and scores without them."""
    lookback = 1 + (TRAJECTORY_DAYS if trajectory else 0)
    history = components_sql(start - dt.timedelta(days=lookback), end - dt.timedelta(days=1), config,
                             1 if trajectory else every_days, accounts)
    not_components = CONTRACT_FEATURES + QBR_FEATURES + TRAJECTORY_FEATURES + CSM_BOOK_FEATURES
    component_cols = ", ".join(f"h.{c}" for c in NUMERIC_FEATURES if c not in not_components)
    trajectory_cols = ", ".join(f"h.{c}" for c in TRAJECTORY_FEATURES)
    trajectory_sql = _trajectory_sql() if trajectory else ", ".join(f"CAST(NULL AS DOUBLE) AS {c}"
                                                                     for c in TRAJECTORY_FEATURES)
    return f"""
WITH component_history AS ({history}),
components AS (  -- the windows read the earlier days; only the days before a snapshot are kept
    SELECT * FROM (SELECT *, {trajectory_sql} FROM component_history)
    WHERE as_of_date >= DATE '{start - dt.timedelta(days=1)}'
),
snapshots AS (
    SELECT c.account_id, CAST(c.as_of_date + INTERVAL 1 DAY AS DATE) AS snapshot_date
    FROM components c
    WHERE date_diff('day', DATE '{start}', CAST(c.as_of_date + INTERVAL 1 DAY AS DATE)) % {every_days} = 0
),
contract_on_day AS (
    SELECT s.account_id, s.snapshot_date, k.contract_id, k.end_date, k.arr, k.term_months, k.renewal_outcome
    FROM snapshots s JOIN raw.contracts k
      ON k.account_id = s.account_id AND s.snapshot_date BETWEEN k.start_date AND k.end_date
    QUALIFY row_number() OVER (PARTITION BY s.account_id, s.snapshot_date ORDER BY k.start_date DESC) = 1
),
qbrs_held AS (
    SELECT k.account_id, k.snapshot_date, count(q.qbr_id) AS qbrs_365d
    FROM contract_on_day k LEFT JOIN raw.qbrs q ON q.account_id = k.account_id
     AND q.qbr_date < k.snapshot_date AND q.qbr_date >= k.snapshot_date - 365
    GROUP BY k.account_id, k.snapshot_date
),
{_csm_book_sql()}
SELECT k.account_id, k.snapshot_date, k.contract_id, k.end_date AS contract_end_date,
       {component_cols},
       date_diff('day', k.snapshot_date, k.end_date) AS days_to_renewal,
       k.arr, k.term_months, (coalesce(h.last_renewal_outcome, '') = 'downgraded')::INT AS previously_downgraded,
       greatest(0, floor(least(h.tenure_days, 365) / t.qbr_every_days) - qh.qbrs_365d) AS qbr_shortfall_365d,
       {trajectory_cols},
       round(cb.csm_book_churn_rate_365d, 4) AS csm_book_churn_rate_365d,
       a.tier, a.segment, a.product
FROM contract_on_day k
JOIN components h ON h.account_id = k.account_id AND h.as_of_date = k.snapshot_date - 1
JOIN qbrs_held qh ON qh.account_id = k.account_id AND qh.snapshot_date = k.snapshot_date
LEFT JOIN csm_book cb ON cb.account_id = k.account_id AND cb.snapshot_date = k.snapshot_date
JOIN raw.accounts a ON a.account_id = k.account_id
JOIN {config.targets_sql()} ON t.tier = a.tier
ORDER BY k.snapshot_date, k.account_id
"""


def _trajectory_sql() -> str:
    """Window averages over each account's daily components up to D - 1 (days without a contract are absent)."""
    def avg(col: str, first: int, last: int) -> str:  # mean over the days D-1-first .. D-1-last
        return (f"avg({col}) OVER (PARTITION BY account_id ORDER BY as_of_date "
                f"RANGE BETWEEN INTERVAL {first} DAY PRECEDING AND INTERVAL {last} DAY PRECEDING)")
    return ", ".join([
        f"round({avg('usage', 89, 0)}, 2) AS usage_avg_90d",
        f"round({avg('usage', 29, 0)} - {avg('usage', TRAJECTORY_DAYS - 1, TRAJECTORY_DAYS - 30)}, 2) AS usage_change_120d",
        f"round({avg('engagement', 89, 0)}, 2) AS engagement_avg_90d",
        f"round({avg('support', 89, 0)}, 2) AS support_avg_90d",
        f"round({avg('sentiment', 89, 0)}, 2) AS sentiment_avg_90d",
    ])


def labelled_sql(features: str, horizon_days: int = HORIZON_DAYS) -> str:
    """Add renewal labels to a features SELECT. Labels read the outcome, so they are for training only."""
    return f"""
SELECT f.*,
       (date_diff('day', f.snapshot_date, f.contract_end_date) <= {horizon_days} AND k.renewal_outcome = 'churned')::INT AS churned,
       (date_diff('day', f.snapshot_date, f.contract_end_date) <= {horizon_days} AND k.renewal_outcome = 'downgraded')::INT AS downgraded,
       (k.renewal_outcome IS NOT NULL OR date_diff('day', f.snapshot_date, f.contract_end_date) > {horizon_days}) AS label_known,
       CASE WHEN date_diff('day', f.snapshot_date, f.contract_end_date) <= {horizon_days} THEN f.contract_end_date
            ELSE CAST(f.snapshot_date + INTERVAL {horizon_days} DAY AS DATE) END AS label_resolved_on
FROM ({features}) f JOIN raw.contracts k USING (contract_id)
ORDER BY f.snapshot_date, f.account_id
"""


def _csm_book_sql() -> str:
    """CTEs to csm_book (account_id, snapshot_date, csm_book_churn_rate_365d) for the rows of contract_on_day.

    A renewal is decided on its contract's end date and counts from the next day on, for the CSM who owned the
    account on its end date. Running totals per CSM, read with ASOF joins, keep the cost at one lookup per row;
    the all-CSM rate is looked up once per snapshot day."""
    return f"""
decided AS (  -- the owner on the end date: the latest assignment starting by then, if still valid
    SELECT o.csm_id, c.end_date, (c.renewal_outcome = 'churned')::INT AS churned
    FROM raw.contracts c ASOF JOIN {OWNER_PERIODS} o ON o.account_id = c.account_id AND c.end_date >= o.valid_from
    WHERE c.renewal_outcome IS NOT NULL AND c.end_date <= coalesce(o.valid_to, DATE '9999-12-31')
),
book_running AS (  -- per CSM, renewals and churns decided up to each end date
    SELECT csm_id, end_date, sum(renewals) OVER w AS renewals, sum(churned) OVER w AS churned
    FROM (SELECT csm_id, end_date, count(*) AS renewals, sum(churned) AS churned FROM decided GROUP BY ALL)
    WINDOW w AS (PARTITION BY csm_id ORDER BY end_date)
),
all_running AS (  -- the same over every CSM's renewals
    SELECT end_date, sum(renewals) OVER w AS renewals, sum(churned) OVER w AS churned
    FROM (SELECT end_date, count(*) AS renewals, sum(churned) AS churned FROM decided GROUP BY ALL)
    WINDOW w AS (ORDER BY end_date)
),
snapshot_owner AS (  -- the account's owner on D - 1: the latest assignment starting by then, if still valid
    SELECT k.account_id, k.snapshot_date, o.csm_id
    FROM contract_on_day k ASOF JOIN {OWNER_PERIODS} o
      ON o.account_id = k.account_id AND k.snapshot_date - 1 >= o.valid_from
    WHERE k.snapshot_date - 1 <= coalesce(o.valid_to, DATE '9999-12-31')
),
csm_year AS (  -- decided in [D - 365, D - 1]: running total before D minus running total before D - 365
    SELECT s.account_id, s.snapshot_date,
           coalesce(upto_d.renewals, 0) - coalesce(upto_year_ago.renewals, 0) AS renewals,
           coalesce(upto_d.churned, 0) - coalesce(upto_year_ago.churned, 0) AS churned
    FROM snapshot_owner s
    ASOF LEFT JOIN book_running upto_d ON upto_d.csm_id = s.csm_id AND s.snapshot_date > upto_d.end_date
    ASOF LEFT JOIN book_running upto_year_ago ON upto_year_ago.csm_id = s.csm_id
     AND s.snapshot_date - 365 > upto_year_ago.end_date
),
all_year AS (  -- the same for all renewals: one row per snapshot day, not per account
    SELECT d.snapshot_date,
           coalesce(upto_d.renewals, 0) - coalesce(upto_year_ago.renewals, 0) AS renewals,
           coalesce(upto_d.churned, 0) - coalesce(upto_year_ago.churned, 0) AS churned
    FROM (SELECT DISTINCT snapshot_date FROM snapshot_owner) d
    ASOF LEFT JOIN all_running upto_d ON d.snapshot_date > upto_d.end_date
    ASOF LEFT JOIN all_running upto_year_ago ON d.snapshot_date - 365 > upto_year_ago.end_date
),
csm_book AS (
    SELECT c.account_id, c.snapshot_date,
           (c.churned + {CSM_BOOK_PRIOR_RENEWALS} * a.churned / nullif(a.renewals, 0))
             / (c.renewals + {CSM_BOOK_PRIOR_RENEWALS}) AS csm_book_churn_rate_365d
    FROM csm_year c JOIN all_year a USING (snapshot_date)
)"""
