"""What the evaluation reads from one materialized world: per-unit rows (so worlds can be pooled) and its facts.

Everything is read from the warehouse the normal assets wrote, through the same SQL the assets use, so the
evaluation measures the product as shipped. Only `world_facts` and the oracle columns read the generator's
ground truth (the ceiling no model can beat on that world).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np

from csm_analytics.bench.diagnostics import oracle_forecast_variance, world_facts
from csm_analytics.expansion.config import load_expansion_config
from csm_analytics.expansion.signals import backtest_frame, lift_summary, top_decile, validation_dates
from csm_analytics.health.validation import LEAD_DAYS

HEALTH_SQL = f"""
SELECT h.health_score, (c.renewal_outcome = 'churned')::INT AS churned,
       (c.renewal_outcome IN ('churned', 'downgraded'))::INT AS lost_revenue
FROM raw.contracts c
JOIN core.account_health_history h ON h.account_id = c.account_id AND h.as_of_date = c.end_date - {LEAD_DAYS}
WHERE c.renewal_outcome IS NOT NULL"""

CHURN_SQL = """
SELECT s.churn_probability, (c.renewal_outcome = 'churned')::INT AS churned
FROM raw.contracts c
JOIN ml.churn_snapshots s ON s.account_id = c.account_id AND s.snapshot_date = c.end_date - ?
WHERE c.renewal_outcome IS NOT NULL"""


def _columns(con, sql: str, params=None) -> dict[str, list]:
    frame = con.execute(sql, params or []).df()
    return {c: frame[c].tolist() for c in frame.columns}


def _lift_units(con) -> dict[str, list]:
    """Per account, summed over the expansion backtest's as-of dates: top-decile hits and rows, hits and rows."""
    config = load_expansion_config()
    first, last = con.execute("SELECT min(as_of_date), max(as_of_date) FROM core.account_health_history").fetchall()[0]
    frame = backtest_frame(con, config, validation_dates(first, last, config) if first else [])
    if frame.empty:
        return {"top_hits": [], "top_rows": [], "hits": [], "rows": [], "lift": None}
    top = top_decile(frame).to_numpy()
    y = frame["expanded"].to_numpy(dtype=float)
    frame = frame.assign(top_hits=y * top, top_rows=top.astype(float), hits=y, rows=1.0)
    per_account = frame.groupby("account_id")[["top_hits", "top_rows", "hits", "rows"]].sum()
    return {**{c: per_account[c].tolist() for c in per_account.columns}, "lift": lift_summary(frame)["lift"]}


def _churn_model_card(con) -> dict:
    rows = con.execute("SELECT champion, validation_roc_auc, validation_brier FROM ml.churn_model_versions "
                       "ORDER BY trained_at DESC, version DESC LIMIT 1").fetchall()
    return {"champion": rows[0][0], "validation_roc_auc": rows[0][1], "validation_brier": rows[0][2]} if rows else {}


def measure_world(warehouse: Path, raw: Path, lead_days: int = 60) -> dict:
    """Every figure the evaluation pools, for one materialized world (JSON-ready)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cohorts = _columns(con, "SELECT cohort_quarter, contracts, actually_churned, flagged_60d_before_end, "
                                "flagged_churners, variance_pp, variance_noise_pp FROM marts.renewal_forecast_accuracy "
                                "ORDER BY cohort_quarter")
        result = {
            "health": _columns(con, HEALTH_SQL),
            "churn": _columns(con, CHURN_SQL, [lead_days]),
            "churn_model": _churn_model_card(con),
            "cohorts": cohorts,
            "thresholds": _columns(con, "SELECT strftime(month, '%Y-%m') AS month, flag_threshold "
                                        "FROM ml.churn_flag_thresholds ORDER BY month"),
            "expansion": _lift_units(con),
            "forecast": _columns(con, "SELECT strftime(quarter_start, '%Y-%m-%d') AS quarter_start, variance "
                                      "FROM marts.expansion_forecast_accuracy ORDER BY quarter_start"),
            "alerts": _columns(con, "SELECT rule, alerts_with_outcome_observed, precision_churn_or_downgrade_180d, "
                                    "churned_contracts, alerted_60d_before FROM marts.alert_quality ORDER BY rule"),
            "coaching": _columns(con, "SELECT insight, n_treated, n_control, churn_rate_treated, churn_rate_control, "
                                      "effect_pp, p_value, significant FROM marts.coaching_insights"),
        }
    finally:
        con.close()
    oracle = oracle_forecast_variance(raw, warehouse)
    result["cohorts"]["oracle_variance_pp"] = [None if v != v else float(v) for v in oracle.oracle_variance_pp]
    result["facts"] = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in world_facts(raw).items()}
    return result
