"""The IBM Telco import: quarantine of bad rows, canonical tables that load, and the model's CV scores."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from csm_analytics.canonical.schemas import CANONICAL_TABLES
from csm_analytics.churn import telco
from csm_analytics.sources.validation import load_table

TELCO = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "telco" / "Telco-Customer-Churn.csv"
pytestmark = pytest.mark.skipif(not TELCO.exists(), reason=f"{TELCO} is not present")


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    out = tmp_path_factory.mktemp("telco")
    run = subprocess.run([sys.executable, "-m", "csm_analytics", "import", "telco", str(TELCO), "--out", str(out),
                          "--skip-evaluation"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return out, run.stdout


def test_blank_total_charges_are_quarantined_not_dropped(imported):
    out, stdout = imported
    assert "7,043 rows read, 7,032 loaded, 11 quarantined" in stdout
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    rows = con.execute("SELECT reasons, row_payload->>'$.tenure' FROM raw.rejected_rows WHERE table_name = 'telco_customers'").fetchall()
    assert len(rows) == 11
    assert all(r[0] == ["TotalCharges: expected DOUBLE, got ' '"] and r[1] == "0" for r in rows)


def test_canonical_tables_load_through_the_sources_validation(imported):
    out, _ = imported
    con = duckdb.connect()
    loaded = {t: load_table(con, t, out / "raw", dt.datetime(2026, 10, 1)) for t in CANONICAL_TABLES}
    assert loaded["accounts"].rows_loaded == loaded["contracts"].rows_loaded == 7032
    assert sum(r.rows_rejected for r in loaded.values()) == 0
    churned = con.execute("SELECT count(*) FROM raw.contracts WHERE renewal_outcome = 'churned'").fetchall()[0][0]
    assert churned == 1869  # Churn = Yes among the 7,032 valid customers


def test_cross_validated_scores(imported):
    """Behaviour, not a quality bar: every model ranks churners above stayers far better than chance and beats
    the constant base-rate forecast on Brier score. The measured figures (headline ROC AUC 0.8503, Brier 0.1330
    on shuffle seed 0; 0.8492-0.8511 over shuffles 0-4) are in docs/churn.md; whether they meet the 0.85 target
    is for an evaluation pooled with intervals, not for a bar set at the measured value."""
    out, _ = imported
    customers = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True).execute(
        "SELECT * FROM raw.telco_customers").df()
    results = telco.evaluate(customers)
    assert set(results) == {"logistic_regression", "hist_gradient_boosting", "blend", telco.HEADLINE}
    headline = results[telco.HEADLINE]
    assert len(headline["chosen"]) == 5 and set(headline["chosen"]) <= set(results)
    assert headline["rows"] == 7032 and headline["positives"] == 1869
    base = 1869 / 7032
    base_rate_brier = base * (1 - base)  # always forecasting the churn rate: 0.195
    assert all(r["roc_auc"] > 0.75 and r["brier"] < base_rate_brier for r in results.values())
