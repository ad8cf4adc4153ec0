"""Headline facts of a generated world, measured from its files with DuckDB.

Printed after `csm-analytics generate`, quoted in docs/world.md and asserted in
tests, so the claimed base rates and signal strength are always measured.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import numpy as np
from sklearn.metrics import roc_auc_score

from csm_analytics.world.generator import MANIFEST, TRUTH_DIR


def _as_of(raw: Path) -> dt.date:
    return dt.date.fromisoformat(json.loads((raw / MANIFEST).read_text())["spec"]["as_of"])


def world_facts(raw: Path) -> dict[str, float]:
    raw = Path(raw)
    as_of = _as_of(raw)
    year_ago = as_of - dt.timedelta(days=365)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW contracts AS SELECT * FROM read_parquet('{raw / 'contracts.parquet'}')")
    con.execute(f"CREATE VIEW truth AS SELECT * FROM read_parquet('{raw / TRUTH_DIR / 'contract_truth.parquet'}')")
    logo = con.execute(
        """
        WITH book AS (
            SELECT DISTINCT account_id FROM contracts WHERE start_date <= $y AND end_date >= $y),
        lost AS (
            SELECT DISTINCT account_id FROM contracts
            WHERE renewal_outcome = 'churned' AND end_date >= $y AND end_date < $a)
        SELECT count(*), count(lost.account_id) FROM book LEFT JOIN lost USING (account_id)
        """, {"y": year_ago, "a": as_of}).fetchall()[0]
    nrr = con.execute(
        """
        WITH t0 AS (SELECT account_id, arr FROM contracts WHERE start_date <= $y AND end_date >= $y),
             t1 AS (SELECT account_id, arr FROM contracts WHERE start_date <= $a AND end_date >= $a)
        SELECT sum(t1.arr) / (SELECT sum(arr) FROM t0) FROM t0 LEFT JOIN t1 USING (account_id)
        """, {"y": year_ago, "a": as_of}).fetchall()[0][0]
    rows = con.execute(
        "SELECT t.p_churn, (c.renewal_outcome = 'churned')::INT FROM contracts c JOIN truth t USING (contract_id) "
        "WHERE c.renewal_outcome IS NOT NULL").fetchall()
    p = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    return {
        "accounts_at_start_of_year": logo[0],
        "annual_logo_churn": logo[1] / logo[0],
        "nrr_trailing_12m": float(nrr),
        "renewals_decided": len(y),
        "churn_per_renewal": float(y.mean()),
        "oracle_churn_auc": float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan"),
    }


ORACLE_COLUMNS = ["cohort_quarter", "contracts", "actual_churn", "predicted_churn", "variance_pp", "variance_noise_pp",
                  "oracle_predicted_churn", "oracle_variance_pp"]


def oracle_forecast_variance(raw: Path, warehouse: Path, config=None):
    """The renewal-forecast cohorts of `marts.renewal_forecast_accuracy`, beside what the generator's true churn
    probabilities would have predicted for the same contracts (oracle_variance_pp).

    A cohort holds a few dozen renewals, so even a perfect forecast misses the actual churn by several points; this
    says how much of the backtest's per-cohort variance no model could remove. It reads the ground truth, so it is a
    diagnostic for docs and tests only: no asset calls it. Reads a materialized warehouse (raw.contracts and
    ml.churn_snapshots), read-only.
    """
    from csm_analytics.churn.backtest import forecast_accuracy_sql
    from csm_analytics.churn.config import load_churn_config

    truth = Path(raw) / TRUTH_DIR / "contract_truth.parquet"
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        sql = forecast_accuracy_sql(config or load_churn_config(), oracle=f"read_parquet('{truth}')")
        return con.execute(sql).df()[ORACLE_COLUMNS]
    finally:
        con.close()
