"""Scorecard fairness: the same losses from a harder book earn a better retention score."""

from __future__ import annotations

import datetime as dt

from csm_analytics.portfolio.scorecard import SCORECARD_SQL, strengths_and_gaps
from csm_analytics_tests.fixtures import empty_raw_warehouse

Q = dt.date(2025, 12, 31)
T0 = dt.date(2025, 1, 1)


def test_retention_is_judged_against_the_books_expected_churn(tmp_path):
    con = empty_raw_warehouse(tmp_path / "wh.duckdb")
    # HARD: 4 At-risk accounts, loses 2. EASY: 4 Healthy accounts, loses 2. MIXED: 4 Healthy (keeps all) and
    # 4 At-risk (loses all). Team loss rates by band at t0: At risk 6/8 = 0.75, Healthy 2/8 = 0.25.
    books = {"HARD": [("At risk", 0)] * 2 + [("At risk", 1)] * 2, "EASY": [("Healthy", 0)] * 2 + [("Healthy", 1)] * 2,
             "MIXED": [("Healthy", 1)] * 4 + [("At risk", 0)] * 4}
    cohorts, history, owners = [], [], []
    for csm, accounts in books.items():
        con.execute("INSERT INTO raw.csms VALUES (?, ?, 10, DATE '2020-01-01', 'M', 'UX')", [csm, csm])
        for i, (band, kept) in enumerate(accounts):
            account = f"{csm}-{i}"
            cohorts.append((Q, T0, account, csm, "Large", "Core", 100.0, 100.0 * kept, 0.0))
            history.append((account, T0, 80.0 if band == "Healthy" else 30.0, band))
            if kept:
                history.append((account, Q, 70.0, "Watch"))
            owners.append((account, csm, dt.date(2020, 1, 1), None))
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA core")
    con.execute("CREATE TABLE marts.retention_cohorts (quarter_end DATE, cohort_date DATE, account_id VARCHAR, csm_id VARCHAR, "
                "segment VARCHAR, tier VARCHAR, start_arr DOUBLE, end_arr DOUBLE, contraction_arr DOUBLE)")
    con.executemany("INSERT INTO marts.retention_cohorts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", cohorts)
    con.execute("CREATE TABLE core.account_health_history (account_id VARCHAR, as_of_date DATE, health_score DOUBLE, band VARCHAR)")
    con.executemany("INSERT INTO core.account_health_history VALUES (?, ?, ?, ?)", history)
    con.executemany("INSERT INTO raw.csm_assignments VALUES (?, ?, ?, ?)", owners)
    con.execute("CREATE TABLE marts.engagement_cadence (account_id VARCHAR, month DATE, csm_id VARCHAR, on_target BOOLEAN)")
    cards = con.execute(SCORECARD_SQL).df().set_index("csm_id")
    assert (cards.loc["HARD", "expected_lost"], cards.loc["EASY", "expected_lost"]) == (3.0, 1.0)
    assert cards.loc["HARD", "actual_lost"] == cards.loc["EASY", "actual_lost"] == 2
    assert cards.loc["HARD", "retention"] == 66.7  # 100 x (1 - 0.5 x 2/3)
    assert cards.loc["EASY", "retention"] == 0.0  # 100 x (1 - 0.5 x 2/1)
    assert cards.loc["MIXED", "retention"] == 50.0  # lost 4, expected 4 x 0.25 + 4 x 0.75 = 4


def test_strengths_and_gaps():
    row = {"portfolio_health": 80, "retention": 90, "expansion": 40, "activity_engagement": 60,
           "customer_satisfaction": 70, "efficiency": 70}
    team = {c: 70 for c in row}
    assert strengths_and_gaps(row, team) == (["retention", "portfolio_health"], ["expansion", "activity_engagement"])


def test_scorecard_asset_with_no_full_year_of_history(tmp_path):
    """A one-day backfill has no quarter with a full year: the asset writes an empty table on purpose."""
    import duckdb
    from dagster import DagsterInstance, materialize
    from dagster_duckdb import DuckDBResource

    from csm_analytics.portfolio.assets import csm_scorecard

    con = empty_raw_warehouse(tmp_path / "wh.duckdb")
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA core")
    con.execute("CREATE TABLE marts.retention_cohorts (quarter_end DATE, cohort_date DATE, account_id VARCHAR, "
                "csm_id VARCHAR, segment VARCHAR, tier VARCHAR, start_arr DOUBLE, end_arr DOUBLE, contraction_arr DOUBLE)")
    con.execute("CREATE TABLE core.account_health_history (account_id VARCHAR, as_of_date DATE, health_score DOUBLE, band VARCHAR)")
    con.execute("CREATE TABLE marts.engagement_cadence (account_id VARCHAR, month DATE, csm_id VARCHAR, on_target BOOLEAN)")
    con.close()
    result = materialize([csm_scorecard], resources={"duckdb": DuckDBResource(database=str(tmp_path / "wh.duckdb"))},
                         instance=DagsterInstance.ephemeral())
    assert result.success
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    columns = [r[0] for r in con.execute("DESCRIBE marts.csm_scorecard").fetchall()]
    assert con.execute("SELECT count(*) FROM marts.csm_scorecard").fetchall() == [(0,)]
    assert "strengths" in columns and "development_areas" in columns
