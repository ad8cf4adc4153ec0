"""The pandas reference (the bench baseline) and the SQL give the same health score on every account of the
default world, whether the reference reads the windows only (as the bench does) or whole tables."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from csm_analytics.health.config import COMPONENTS, DEFAULT_CONFIG, load_health_config
from csm_analytics.health.pandas_reference import health_components_pandas, health_score_pandas, read_raw


@pytest.mark.parametrize("day", [dt.date(2025, 3, 17), dt.date(2026, 9, 30)])
def test_pandas_and_sql_agree_on_every_account(scored, default_world, day):
    _, warehouse = scored
    config = load_health_config(DEFAULT_CONFIG)
    con = duckdb.connect(str(warehouse), read_only=True)
    sql = con.execute(f"""SELECT c.account_id, {', '.join('c.' + x for x in COMPONENTS)}, h.health_score
                          FROM core.account_health_components c JOIN core.account_health_history h USING (account_id, as_of_date)
                          WHERE as_of_date = ?""", [day]).df().set_index("account_id").sort_index()
    windowed = health_components_pandas(read_raw(default_world, day), day, config).sort_index()
    whole = health_components_pandas(read_raw(default_world), day, config).sort_index()
    assert len(sql) > 150 and list(windowed.index) == list(sql.index) == list(whole.index)
    for component in COMPONENTS:
        left, right = windowed[component].astype(float), sql[component].astype(float)
        assert (left.isna() == right.isna()).all(), component
        assert (left - right).abs().max() <= 0.011, component  # both round each component to 2 decimals
        assert windowed[component].equals(whole[component]), component  # reading only the windows changes nothing
    score = health_score_pandas(windowed, config)
    assert (score - sql.health_score).abs().max() <= 0.011  # the score, rounded to 2 decimals on both sides
