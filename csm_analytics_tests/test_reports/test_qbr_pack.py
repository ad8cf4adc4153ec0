"""QBR packs on the scored default world: every section, embedded charts, numbers equal to the marts."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import duckdb
import pytest
from dagster import materialize

from csm_analytics.cli import main
from csm_analytics.health.config import load_health_config
from csm_analytics.reports.qbr.assets import QBR_ACCOUNTS, qbr_action_items, qbr_pack, qbr_pipeline
from csm_analytics.reports.qbr.pack import SECTIONS, build_pack

ACCOUNT = "ACC0000010"


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sections, self.images, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("section", "footer") and attrs.get("id"):
            self.sections.append(attrs["id"])
        if tag == "img":
            self.images.append(attrs["src"])

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.fixture(scope="module")
def pack(reporting, tmp_path_factory):
    """(the pack, a read-only connection); the connection closes before the module's writing tests run."""
    _, warehouse, _, _ = reporting
    with duckdb.connect(str(warehouse), read_only=True) as con:
        built = build_pack(con, ACCOUNT, load_health_config(), out_dir=tmp_path_factory.mktemp("packs"))
    con = duckdb.connect(str(warehouse), read_only=True)
    yield built, con
    con.close()


def test_pipeline_adds_partitions_and_a_pack_materializes(reporting):
    instance, warehouse, data, definitions = reporting
    resources = dict(definitions.resources)
    result = materialize([qbr_action_items, qbr_pipeline], instance=instance, resources=resources)
    assert result.success
    due = instance.get_dynamic_partitions(QBR_ACCOUNTS.name)
    con = duckdb.connect(str(warehouse), read_only=True)
    expected = [r[0] for r in con.execute("SELECT account_id FROM marts.qbr_pipeline WHERE due_window IN "
                                          "('overdue', 'this quarter') ORDER BY 1").fetchall()]
    con.close()
    assert due == expected and len(due) > 0
    one = materialize([qbr_pack], instance=instance, resources=resources, partition_key=due[0],
                      selection=[qbr_pack.key])
    meta = one.asset_materializations_for_node("reports__qbr_pack")[0].metadata
    assert "## 6. Benchmarks" in meta["pack"].value and (data / "reports" / "qbr" / f"{due[0]}.html").exists()
    assert materialize([qbr_pipeline], instance=instance, resources=resources).success
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("SELECT pack_status FROM marts.qbr_pipeline WHERE account_id = ?", [due[0]]).fetchall() == [("ready",)]
    con.close()


def test_every_section_in_order_and_charts_embedded(pack):
    built, _ = pack
    page = _parse(built.html_path.read_text())
    assert page.sections == list(SECTIONS)
    pngs = [base64.b64decode(src.split(",", 1)[1]) for src in page.images]
    assert len(pngs) == 5 and all(p.startswith(b"\x89PNG\r\n\x1a\n") and len(p) > 5000 for p in pngs)
    assert all(src.startswith("data:image/png;base64,") for src in page.images)  # readable offline
    assert "http://" not in built.html and "https://" not in built.html
    headings = re.findall(r"^## (\d+)\. ", built.markdown, flags=re.M)
    assert headings == [str(i) for i in range(1, 11)]


def test_numbers_equal_the_marts(pack):
    built, con = pack
    text = re.sub(r"\s+", " ", "".join(_parse(built.html).text))
    score, band = con.execute("SELECT health_score, band FROM core.account_health_score WHERE account_id = ?",
                              [ACCOUNT]).fetchall()[0]
    assert f"Score {score:.1f} ({band})" in text
    p, arr = con.execute("SELECT churn_probability, arr FROM ml.churn_predictions WHERE account_id = ?",
                         [ACCOUNT]).fetchall()[0]
    assert built.facts["revenue"]["churn_probability"] == pytest.approx(p, abs=1e-4)
    assert f"${arr:,.0f}" in text and f"{100 * p:.0f} %" in text
    assert built.facts["revenue"]["revenue_at_risk"] == pytest.approx(arr * p, rel=1e-3)
    statuses = dict(con.execute("""SELECT action, status FROM marts.qbr_action_items WHERE account_id = ?
        AND qbr_date = (SELECT max(qbr_date) FROM marts.qbr_action_items WHERE account_id = ?)""",
                                [ACCOUNT, ACCOUNT]).fetchall())
    assert {a["action"]: a["status"] for a in built.facts["action_items"]} == statuses


