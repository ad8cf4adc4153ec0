"""Scores, redistribution of NULL components, drivers, deltas and transitions, on hand-built rows."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from csm_analytics.health.config import COMPONENTS, load_health_config
from csm_analytics.health.scoring import history_sql, score_sql, transitions_sql, trend_update_sql

WEIGHTS = {"usage": 40, "support": 20, "payment": 20, "sentiment": 20}  # the other five weigh 0
D = dt.date(2026, 9, 30)


@pytest.fixture
def config(tmp_path):
    profile = "\n".join(f"{c} = {WEIGHTS.get(c, 0)}" for c in COMPONENTS)
    tiers = ["Strategic", "Enterprise", "Growth", "Core"]
    text = "[bands]\nhealthy = 75\nwatch = 55\n[tier_targets]\n"
    text += "\n".join(f"{t} = {{ touches_per_month = 1, qbr_every_days = 90 }}" for t in tiers)
    text += "".join(f"\n[weights.{t}]\n{profile}\n" for t in tiers)
    path = tmp_path / "health.toml"
    path.write_text(text)
    return load_health_config(path)


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA core")
    cols = ", ".join(f"{c} DOUBLE" for c in COMPONENTS)
    con.execute(f"CREATE TABLE core.account_health_components (account_id VARCHAR, as_of_date DATE, tier VARCHAR, {cols})")
    return con


def _component_row(con, account, day, **values):
    row = {c: 100.0 for c in COMPONENTS} | values
    con.execute(f"INSERT INTO core.account_health_components VALUES (?, ?, 'Core', {', '.join('?' * len(COMPONENTS))})",
                [account, day, *[row[c] for c in COMPONENTS]])


def _history(con, config, start, end):
    con.execute(f"CREATE OR REPLACE TABLE core.account_health_history AS {history_sql(start, end, config)}")
    con.execute(trend_update_sql(start, end))


def test_weighted_score_and_null_redistribution(con, config):
    # A: 0.4*50 + 0.2*100 + 0.2*0 + 0.2*75 = 55.0 -> Watch (55 is the Watch threshold)
    _component_row(con, "A", D, usage=50, support=100, payment=0, sentiment=75)
    # B: payment unknown -> weights 40/20/20 scale to 50/25/25: 0.5*50 + 0.25*100 + 0.25*75 = 68.75
    _component_row(con, "B", D, usage=50, support=100, payment=None, sentiment=75)
    _history(con, config, D, D)
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT account_id, health_score, band, pts_usage, lost_usage, pts_payment, lost_sentiment "
        "FROM core.account_health_history").fetchall()}
    assert rows["A"] == (55.0, "Watch", 20.0, 20.0, 0.0, 5.0)
    assert rows["B"] == (68.75, "Watch", 25.0, 25.0, None, 6.25)


def test_score_drivers_and_deltas(con, config):
    _component_row(con, "A", D - dt.timedelta(days=30), usage=100, support=100, payment=100, sentiment=100)
    _component_row(con, "A", D - dt.timedelta(days=7), usage=80, support=100, payment=100, sentiment=100)
    _component_row(con, "A", D, usage=50, support=100, payment=0, sentiment=75)
    _history(con, config, D - dt.timedelta(days=30), D)
    row = con.execute(f"SELECT * FROM ({score_sql()})").df().iloc[0]
    assert (row.health_score, row.band) == (55.0, "Watch")
    # lost points: usage 40-20 = 20, payment 20, sentiment 5 -> payment and usage tie, broken by name
    assert [row.driver_1, row.driver_2, row.driver_3] == ["payment (-20.0)", "usage (-20.0)", "sentiment (-5.0)"]
    assert (row.score_7d_ago, row.delta_7d) == (92.0, -37.0)  # 0.4*80 + 60 = 92
    assert row.moved_7d == "payment -20.0, usage -12.0, sentiment -5.0"
    assert (row.score_30d_ago, row.delta_30d) == (100.0, -45.0)


def test_trend_is_the_30_day_slope(con, config):
    for i in range(30):  # usage falls by 1 point a day -> score falls by 0.4 a day
        _component_row(con, "A", D - dt.timedelta(days=29 - i), usage=100 - i)
    _history(con, config, D - dt.timedelta(days=29), D)
    assert con.execute("SELECT trend_30d FROM core.account_health_history WHERE as_of_date = ?", [D]).fetchall() == [(-0.4,)]


def test_transitions_record_band_changes_with_component_deltas(con, config):
    days = [D - dt.timedelta(days=2), D - dt.timedelta(days=1), D]
    for day, usage in zip(days, [100, 40, 40]):  # day 2: 0.4*40 + 60 = 76 (Healthy)
        _component_row(con, "A", day, usage=usage, payment=None if day == D else 100)
    _history(con, config, days[0], D)
    scores = [r[0] for r in con.execute("SELECT health_score FROM core.account_health_history ORDER BY as_of_date").fetchall()]
    assert scores == [100.0, 76.0, 70.0]  # day 3: payment NULL -> usage weighs 50: 0.5*40 + 0.25*100*2 = 70
    transitions = con.execute(f"SELECT * FROM ({transitions_sql()})").df()
    assert len(transitions) == 1
    t = transitions.iloc[0]
    assert (t.transition_date.date(), t.from_band, t.to_band, t.score_before, t.score_after) == (D, "Healthy", "Watch", 76.0, 70.0)
    assert (t.delta_usage, t.delta_support, t.delta_sentiment) == (4.0, 5.0, 5.0)
    # payment's 20 points vanish when it becomes unknown; the others gain its weight. Top 3 by size, ties by name.
    assert t.moved_by == "payment -20.0, sentiment +5.0, support +5.0"


def test_band_is_read_from_the_score_rounded_to_two_decimals(con, config):
    """docs/health.md: the band comes from the rounded score. Usage 37.49, support, payment and sentiment 100:
    0.4 x 37.49 + 0.2 x 100 x 3 = 74.996 -> 75.00, Healthy, though the unrounded score is below the 75 threshold."""
    _component_row(con, "A", D, usage=37.49)
    _history(con, config, D, D)
    score, band = con.execute("SELECT health_score, band FROM core.account_health_history").fetchall()[0]
    assert (score, band) == (75.0, "Healthy")
