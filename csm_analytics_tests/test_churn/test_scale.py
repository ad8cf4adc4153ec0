"""Big-world mechanics of the churn domain: the training sample, the sparse spine, chunked scoring.

Each must leave the default world's results exactly as they were (it is below every [scale] threshold)
and give the same rows however the work is chunked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil

import duckdb
import pandas as pd
import pytest

from csm_analytics.churn import scoring
from csm_analytics.churn.assets import _latest_model
from csm_analytics.churn.config import DEFAULT_CONFIG, ChurnConfigError, load_churn_config
from csm_analytics.churn.features import TRAJECTORY_FEATURES, features_sql
from csm_analytics.churn.sampling import stratified_sample_sql, training_accounts
from csm_analytics.health.config import DEFAULT_CONFIG as HEALTH_DEFAULT, load_health_config
from csm_analytics_tests.fixtures import empty_raw_warehouse, insert
from csm_analytics_tests.fixtures import assert_same_snapshots
from csm_analytics_tests.fixtures import run_churn as _run

CONFIG = load_churn_config(DEFAULT_CONFIG)


def test_shipped_scale_settings_and_their_validation(tmp_path):
    assert (CONFIG.sample_above_accounts, CONFIG.training_sample_accounts, CONFIG.score_chunk_rows,
            CONFIG.driver_accounts, CONFIG.stage_account_days) == (50_000, 2_000, 100_000, 10_000, 1_000_000)
    text = DEFAULT_CONFIG.read_text()
    without = tmp_path / "no_scale.toml"
    without.write_text(text[:text.index("[scale]")])
    assert load_churn_config(without).training_sample_accounts == 2_000  # the section is optional
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("training_sample_accounts = 2000", "training_sample_accounts = 90000"))
    with pytest.raises(ChurnConfigError, match=r"\[scale\] needs 0 < training_sample_accounts <= sample_above"):
        load_churn_config(bad)


@pytest.fixture
def strata(tmp_path):
    """40 accounts: Core 30 (6 ever churned), Growth 10 (2 ever churned)."""
    con = empty_raw_warehouse(tmp_path / "wh.duckdb")
    accounts, contracts = [], []
    for i in range(40):
        tier = "Core" if i < 30 else "Growth"
        churned = i < 6 or 30 <= i < 32
        accounts.append(dict(account_id=f"A{i:02d}", account_name=f"A{i:02d}", tier=tier))
        contracts.append(dict(contract_id=f"C{i:02d}", account_id=f"A{i:02d}", start_date=dt.date(2025, 1, 1),
                              end_date=dt.date(2025, 12, 31), renewal_outcome="churned" if churned else "renewed"))
    insert(con, "accounts", accounts)
    insert(con, "contracts", contracts)
    return con


def test_stratified_sample_keeps_each_stratum_in_proportion(strata):
    # 10 of 40 = a quarter of each stratum, rounded up: Core churned 6 -> 2, Core kept 24 -> 6,
    # Growth churned 2 -> 1, Growth kept 8 -> 2
    picked = strata.execute(f"""
        SELECT a.tier, k.renewal_outcome, count(*) FROM ({stratified_sample_sql(10)}) s
        JOIN raw.accounts a USING (account_id) JOIN raw.contracts k USING (account_id) GROUP BY ALL ORDER BY ALL
    """).fetchall()
    assert picked == [("Core", "churned", 2), ("Core", "renewed", 6), ("Growth", "churned", 1), ("Growth", "renewed", 2)]
    first = strata.execute(stratified_sample_sql(10) + " ORDER BY 1").fetchall()
    assert strata.execute(stratified_sample_sql(10) + " ORDER BY 1").fetchall() == first  # same accounts every run


def test_sample_applies_only_above_the_threshold(strata):
    assert training_accounts(strata, CONFIG) == (None, 40, 40)
    small = dataclasses.replace(CONFIG, sample_above_accounts=39, training_sample_accounts=10)
    select, used, total = training_accounts(strata, small)
    assert (used, total) == (11, 40)
    assert strata.execute(f"SELECT count(*) FROM ({select})").fetchall() == [(11,)]


def test_day_batches_bound_the_account_days_of_one_pass(strata):
    days = [(dt.date(2026, 1, d), dt.date(2026, 1, e)) for d, e in ((1, 2), (3, 4), (5, 5))]
    assert scoring.day_batches(strata, dt.date(2026, 1, 1), dt.date(2026, 1, 5),
                               dataclasses.replace(CONFIG, stage_account_days=80)) == days  # 40 accounts: 2 days
    assert scoring.day_batches(strata, dt.date(2026, 1, 1), dt.date(2026, 1, 5),
                               dataclasses.replace(CONFIG, stage_account_days=10)) == [
        (dt.date(2026, 1, d), dt.date(2026, 1, d)) for d in range(1, 6)]  # never less than a day
    assert len(scoring.day_batches(strata, dt.date(2024, 10, 1), dt.date(2026, 9, 30), CONFIG)) == 1


@pytest.fixture
def warehouse(churned, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(churned[1], path)
    return path


def test_sparse_sampled_spine_equals_the_dense_features_filtered(warehouse):
    health = load_health_config(HEALTH_DEFAULT)
    con = duckdb.connect(str(warehouse))
    start, end = dt.date(2026, 1, 5), dt.date(2026, 3, 1)
    some = "SELECT account_id FROM raw.accounts WHERE account_id <= (SELECT quantile_disc(account_id, 0.3) FROM raw.accounts)"
    sparse = con.execute(features_sql(start, end, health, 7, some)).df()
    dense = con.execute(f"SELECT * FROM ({features_sql(start, end, health, 7)}) WHERE account_id IN ({some}) "
                        "ORDER BY snapshot_date, account_id").df()
    assert len(sparse) > 300 and sparse.snapshot_date.dt.dayofweek.nunique() == 1  # every 7th day from a Monday
    pd.testing.assert_frame_equal(sparse, dense)


def test_chunked_predictions_equal_the_asset_and_big_worlds_name_fewer_drivers(warehouse):
    health = load_health_config(HEALTH_DEFAULT)
    con = duckdb.connect(str(warehouse))
    table = con.execute("SELECT * EXCLUDE (model_version) FROM ml.churn_predictions ORDER BY account_id").df()
    model, card = _latest_model(con, None)  # the newest version in ml.churn_model_versions
    rows = scoring.stage_features(con, features_sql(dt.date(2026, 9, 30), dt.date(2026, 9, 30), health))
    active = con.execute("SELECT count(DISTINCT account_id) FROM raw.contracts "  # under contract on 2026-09-30
                         "WHERE DATE '2026-09-30' BETWEEN start_date AND end_date").fetchall()[0][0]
    assert rows == len(table) == active > 0
    threshold = float(table.flag_threshold.iloc[0])  # the learned threshold the asset used
    chunked, covered = scoring.predictions(con, model, card.version, dataclasses.replace(CONFIG, score_chunk_rows=25),
                                           threshold)
    assert covered == "every account"
    got = chunked.drop(columns="model_version").sort_values("account_id").reset_index(drop=True)
    got["as_of_date"] = pd.to_datetime(got.as_of_date)
    pd.testing.assert_frame_equal(got, table, check_dtype=False)

    big = dataclasses.replace(CONFIG, score_chunk_rows=25, sample_above_accounts=100, training_sample_accounts=50,
                              driver_accounts=30)
    few, covered = scoring.predictions(con, model, card.version, big, threshold)
    assert covered.startswith("the 30 accounts with the most revenue at risk")
    named = few[few.top_drivers.notna()]
    assert list(named.account_id) == list(few.account_id[:30])  # the 30 highest revenue at risk
    expected = table.set_index("account_id").top_drivers
    assert all(expected[a] == d for a, d in zip(named.account_id, named.top_drivers))
    assert few.churn_probability.tolist() == chunked.churn_probability.tolist()


def test_replay_scored_in_chunks_equals_one_frame(warehouse, churned, tmp_path):
    _, _, models = churned
    small_chunks = tmp_path / "churn.toml"
    small_chunks.write_text(DEFAULT_CONFIG.read_text().replace("score_chunk_rows = 100000", "score_chunk_rows = 37")
                            .replace("stage_account_days = 1000000", "stage_account_days = 500"))  # 2 days a pass
    query = ("SELECT account_id, snapshot_date, churn_probability, model_trained_through, training_rows "
             "FROM ml.churn_snapshots WHERE snapshot_date BETWEEN '2026-02-25' AND '2026-03-03' ORDER BY ALL")
    before = duckdb.connect(str(warehouse), read_only=True).execute(query).fetchall()
    assert len(before) > 37 * 3 and len({r[3] for r in before}) == 2  # spans two months, so two replay models
    from csm_analytics.churn.assets import churn_assets
    snapshots = [a for a in churn_assets if any(k.path[-1] == "churn_snapshots" for k in a.keys)]
    assert _run(warehouse, models, snapshots, "2026-02-25", "2026-03-03", config_path=small_chunks).success
    assert_same_snapshots(duckdb.connect(str(warehouse), read_only=True).execute(query).fetchall(), before)
    account_days = duckdb.connect(str(warehouse), read_only=True).execute(  # one snapshot per account under contract a day
        "SELECT count(DISTINCT (account_id, CAST(d AS DATE))) FROM raw.contracts, "
        "range(DATE '2026-02-25', DATE '2026-03-04', INTERVAL 1 DAY) t(d) WHERE d BETWEEN start_date AND end_date").fetchall()[0][0]
    assert len(before) == account_days


def test_big_worlds_score_without_the_trajectory_features_and_nothing_else_changes(warehouse):
    health = load_health_config(HEALTH_DEFAULT)
    con = duckdb.connect(str(warehouse))
    start, end = dt.date(2026, 3, 2), dt.date(2026, 3, 30)
    full = con.execute(features_sql(start, end, health, 7)).df()
    short = con.execute(features_sql(start, end, health, 7, trajectory=False)).df()
    assert len(full) > 500 and (full[TRAJECTORY_FEATURES].notna().mean() > 0.5).all()  # NULL only without history
    assert short[TRAJECTORY_FEATURES].isna().all(axis=None)
    pd.testing.assert_frame_equal(short.drop(columns=TRAJECTORY_FEATURES), full.drop(columns=TRAJECTORY_FEATURES))
