"""The executive monthly report: every section, charts embedded, figures equal to the marts; the schedule."""

from __future__ import annotations

import base64
import datetime as dt
import re

import duckdb
from dagster import build_schedule_context, materialize

from csm_analytics.reports.executive.assets import executive_monthly_report
from csm_analytics.reports.executive.schedules import executive_report_schedule

SECTIONS = ["retention", "risk", "health-trend", "forecast-accuracy", "top-risks", "top-expansion", "leaderboard",
            "segments"]


def test_report_sections_and_numbers(reporting):
    instance, warehouse, data, definitions = reporting
    result = materialize([executive_monthly_report], instance=instance, resources=dict(definitions.resources),
                         partition_key="2026-09-01")
    assert result.success
    html = (data / "reports" / "executive" / "executive_2026-09.html").read_text()
    assert re.findall(r'<section id="([a-z-]+)"', html) == SECTIONS
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) >= 2 and all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    con = duckdb.connect(str(warehouse), read_only=True)
    nrr, grr = con.execute("SELECT nrr, grr FROM marts.revenue_retention WHERE dimension = 'all' "
                           "ORDER BY quarter_end DESC LIMIT 1").fetchall()[0]
    arr = con.execute("SELECT sum(arr) FROM raw.contracts WHERE DATE '2026-09-30' BETWEEN start_date AND end_date").fetchall()[0][0]
    leaders = con.execute("SELECT count(*) FROM marts.csm_scorecard WHERE quarter_end = "
                          "(SELECT max(quarter_end) FROM marts.csm_scorecard)").fetchall()[0][0]
    con.close()
    text = re.sub(r"<[^>]+>", " ", html)
    assert f"{100 * nrr:.0f} %" in text and f"{100 * grr:.0f} %" in text and f"${arr:,.0f}" in text
    assert len(re.findall(r"<tr><td>\d+</td>", html.split('id="leaderboard"')[1])) == leaders
    meta = result.asset_materializations_for_node("reports__executive_monthly_report")[0].metadata
    assert meta["arr_in_force"].value == round(arr, 2)


def test_monthly_schedule_builds_last_month():
    context = build_schedule_context(scheduled_execution_time=dt.datetime(2026, 10, 1, 6, 0, tzinfo=dt.timezone.utc))
    requests = list(executive_report_schedule.evaluate_tick(context).run_requests)
    assert [r.partition_key for r in requests] == ["2026-09-01"]


def test_top_risks_follow_the_documented_rule_and_labels_are_words(reporting, monkeypatch):
    """docs/reports.md#top-10-risks: At-risk band first, then Watch, then Healthy; revenue at risk within a band."""
    from csm_analytics.health.config import BANDS
    from csm_analytics.reports.executive.report import collect_report, render_report

    monkeypatch.setenv("CSM_CURRENCY", "EUR")
    _, warehouse, _, _ = reporting
    with duckdb.connect(str(warehouse), read_only=True) as con:
        facts = collect_report(con, dt.date(2026, 9, 1))
        book = con.execute("""
            SELECT h.band, count(*) FROM raw.contracts c JOIN core.account_health_history h
              ON h.account_id = c.account_id AND h.as_of_date = DATE '2026-09-30'
            WHERE DATE '2026-09-30' BETWEEN c.start_date AND c.end_date GROUP BY 1""").fetchall()
    risks = facts["top_risks"]
    keys = [(BANDS[::-1].index(r["band"]), -r["revenue_at_risk"]) for r in risks]
    assert len(risks) == 10 and keys == sorted(keys)
    not_healthy = sum(n for band, n in book if band != "Healthy")
    assert not_healthy >= 10 and all(r["band"] != "Healthy" for r in risks)
    markdown, html, _ = render_report(facts)
    text = re.sub(r"<[^>]+>", " ", html)
    assert "target —" not in text and "no target set" in text  # GRR has no target
    assert "€" in text and "$" not in text  # the currency setting, everywhere
    top = html.split('id="top-risks"')[1].split("</section>")[0]
    assert "_" not in re.sub(r"<[^>]+>", "", top)  # drivers and bands as words, never raw codes
    assert "Top 10 risks\nAt-risk band first" in markdown
