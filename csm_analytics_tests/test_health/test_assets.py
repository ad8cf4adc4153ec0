"""The health assets on the default world: checks, meaning, idempotency and retuning."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb

from csm_analytics.health.assets import health_assets
from csm_analytics.health.config import DEFAULT_CONFIG
from csm_analytics_tests.fixtures import run_health as _run


def test_backfill_is_one_run_and_checks_pass(scored):
    result, warehouse = scored
    checks = {(c.asset_key.path[-1], c.check_name): c.passed for c in result.get_asset_check_evaluations()}
    for name in ("scores_in_0_100", "no_duplicate_account_day", "coverage_of_active_accounts"):
        assert [v for (a, n), v in checks.items() if n == name] == [True], name
    con = duckdb.connect(str(warehouse), read_only=True)
    days = con.execute("SELECT count(DISTINCT as_of_date), min(as_of_date), max(as_of_date) FROM core.account_health_history").fetchall()
    assert days == [(730, dt.date(2024, 10, 1), dt.date(2026, 9, 30))]


def test_score_predicts_churn_or_downgrade(scored):
    result, _ = scored
    meta = result.asset_materializations_for_node("core__account_health_score")[0].metadata
    auc = meta["renewal_auc_60d_before_end"].value
    assert auc >= 0.75
    print(f"health score ROC AUC 60 days before the end: {auc:.3f}")


def test_scores_fall_for_accounts_made_to_deteriorate(scored, default_world):
    _, warehouse = scored
    con = duckdb.connect(str(warehouse), read_only=True)
    drops = dict(con.execute(
        f"""SELECT t.trajectory, avg(after.health_score - before.health_score)
            FROM read_parquet('{default_world / '_truth' / 'account_truth.parquet'}') t
            JOIN core.account_health_history before ON before.account_id = t.account_id AND before.as_of_date = t.onset_date - 7
            JOIN core.account_health_history after ON after.account_id = t.account_id AND after.as_of_date = t.onset_date + 200
            GROUP BY t.trajectory""").fetchall())
    assert drops["deteriorating"] <= -10
    assert drops["deteriorating"] < drops["stable"] - 10 and drops["improving"] > drops["stable"]


def test_rematerializing_a_day_replaces_it(scored, default_world):
    _, warehouse = scored
    day = "2025-06-15"
    con = duckdb.connect(str(warehouse), read_only=True)
    query = ("SELECT (SELECT count(*) FROM core.account_health_history), list((account_id, health_score) "
             "ORDER BY account_id) FROM core.account_health_history WHERE as_of_date = ?")
    before = con.execute(query, [day]).fetchall()
    con.close()
    history = [a for a in health_assets if a.key.path[-1] in ("account_health_components", "account_health_history")]
    assert _run(default_world, warehouse, history, day, day).success
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute(query, [day]).fetchall() == before


def test_retuning_is_a_config_edit(scored, default_world, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(scored[1], warehouse)  # the session's scored warehouse stays untouched
    tuned = tmp_path / "health.toml"
    tuned.write_text(DEFAULT_CONFIG.read_text().replace("[weights.Core]\nusage = 28\nengagement = 4",
                                                        "[weights.Core]\nusage = 8\nengagement = 24"))
    day = "2026-09-30"
    con = duckdb.connect(str(warehouse), read_only=True)
    before = dict(con.execute("SELECT account_id, health_score FROM core.account_health_history "
                              "WHERE as_of_date = ? AND tier = 'Core'", [day]).fetchall())
    con.close()
    assets = [a for a in health_assets if a.key.path[-1] in ("health_weights", "account_health_history")]
    assert _run(default_world, warehouse, assets, day, day, config_path=tuned).success
    con = duckdb.connect(str(warehouse), read_only=True)
    after = dict(con.execute("SELECT account_id, health_score FROM core.account_health_history "
                             "WHERE as_of_date = ? AND tier = 'Core'", [day]).fetchall())
    assert after.keys() == before.keys() and any(abs(after[k] - before[k]) > 1 for k in after)
