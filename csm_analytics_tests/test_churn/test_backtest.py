"""Renewal-forecast cohort arithmetic on a hand-built fixture, every number worked out by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import pandas as pd
import pytest

from csm_analytics.bench.diagnostics import oracle_forecast_variance
from csm_analytics.churn.backtest import flag_thresholds_sql, forecast_accuracy_sql
from csm_analytics.churn.config import DEFAULT_CONFIG, load_churn_config
from csm_analytics.world.generator import TRUTH_DIR
from csm_analytics_tests.fixtures import empty_raw_warehouse, insert


def _contract(cid, account, end, outcome):
    return dict(contract_id=cid, account_id=account, start_date=end - dt.timedelta(days=364), end_date=end,
                arr=1000.0, mrr=83.33, term_months=12, licensed_seats=5, renewal_outcome=outcome, downgrade_amount=0.0)


@pytest.fixture
def cohort_warehouse(tmp_path):
    config = dataclasses.replace(load_churn_config(DEFAULT_CONFIG), flag_threshold=0.25)
    assert (config.lead_days, config.horizon_days, config.flag_threshold) == (60, 180, 0.25)
    con = empty_raw_warehouse(tmp_path / "wh.duckdb")
    ends = {"A": dt.date(2025, 3, 31), "B": dt.date(2025, 2, 15), "C": dt.date(2025, 3, 1),
            "D": dt.date(2025, 5, 10), "E": dt.date(2025, 6, 30)}
    insert(con, "contracts", [
        _contract("C1", "A", ends["A"], "churned"),   # p 0.40 at -60: flagged, churned
        _contract("C2", "B", ends["B"], "renewed"),   # p 0.10 at -60 but 0.30 at -100: flagged, renewed
        _contract("C3", "C", ends["C"], "churned"),   # p 0.20 at -60, 0.90 at -30 (too late): not flagged
        _contract("C4", "D", ends["D"], "churned"),   # Q2: p 0.50 at -60: flagged, churned
        _contract("C5", "E", ends["E"], "renewed"),   # never scored at -60: not in any cohort
    ])
    con.execute("CREATE SCHEMA ml")
    con.execute("CREATE TABLE ml.churn_snapshots (account_id VARCHAR, snapshot_date DATE, churn_probability DOUBLE)")
    points = {"A": {60: 0.40, 120: 0.10}, "B": {60: 0.10, 100: 0.30}, "C": {60: 0.20, 30: 0.90, 150: 0.05},
              "D": {60: 0.50}, "E": {59: 0.99}}
    for account, by_lead in points.items():
        for days_before, p in by_lead.items():
            con.execute("INSERT INTO ml.churn_snapshots VALUES (?, ?, ?)",
                        [account, ends[account] - dt.timedelta(days=days_before), p])
    con.close()
    return tmp_path / "wh.duckdb", config


@pytest.fixture
def cohorts(cohort_warehouse):
    path, config = cohort_warehouse
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(forecast_accuracy_sql(config)).df().set_index("cohort_quarter")


def test_first_quarter_cohort(cohorts):
    q1 = cohorts.loc["2025-Q1"]
    assert (q1.contracts, q1.actually_churned, q1.flagged_60d_before_end, q1.flagged_churners) == (3, 2, 2, 1)
    assert q1.early_warning_rate == 0.5  # 1 flagged churner of 2 churners
    assert (q1.predicted_churn, q1.actual_churn) == (0.7, 2)  # 0.4 + 0.1 + 0.2
    assert q1.variance_pp == -43.33  # (0.7 - 2) / 3 x 100
    assert q1.variance_noise_pp == 23.33  # 100 x sqrt(0.4 x 0.6 + 0.1 x 0.9 + 0.2 x 0.8 = 0.49) / 3


def test_second_quarter_cohort_and_unscored_contracts(cohorts):
    assert list(cohorts.index) == ["2025-Q1", "2025-Q2"]  # C5 was never scored 60 days out
    q2 = cohorts.loc["2025-Q2"]
    assert (q2.contracts, q2.actually_churned, q2.flagged_churners, q2.early_warning_rate) == (1, 1, 1, 1.0)
    assert (q2.predicted_churn, q2.variance_pp, q2.variance_noise_pp) == (0.5, -50.0, 50.0)  # sqrt(0.5 x 0.5) = 0.5


def test_oracle_variance_reads_true_probabilities_for_the_same_cohorts(cohort_warehouse, tmp_path):
    """The generator's true p of C1..C5 (C5 is in no cohort: never scored 60 days out)."""
    path, config = cohort_warehouse
    truth = tmp_path / "raw" / TRUTH_DIR
    truth.mkdir(parents=True)
    pd.DataFrame({"contract_id": ["C1", "C2", "C3", "C4", "C5"], "p_churn": [0.6, 0.1, 0.5, 0.9, 0.3]}) \
        .to_parquet(truth / "contract_truth.parquet")
    table = oracle_forecast_variance(tmp_path / "raw", path, config).set_index("cohort_quarter")
    assert list(table.index) == ["2025-Q1", "2025-Q2"]
    assert list(table.oracle_predicted_churn) == [1.2, 0.9]  # 0.6 + 0.1 + 0.5; 0.9
    assert list(table.oracle_variance_pp) == [-26.67, -10.0]  # (1.2 - 2) / 3 x 100; (0.9 - 1) / 1 x 100
    assert list(table.variance_pp) == [-43.33, -50.0]  # the model's, unchanged


