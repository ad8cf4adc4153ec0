"""Replaying history without leakage, and scoring the replay against what happened.

The replay walks the snapshot days month by month. For each month it trains the
champion's model family on the snapshots whose labels were resolved before the
month began (an expanding window), checks it, and scores every active account on
every day of the month with it, or with a fallback when it fails its check
(churn/replay.py). No day is scored by a model that saw its outcome.
"""

from __future__ import annotations

import pandas as pd

from csm_analytics.churn.config import ChurnConfig
from csm_analytics.churn.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES


def as_model_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable integer columns become floats with NaN, which scikit-learn's imputer understands."""
    out = frame.copy()
    for col in NUMERIC_FEATURES:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    return out


REPLAY_COLUMNS = ["account_id", "snapshot_date", "contract_id", "churn_probability", "model_trained_through",
                  "training_rows", "model_family", "model_used"]
REPLAY_TYPES = ["VARCHAR", "DATE", "VARCHAR", "DOUBLE", "DATE", "BIGINT", "VARCHAR", "VARCHAR"]
# Replayed rows read from a pandas frame with their types stated: a young world replays no month, and an empty
# frame's untyped columns would otherwise create ml.churn_snapshots with NULL-typed columns, which the thresholds'
# and the backtest's date arithmetic cannot bind.
REPLAY_SELECT = "SELECT " + ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in zip(REPLAY_COLUMNS, REPLAY_TYPES)) + \
    " FROM frame"


def score_replayed(daily: pd.DataFrame, plans: dict) -> pd.DataFrame:
    """Score snapshot rows with the model chosen for their month (`replay.plan_replay`); rows of unscored months are
    left out. model_used says which model scored the row (learned, or the baseline) and why lives in the
    asset metadata and ml.churn_flag_thresholds.

    Rows are scored one at a time by the model, so scoring a frame in chunks gives the same rows."""
    period = daily.snapshot_date.dt.to_period("M")
    scored = []
    for month in sorted(period.unique()):
        if month not in plans:
            continue
        plan = plans[month]
        rows = daily[period == month]
        p = plan.model.predict_proba(rows[NUMERIC_FEATURES + CATEGORICAL_FEATURES])[:, 1]
        scored.append(pd.DataFrame({
            "account_id": rows.account_id.to_numpy(), "snapshot_date": rows.snapshot_date.dt.date.to_numpy(),
            "contract_id": rows.contract_id.to_numpy(), "churn_probability": p.round(5),
            "model_trained_through": plan.trained_through.date(),
            "training_rows": plan.training_rows, "model_family": plan.family, "model_used": plan.used,
        }))
    return pd.concat(scored, ignore_index=True) if scored else pd.DataFrame(columns=REPLAY_COLUMNS)


def flag_thresholds_sql(config: ChurnConfig, snapshots: str = "ml.churn_snapshots") -> str:
    """One row per replayed month: the flag threshold used on its days, learned from earlier months only.

    The rule is a flag budget. A renewal counts for month M once its contract ended before M and it
    was scored `lead_days` before its end; its peak is its highest replayed probability over its flag
    window (all those days precede M, and each was scored by a model trained before its own month).
    The threshold of M is the (1 - flag_share) quantile of those peaks, churned or renewed alike: it
    would have flagged `flag_share` of the renewals decided before M. Whether the budget holds and how
    many churners it catches is what the backtest (and `csm-analytics evaluate`) then measures. Until
    `min_resolved_renewals` such renewals exist the configured threshold is used.
    """
    lead, horizon = config.lead_days, config.horizon_days
    return f"""
WITH months AS (
    SELECT DISTINCT CAST(date_trunc('month', snapshot_date) AS DATE) AS month FROM {snapshots}
),
renewal_peaks AS (
    SELECT k.contract_id, k.end_date, k.renewal_outcome = 'churned' AS churned, max(s.churn_probability) AS peak
    FROM raw.contracts k
    JOIN {snapshots} s ON s.account_id = k.account_id
     AND s.snapshot_date BETWEEN k.end_date - {horizon} AND k.end_date - {lead}
    WHERE k.renewal_outcome IS NOT NULL
      AND EXISTS (SELECT 1 FROM {snapshots} x WHERE x.account_id = k.account_id AND x.snapshot_date = k.end_date - {lead})
    GROUP BY k.contract_id, k.end_date, k.renewal_outcome
),
learned AS (
    SELECT m.month, count(p.contract_id) AS resolved_renewals,
           count(p.contract_id) FILTER (p.churned) AS resolved_churners,
           quantile_cont(p.peak, {1 - config.flag_share:.6f}) AS learned_threshold
    FROM months m LEFT JOIN renewal_peaks p ON p.end_date < m.month
    GROUP BY m.month
)
SELECT month, resolved_renewals, resolved_churners, round(learned_threshold, 5) AS learned_threshold,
       resolved_renewals >= {config.min_resolved_renewals} AS walk_forward,
       CASE WHEN resolved_renewals >= {config.min_resolved_renewals}
            THEN round(learned_threshold, 5) ELSE {config.flag_threshold} END AS flag_threshold
FROM learned
ORDER BY month
"""


