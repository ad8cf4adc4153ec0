"""The plain-pandas reference (the bench baseline) and the SQL agree to the cent on the default world."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from csm_analytics.health.config import COMPONENTS, DEFAULT_CONFIG, load_health_config
from csm_analytics.health.pandas_reference import health_components_pandas, health_score_pandas, read_raw


@pytest.mark.parametrize("day", [dt.date(2025, 3, 17), dt.date(2026, 9, 30)])
def test_pandas_and_sql_agree(scored, default_world, day):
    _, warehouse = scored
    config = load_health_config(DEFAULT_CONFIG)
    pandas_components = health_components_pandas(read_raw(default_world), day, config)
    pandas_score = health_score_pandas(pandas_components, config)
    con = duckdb.connect(str(warehouse), read_only=True)
    sql = con.execute(f"""SELECT c.account_id, {', '.join('c.' + x for x in COMPONENTS)}, h.health_score
                          FROM core.account_health_components c JOIN core.account_health_history h USING (account_id, as_of_date)
                          WHERE as_of_date = ?""", [day]).df().set_index("account_id").sort_index()
    assert list(pandas_components.sort_index().index) == list(sql.index)
    for component in COMPONENTS:
        left = pandas_components.sort_index()[component].astype(float)
        right = sql[component].astype(float)
        diff = (left - right).abs()
        assert ((diff <= 0.011) | (left.isna() & right.isna())).all(), (component, diff[diff > 0.011].head(), left[left.isna() != right.isna()].head())
    assert np.allclose(pandas_score.sort_index(), sql.health_score, atol=0.02)
    assert isinstance(pandas_score, pd.Series)