@pytest.fixture
def walk_forward(tmp_path):
    """Renewals X, Y, R, V resolve before May 2025 (R renewed); U churned too but was never scored 60 days out."""
    config = dataclasses.replace(load_churn_config(DEFAULT_CONFIG), flag_share=0.5, min_resolved_renewals=2,
                                 flag_threshold=0.25)
    con = empty_raw_warehouse(tmp_path / "wh.duckdb")
    ends = {"X": dt.date(2025, 1, 31), "Y": dt.date(2025, 1, 15), "R": dt.date(2025, 1, 20), "V": dt.date(2025, 3, 31),
            "U": dt.date(2025, 2, 10), "Z": dt.date(2025, 6, 30), "W": dt.date(2025, 6, 30)}
    outcomes = {"X": "churned", "Y": "churned", "R": "renewed", "V": "churned", "U": "churned", "Z": "churned",
                "W": "renewed"}
    insert(con, "contracts", [_contract(f"C{a}", a, ends[a], outcomes[a]) for a in ends])
    con.execute("CREATE SCHEMA ml")
    con.execute("CREATE TABLE ml.churn_snapshots (account_id VARCHAR, snapshot_date DATE, churn_probability DOUBLE)")
    points = {"X": {60: 0.30, 120: 0.10},  # peak 0.30 (2024-12-02)
              "Y": {60: 0.20, 90: 0.50},  # peak 0.50 (2024-10-17)
              "R": {60: 0.90},  # renewed: its peak counts in the flag budget like any renewal's
              "V": {100: 0.28, 60: 0.10},  # peak 0.28 on 2024-12-21
              "U": {90: 0.01},  # not scored at -60: excluded (else the May median would be 0.29)
              "Z": {60: 0.29},  # 2025-05-01: below May's learned 0.40, above the fixed 0.25
              "W": {60: 0.45}}
    for account, by_lead in points.items():
        for days_before, p in by_lead.items():
            con.execute("INSERT INTO ml.churn_snapshots VALUES (?, ?, ?)",
                        [account, ends[account] - dt.timedelta(days=days_before), p])
    return con, config


