"""The tier targets are a declared input of the SQL that reads them, not a view the caller must create first."""

from __future__ import annotations

import dataclasses

import duckdb

from csm_analytics.health.config import TierTarget, load_health_config


def test_queries_read_the_targets_they_are_given():
    config = load_health_config()
    sql = config.with_tier_targets("SELECT tier, qbr_every_days FROM tier_targets ORDER BY tier")
    rows = dict(duckdb.connect().execute(sql).fetchall())
    assert rows == {tier: t.qbr_every_days for tier, t in config.targets.items()}


def test_a_query_without_targets_is_unchanged():
    assert load_health_config().with_tier_targets("SELECT 1") == "SELECT 1"


def test_a_tier_name_with_a_quote_stays_a_value():
    config = dataclasses.replace(load_health_config(), targets={"O'Brien": TierTarget(2.0, 90)})
    sql = config.with_tier_targets("SELECT tier, touches_per_month FROM tier_targets")
    assert duckdb.connect().execute(sql).fetchall() == [("O'Brien", 2.0)]