def thresholds_with_models_sql(config: ChurnConfig, snapshots: str = "ml.churn_snapshots") -> str:
    """`flag_thresholds_sql` with, per month, the model that scored it (model_used: learned, or
    the baseline; churn/replay.py)."""
    return f"""
SELECT t.*, m.model_used
FROM ({flag_thresholds_sql(config, snapshots)}) t
LEFT JOIN (SELECT CAST(date_trunc('month', snapshot_date) AS DATE) AS month, any_value(model_used) AS model_used
           FROM {snapshots} GROUP BY 1) m USING (month)
ORDER BY month
"""


def forecast_accuracy_sql(config: ChurnConfig, snapshots: str = "ml.churn_snapshots", thresholds: str | None = None,
                          oracle: str | None = None) -> str:
    """One row per quarter of contract end dates (contracts already ended and scored `lead_days` before their end).

    flagged: on some day between the start of the horizon and `lead_days` before the end, the churn
    probability reached that day's month's flag threshold (`thresholds`, a table or subquery with
    month and flag_threshold; default: `flag_thresholds_sql`). predicted_churn: the sum of
    probabilities on the day exactly `lead_days` before the end. variance_pp: (predicted - actual) /
    contracts x 100. variance_noise_pp: the standard deviation variance_pp would have if every
    probability were exactly right, 100 x sqrt(sum p(1 - p)) / contracts: binomial noise, which no
    model removes from a cohort of a few dozen renewals.

    `oracle` (diagnostics only, never an asset: `bench.diagnostics.oracle_forecast_variance`) is a
    table of (contract_id, p_churn) holding the generator's true churn probabilities; given one, the
    same cohorts also get oracle_predicted_churn and oracle_variance_pp, what a perfect model would show.
    """
    lead, horizon = config.lead_days, config.horizon_days
    thresholds = thresholds or f"({flag_thresholds_sql(config, snapshots)})"
    oracle_column = oracle_join = oracle_columns = ""
    if oracle:
        oracle_column, oracle_join = ", o.p_churn AS p_true", f"\n    LEFT JOIN {oracle} o ON o.contract_id = e.contract_id"
        oracle_columns = (",\n       round(sum(p_true), 2) AS oracle_predicted_churn,\n"
                          "       round(100.0 * (sum(p_true) - count(*) FILTER (churned)) / count(*), 2) AS oracle_variance_pp")
    return f"""
WITH ended AS (
    SELECT contract_id, account_id, end_date, renewal_outcome = 'churned' AS churned
    FROM raw.contracts WHERE renewal_outcome IS NOT NULL
),
at_lead AS (
    SELECT e.*, s.churn_probability AS p_at_lead{oracle_column}
    FROM ended e JOIN {snapshots} s ON s.account_id = e.account_id AND s.snapshot_date = e.end_date - {lead}{oracle_join}
),
flags AS (
    SELECT a.contract_id, bool_or(s.churn_probability >= t.flag_threshold) AS flagged
    FROM at_lead a JOIN {snapshots} s ON s.account_id = a.account_id
     AND s.snapshot_date BETWEEN a.end_date - {horizon} AND a.end_date - {lead}
    JOIN {thresholds} t ON t.month = CAST(date_trunc('month', s.snapshot_date) AS DATE)
    GROUP BY a.contract_id
)
SELECT strftime(end_date, '%Y') || '-Q' || quarter(end_date) AS cohort_quarter,
       count(*) AS contracts,
       count(*) FILTER (churned) AS actually_churned,
       count(*) FILTER (flagged) AS flagged_60d_before_end,
       count(*) FILTER (flagged AND churned) AS flagged_churners,
       round(count(*) FILTER (flagged AND churned) / nullif(count(*) FILTER (churned), 0), 4) AS early_warning_rate,
       round(sum(p_at_lead), 2) AS predicted_churn,
       count(*) FILTER (churned) AS actual_churn,
       round(100.0 * (sum(p_at_lead) - count(*) FILTER (churned)) / count(*), 2) AS variance_pp,
       round(100.0 * sqrt(sum(p_at_lead * (1 - p_at_lead))) / count(*), 2) AS variance_noise_pp{oracle_columns}
FROM at_lead JOIN flags USING (contract_id)
GROUP BY cohort_quarter
ORDER BY cohort_quarter
"""