def test_walk_forward_thresholds(walk_forward):
    con, config = walk_forward
    table = con.execute(flag_thresholds_sql(config)).df().set_index("month")
    assert [m.strftime("%Y-%m") for m in table.index] == ["2024-10", "2024-11", "2024-12", "2025-01", "2025-05"]
    assert list(table.resolved_renewals) == [0, 0, 0, 0, 4]  # X, Y, R, V ended before May; U was never scored at -60
    assert list(table.resolved_churners) == [0, 0, 0, 0, 3]
    assert list(table.walk_forward) == [False, False, False, False, True]
    assert list(table.flag_threshold) == [0.25, 0.25, 0.25, 0.25, 0.40]  # median of peaks 0.28, 0.30, 0.50, 0.90


def test_each_day_is_flagged_against_its_own_month_threshold(walk_forward):
    con, config = walk_forward
    cohorts = con.execute(forecast_accuracy_sql(config)).df().set_index("cohort_quarter")
    q1, q2 = cohorts.loc["2025-Q1"], cohorts.loc["2025-Q2"]
    # Q1: X, Y, R, V all peak at or above the fixed 0.25 in months before any churner was resolved
    assert (q1.contracts, q1.actually_churned, q1.flagged_60d_before_end, q1.flagged_churners) == (4, 3, 4, 3)
    # Q2: Z's 0.29 misses May's learned 0.40; W's 0.45 is flagged (a false alarm)
    assert (q2.contracts, q2.actually_churned, q2.flagged_60d_before_end, q2.flagged_churners) == (2, 1, 1, 0)
    fixed = dataclasses.replace(config, min_resolved_renewals=100)  # never enough: always the fixed 0.25
    q2_fixed = con.execute(forecast_accuracy_sql(fixed)).df().set_index("cohort_quarter").loc["2025-Q2"]
    assert (q2_fixed.flagged_60d_before_end, q2_fixed.flagged_churners) == (2, 1)


def test_learned_threshold_is_a_flag_budget_over_earlier_renewals(walk_forward):
    """flag_share 0.25: May's threshold is the 75 % quantile of the four earlier peaks 0.28, 0.30, 0.50, 0.90,
    0.50 + 0.25 x (0.90 - 0.50) = 0.60, which would have flagged one of the four (R, a renewal: a false alarm)."""
    con, config = walk_forward
    table = con.execute(flag_thresholds_sql(dataclasses.replace(config, flag_share=0.25))).df().set_index("month")
    assert list(table.flag_threshold) == [0.25, 0.25, 0.25, 0.25, 0.60]
    assert table.learned_threshold.iloc[-1] == 0.60

def test_a_young_world_with_no_replayed_month_leaves_an_empty_typed_table_the_backtest_reads(tmp_path):
    """A world too young for any replayed month scores no snapshot. The empty frame's columns have no type; written
    as they were, ml.churn_snapshots got NULL-typed columns and churn_flag_thresholds failed with a binder error.
    Written through REPLAY_SELECT the table is typed, and the thresholds and the backtest are empty, not errors."""
    from csm_analytics.churn.backtest import REPLAY_COLUMNS, REPLAY_SELECT, thresholds_with_models_sql
    from csm_analytics.lib.warehouse import replace_date_range

    con = empty_raw_warehouse(tmp_path / "w.duckdb")
    insert(con, "contracts", [{"contract_id": "K1", "account_id": "A1", "start_date": dt.date(2025, 1, 1),
                               "end_date": dt.date(2026, 1, 1), "renewal_outcome": "churned"}])
    written = replace_date_range(con, "ml.churn_snapshots", "snapshot_date", dt.date(2026, 9, 14),
                                 dt.date(2026, 9, 27), REPLAY_SELECT, frame=pd.DataFrame(columns=REPLAY_COLUMNS))
    assert written == 0
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'churn_snapshots'").fetchall())
    assert types["snapshot_date"] == "DATE" and types["churn_probability"] == "DOUBLE"
    config = load_churn_config(DEFAULT_CONFIG)
    assert con.execute(thresholds_with_models_sql(config)).fetchall() == []
    thresholds = f"({thresholds_with_models_sql(config)})"
    assert con.execute(forecast_accuracy_sql(config, thresholds=thresholds)).fetchall() == []
