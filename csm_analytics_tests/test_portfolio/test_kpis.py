"""The CS-ops KPI table and CSM portfolios on the default world."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from dagster import DagsterInstance, materialize
from dagster_duckdb import DuckDBResource

from csm_analytics.alerts.assets import alert_events, alert_response_sla
from csm_analytics.alerts.resources import AlertOutboxResource
from csm_analytics.health.resources import HealthConfigResource
from csm_analytics.portfolio.assets import portfolio_assets
from csm_analytics.portfolio.kpis import KPIS, Kpi, vs_target


def test_vs_target():
    band = Kpi("utilization", "80-100 %", "", low=0.8, high=1.0)
    assert [vs_target(band, v) for v in (0.79, 0.8, 1.0, 1.01, None)] == [
        "below target", "on target", "on target", "above target", "n/a"]
    assert vs_target(Kpi("GRR", "—", ""), 0.9) == "no target"


@pytest.fixture(scope="module")
def kpis(scored, tmp_path_factory):
    folder = tmp_path_factory.mktemp("kpis")
    warehouse = folder / "warehouse.duckdb"
    shutil.copy(scored[1], warehouse)
    resources = {"duckdb": DuckDBResource(database=str(warehouse)), "health_config": HealthConfigResource(),
                 "alert_outbox": AlertOutboxResource(path=str(folder / "outbox.sqlite"))}
    assert materialize([alert_events, alert_response_sla, *portfolio_assets], resources=resources,
                       instance=DagsterInstance.ephemeral()).success
    return duckdb.connect(str(warehouse), read_only=True)


def test_every_kpi_is_in_the_table(kpis):
    table = kpis.execute("SELECT * FROM marts.cs_ops_kpis").df().set_index("kpi")
    assert list(table.index) == [k.name for k in KPIS]
    assert list(table.columns) == ["coverage", "numerator", "denominator", "value", "target", "vs_target", "source"]
    # the default world has no workspace logins: every CSM's adoption comes from the simulated feed
    adoption = table.loc["Data adoption (CSMs using the analytics >= 3x in each of the last 4 weeks)"]
    assert adoption.source == f"simulated for {adoption.coverage} CSMs"
    assert table.drop(index=adoption.name)["source"].isna().all()
    # nothing delivered as a warning yet, no onboarding data: coverage 0 and a blank value, not a number
    for name in ("Alert response time, non-critical (median hours, acknowledged alerts only)", "Onboarded on time"):
        assert table.loc[name, "coverage"] == 0 and table.loc[name, "value"] != table.loc[name, "value"]  # NaN
    nrr = table.loc["CSM portfolio NRR (TTM)"]
    assert nrr.value == pytest.approx(nrr.numerator / nrr.denominator, abs=1e-4)
    critical = table.loc["Alert response time, critical (median hours, acknowledged alerts only)"]
    assert critical.coverage > 500 and 0 < critical.value < 24  # simulated history of acknowledgments


def test_portfolios_cover_every_scored_account(kpis):
    clients, scored = kpis.execute("SELECT (SELECT sum(client_count) FROM marts.csm_portfolio), "
                                   "(SELECT count(*) FROM core.account_health_score)").fetchall()[0]
    assert clients == scored
    bands = kpis.execute("SELECT sum(green_accounts + yellow_accounts + red_accounts) = sum(client_count), "
                         "bool_and(abs(total_arr - green_arr - yellow_arr - at_risk_arr) < 0.05) FROM marts.csm_portfolio").fetchall()
    assert bands == [(True, True)]


def test_scorecard_review_and_team_view(kpis):
    from csm_analytics.portfolio.review import ReviewError, csm_review, team_view
    from csm_analytics.portfolio.scorecard import CATEGORIES

    csm = kpis.execute("SELECT csm_id FROM marts.csm_scorecard ORDER BY quarter_end DESC, peer_rank LIMIT 1").fetchall()[0][0]
    text = csm_review(kpis, csm)
    for section in ("Overall", "Categories (score vs team average):", "retention detail:", "Portfolio:", "Workload:",
                    "Coaching priorities:", "30-day action plan:"):
        assert section in text, section
    assert "expected" in text and "target > 110 %" in text
    team = team_view(kpis)
    ranked = kpis.execute("SELECT count(*) FROM marts.csm_scorecard WHERE quarter_end = "
                          "(SELECT max(quarter_end) FROM marts.csm_scorecard)").fetchall()[0][0]
    lines = team.splitlines()
    assert " 1  " in team and all(c.replace("_", " ") in lines[2] for c in CATEGORIES)  # full column names
    assert all(len(line) == len(lines[2]) for line in lines[3:3 + ranked])  # values as wide as their header
    # a CSM without a scorecard is listed with the reason, which the assignments confirm
    q = kpis.execute("SELECT max(quarter_end) FROM marts.csm_scorecard").fetchall()[0][0]
    unranked = [r[0] for r in kpis.execute(
        "SELECT csm_id FROM raw.csms WHERE csm_id NOT IN (SELECT csm_id FROM marts.csm_scorecard WHERE quarter_end = ?) "
        "ORDER BY 1", [q]).fetchall()]
    assert len(lines) == 3 + ranked + (2 + len(unranked) if unranked else 0)
    year_before = q.replace(year=q.year - 1)
    for csm in unranked:
        line = next(line for line in lines if line.strip().startswith(csm + " "))
        assert f"no accounts owned on {year_before}" in line
        owned = kpis.execute("SELECT count(*) FROM raw.csm_assignments WHERE csm_id = ? AND ? BETWEEN valid_from AND "
                             "coalesce(valid_to, DATE '9999-12-31')", [csm, year_before]).fetchall()[0][0]
        assert owned == 0, csm
    with pytest.raises(ReviewError, match="no scorecard for 'CSM99'"):
        csm_review(kpis, "CSM99")
    first_quarter, first_csm = kpis.execute(
        "SELECT quarter_end, csm_id FROM marts.csm_scorecard ORDER BY quarter_end, csm_id LIMIT 1").fetchall()[0]
    assert f"quarter ending {first_quarter}" in csm_review(kpis, first_csm, str(first_quarter))


def test_kpi_table_reads_as_a_person_expects(monkeypatch):
    """Money with currency and separators, ratios as percentages beside percentage targets, empty as "—"."""
    from csm_analytics.portfolio.kpis import display_rows

    monkeypatch.delenv("CSM_CURRENCY", raising=False)
    nrr = Kpi("NRR", "> 110 %", "", low=1.10, parts="money")
    hours = Kpi("Alert response", "< 24 h", "", high=24, unit="hours")
    expansion = Kpi("Expansion", "—", "", unit="money", parts="money")
    rows = [("NRR", 180, 11864800.0, 11001700.0, 1.0784, "> 110 %", "below target", None),
            ("Alert response", 0, None, None, None, "< 24 h", "n/a", None),
            ("Expansion", 12, 250000.0, 300000.0, 250000.0, "—", "no target", "simulated for 2 CSMs")]
    assert display_rows(rows, [nrr, hours, expansion]) == [
        ["NRR", "180", "$11,864,800", "$11,001,700", "107.8 %", "> 110 %", "below target", "—"],
        ["Alert response", "0", "—", "—", "—", "< 24 h", "—", "—"],
        ["Expansion", "12", "$250,000", "$300,000", "$250,000", "—", "no target", "simulated for 2 CSMs"]]
    assert all(k.unit in ("pct", "money", "hours", "days", "per100") for k in KPIS)