def test_benchmark_percentiles_recomputed_independently(pack):
    built, con = pack
    b = built.facts["benchmarks"]
    me = con.execute("SELECT segment, tier FROM raw.accounts WHERE account_id = ?", [ACCOUNT]).fetchall()[0]
    util = con.execute("""
        SELECT c.account_id, c.seat_utilization FROM core.account_health_components c JOIN raw.accounts a USING (account_id)
        WHERE c.as_of_date = DATE '2026-09-30' AND a.segment = ? AND a.tier = ?
          AND c.account_id IN (SELECT account_id FROM raw.contracts WHERE DATE '2026-09-30' BETWEEN start_date AND end_date)
    """, list(me)).df()
    mine = util.set_index("account_id").seat_utilization[ACCOUNT]
    peers = util[util.account_id != ACCOUNT].seat_utilization
    expected = round(100 * ((peers < mine).sum() + 0.5 * (peers == mine).sum()) / len(peers))
    assert b["peers"] == len(peers)
    assert b["metrics"][0]["metric"] == "seat_utilization" and b["metrics"][0]["percentile"] == expected


def test_narrative_rewriter_is_optional_and_safe(pack, monkeypatch):
    built, con = pack
    monkeypatch.setenv("CSM_NARRATIVE_REWRITER", "csm_analytics_tests.test_reports.rewriters:shout")
    shouted = build_pack(con, ACCOUNT, load_health_config())
    assert "WHAT WENT WELL" in shouted.markdown
    monkeypatch.setenv("CSM_NARRATIVE_REWRITER", "csm_analytics_tests.test_reports.rewriters:broken")
    fallback = build_pack(con, ACCOUNT, load_health_config())
    assert re.search(r"What went well|No standout gains", fallback.markdown)
    assert fallback.markdown == built.markdown.replace(str(built.html_path), str(fallback.html_path))


def test_cli_pack_for_a_past_date_and_unknown_account(reporting, capsys, monkeypatch, tmp_path):
    _, warehouse, _, _ = reporting
    monkeypatch.setenv("CSM_WAREHOUSE", str(warehouse))
    assert main(["qbr", "pack", ACCOUNT, "--as-of", "2026-03-31", "--out", str(tmp_path)]) == 0
    assert (tmp_path / f"{ACCOUNT}_2026-03-31.html").exists() and not (tmp_path / f"{ACCOUNT}.json").exists()
    assert main(["qbr", "pack", "ACC9999999"]) == 1
    assert "Unknown account 'ACC9999999'" in capsys.readouterr().err


def test_health_change_over_30_days_is_the_real_change_in_points(pack):
    """Score today minus score 30 days earlier (not the per-day slope), e.g. 52.4 -> 45.2 reads "−7.2 points"."""
    built, con = pack
    now, then = con.execute("""SELECT n.health_score, p.health_score FROM core.account_health_history n
        JOIN core.account_health_history p ON p.account_id = n.account_id AND p.as_of_date = n.as_of_date - 30
        WHERE n.account_id = ? AND n.as_of_date = DATE '2026-09-30'""", [ACCOUNT]).fetchall()[0]
    change = round(now - then, 1)
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    words = f"{sign}{abs(change):.1f} points over 30 days (from {then:.1f})"
    text = re.sub(r"\s+", " ", "".join(_parse(built.html).text))
    assert words in text and words in built.markdown


def test_pack_text_has_no_raw_codes_or_plural_hedges(pack):
    built, _ = pack
    text = re.sub(r"\s+", " ", "".join(_parse(built.html).text))
    assert "(s)" not in text and "n/a" not in text
    assert not re.search(r"\b(payroll_error|compliance_breach|platform_outage|data_issue|worker_growth|seat_ceiling)\b",
                         text)
    assert re.search(r"\b\d+ tickets? open today\. \d+ incidents? in the last 180 days", text)


def test_the_usage_chart_is_titled_as_asked_and_each_panel_by_its_series(monkeypatch):
    """The pack's usage chart said "Workers" (its last panel's label) where "Monthly averages, last 12 months"
    was asked: the loop variable shadowed the title."""
    import datetime as dt

    from csm_analytics.reports import charts

    drawn = []
    monkeypatch.setattr(charts, "png_bytes", lambda fig, dpi=110: drawn.append(fig) or b"")
    monthly = [{"month": dt.date(2026, m, 1), "active_users": m, "worker_count": 2 * m} for m in (7, 8, 9)]
    charts.small_multiples(monthly, {"active_users": "Active users", "worker_count": "Workers"}, "Monthly averages")
    [fig] = drawn
    assert fig._suptitle.get_text() == "Monthly averages"
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["Active users", "Workers"]
    charts.plt.close(fig)
