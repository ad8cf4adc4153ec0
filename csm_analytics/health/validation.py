"""Does the score mean something? Measured against renewal outcomes in the warehouse."""

from __future__ import annotations

import duckdb
from sklearn.metrics import roc_auc_score

from csm_analytics.health.config import band_rank

LEAD_DAYS = 60


def renewal_outcomes_at_lead(con: duckdb.DuckDBPyConnection, lead_days: int = LEAD_DAYS):
    """Score and band `lead_days` before each decided contract end, with whether it churned or downgraded."""
    return con.execute(
        f"""SELECT c.contract_id, h.health_score, h.band,
                   (c.renewal_outcome IN ('churned', 'downgraded'))::INT AS lost_revenue
            FROM raw.contracts c
            JOIN core.account_health_history h
              ON h.account_id = c.account_id AND h.as_of_date = c.end_date - {lead_days}
            WHERE c.renewal_outcome IS NOT NULL"""
    ).df()


def score_auc(con: duckdb.DuckDBPyConnection, lead_days: int = LEAD_DAYS) -> dict:
    """ROC AUC of (100 - score) taken `lead_days` before the end, against churn-or-downgrade at that renewal."""
    df = renewal_outcomes_at_lead(con, lead_days)
    positives = int(df.lost_revenue.sum()) if len(df) else 0
    auc = roc_auc_score(df.lost_revenue, 100 - df.health_score) if 0 < positives < len(df) else None
    by_band = (df.groupby("band").lost_revenue.agg(["count", "mean"]).reset_index() if len(df) else df)
    return {"auc": auc, "renewals": len(df), "churned_or_downgraded": positives,
            "by_band": sorted([(r.band, int(r["count"]), round(float(r["mean"]), 3)) for _, r in by_band.iterrows()],
                              key=lambda row: band_rank(row[0]))}
