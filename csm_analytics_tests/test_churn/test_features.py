"""Point-in-time features: nothing dated on or after the snapshot day can change them."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pandas as pd
import pytest

from csm_analytics.churn.features import FEATURES, features_sql, labelled_sql
from csm_analytics.health.config import DEFAULT_CONFIG, load_health_config

D = dt.date(2026, 3, 15)


def _features(con) -> pd.DataFrame:
    return con.execute(features_sql(D, D, load_health_config(DEFAULT_CONFIG))).df().set_index("account_id")[FEATURES]


@pytest.fixture
def warehouse(scored, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(scored[1], path)
    return path


def test_data_on_or_after_the_snapshot_day_leaves_features_unchanged(warehouse):
    con = duckdb.connect(str(warehouse))
    before = _features(con)
    assert len(before) > 150
    account = before.index[0]
    # the future arrives: outcomes, escalations, failed payments, NPS, usage collapse, incidents, QBRs
    con.execute("UPDATE raw.contracts SET renewal_outcome = 'churned' WHERE end_date >= ?", [D])
    con.execute("UPDATE raw.product_usage SET active_users = 0, key_feature_events = 0 WHERE usage_date >= ?", [D])
    con.execute("UPDATE raw.survey_responses SET score = 0 WHERE response_date >= ?", [D])
    con.execute("UPDATE raw.support_tickets SET resolved_at = NULL, escalated = true WHERE opened_at >= ?", [D])
    con.execute("UPDATE raw.invoices SET failed_payment = true, paid_date = NULL WHERE due_date >= ?", [D])
    con.execute("""INSERT INTO raw.support_tickets VALUES ('FUTURE-T', ?, ?, NULL, 'urgent', true, 1),
                                                          ('FUTURE-T2', ?, ?, ?, 'urgent', true, 1)""",
                [account, dt.datetime.combine(D, dt.time(0, 1)), account, dt.datetime.combine(D, dt.time(9)),
                 dt.datetime.combine(D, dt.time(10))])
    con.execute("INSERT INTO raw.incidents VALUES ('FUTURE-I', ?, ?, 'payroll_error', 'critical', 'x')",
                [account, dt.datetime.combine(D, dt.time(0, 0))])
    con.execute("INSERT INTO raw.activities VALUES ('FUTURE-A', 'CSM01', ?, 'call', ?, 30, 'Legal')", [account, D])
    con.execute("INSERT INTO raw.qbrs VALUES ('FUTURE-Q', ?, 'CSM01', ?, 'x', 'x', 'Legal;Finance', 10, true, true)", [account, D])
    after = _features(con)
    pd.testing.assert_frame_equal(before, after)


def test_data_before_the_snapshot_day_does_change_them(warehouse):
    """The converse, so the test above cannot pass by ignoring everything."""
    con = duckdb.connect(str(warehouse))
    before = _features(con)
    con.execute("UPDATE raw.survey_responses SET score = 0 WHERE response_date = ? AND survey_type = 'NPS'",
                [D - dt.timedelta(days=1)])
    con.execute("UPDATE raw.product_usage SET key_feature_events = 0 WHERE usage_date = ?", [D - dt.timedelta(days=1)])
    after = _features(con)
    assert not before.equals(after)


def test_labels(warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    frame = con.execute(labelled_sql(features_sql(D, D, load_health_config(DEFAULT_CONFIG)), 180)).df()
    contracts = con.execute("SELECT contract_id, end_date, renewal_outcome FROM raw.contracts").df().set_index("contract_id")
    for row in frame.itertuples():
        end, outcome = contracts.loc[row.contract_id, "end_date"], contracts.loc[row.contract_id, "renewal_outcome"]
        within = (end - pd.Timestamp(D)).days <= 180
        assert row.churned == int(within and outcome == "churned")
        assert row.downgraded == int(within and outcome == "downgraded")
        assert row.label_known == (outcome is not None or not within)


def test_qbr_shortfall_counts_qbrs_held_in_the_past_year(warehouse):
    con = duckdb.connect(str(warehouse))
    before = _features(con)
    account = before[before.tenure_days >= 365].index[0]
    cadence = load_health_config(DEFAULT_CONFIG).targets[before.loc[account, "tier"]].qbr_every_days
    expected = 365 // cadence  # QBRs the tier cadence asks for in a year
    con.execute("DELETE FROM raw.qbrs WHERE account_id = ?", [account])
    assert _features(con).loc[account, "qbr_shortfall_365d"] == expected
    qbr = "INSERT INTO raw.qbrs VALUES (?, ?, 'CSM01', ?, 'x', 'x', 'Finance', 9, false, false)"
    con.execute(qbr, ["Q-IN", account, D - dt.timedelta(days=365)])  # inside the year before D
    con.execute(qbr, ["Q-OUT", account, D - dt.timedelta(days=366)])  # one day too early
    assert _features(con).loc[account, "qbr_shortfall_365d"] == expected - 1
