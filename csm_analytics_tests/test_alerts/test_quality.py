"""Alert quality per rule and response time against the SLA."""

from __future__ import annotations

import shutil

import duckdb
from dagster import DagsterInstance, materialize
from dagster_duckdb import DuckDBResource

from csm_analytics.alerts.assets import AlertOutboxResource, alert_events, alert_quality
from csm_analytics.alerts.quality import response_sla_rows


def test_response_sla_by_hand():
    rows = [
        {"severity": "critical", "sent_at": "2026-10-01T09:00:00+00:00", "acknowledged_at": "2026-10-01T11:00:00+00:00", "escalated_at": None},
        {"severity": "critical", "sent_at": "2026-10-01T09:00:00+00:00", "acknowledged_at": "2026-10-01T15:00:00+00:00", "escalated_at": "2026-10-01T13:00:00+00:00"},
        {"severity": "critical", "sent_at": "2026-10-01T09:00:00+00:00", "acknowledged_at": None, "escalated_at": None},
        {"severity": "critical", "sent_at": None, "acknowledged_at": None, "escalated_at": None},  # not delivered
    ]
    critical, warning = response_sla_rows(rows, {"critical": 4, "warning": 24})
    # 3 delivered; acks after 2 h and 6 h: median 4 h; 1 of 3 within 4 h
    assert critical == {"severity": "critical", "sla_hours": 4, "coverage": 3, "acknowledged": 2,
                        "median_hours_to_ack": 4.0, "pct_within_sla": 0.3333, "escalated": 1}
    assert warning["coverage"] == 0 and warning["median_hours_to_ack"] is None and warning["pct_within_sla"] is None


def test_alert_quality_on_the_default_world(tmp_path, scored):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(scored[1], warehouse)
    resources = {"duckdb": DuckDBResource(database=str(warehouse)),
                 "alert_outbox": AlertOutboxResource(path=str(tmp_path / "outbox.sqlite"))}
    assert materialize([alert_events, alert_quality], resources=resources, instance=DagsterInstance.ephemeral()).success
    con = duckdb.connect(str(warehouse), read_only=True)
    quality = con.execute("SELECT * FROM marts.alert_quality").df().set_index("rule")
    fired = con.execute("SELECT count(*) FROM alerts.alert_events").fetchall()[0][0]
    assert quality.loc["all rules", "alerts_fired"] == fired == quality.drop("all rules").alerts_fired.sum()
    assert (quality.recall_60d_before <= quality.loc["all rules", "recall_60d_before"]).all()
    for col in ("pct_followed_up_7d", "precision_churn_or_downgrade_180d", "recall_60d_before"):
        assert quality[col].dropna().between(0, 1).all()
    # alerts are worth something: alerted accounts lose revenue far more often than the base rate
    base = con.execute("""SELECT avg((renewal_outcome IN ('churned', 'downgraded'))::INT) FROM raw.contracts
                          WHERE renewal_outcome IS NOT NULL""").fetchall()[0][0]
    assert quality.loc["at_risk_renewal", "precision_churn_or_downgrade_180d"] > 2 * base
