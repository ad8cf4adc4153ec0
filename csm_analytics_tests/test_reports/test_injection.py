"""Hostile ids reach SQL only as bound parameters, and client text in every HTML output is escaped (issue 16 §5)."""

from __future__ import annotations

import datetime as dt
import re
import shutil

import duckdb
import pytest

from csm_analytics.cli import main
from csm_analytics.health.config import load_health_config
from csm_analytics.reports.executive.report import collect_report, render_report
from csm_analytics.reports.qbr.pack import build_pack
from csm_analytics.reports.qbr.pipeline import qbr_action_items_query
from csm_analytics.reports.render import render

HOSTILE_IDS = ["O'Brien", "x' OR 1=1 --", "ACC0000010'; DROP TABLE raw.accounts; --", 'a"b']
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def warehouse(reporting):
    return reporting[1]


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_action_items_bind_the_account_id(warehouse, hostile):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        every = con.execute(qbr_action_items_query()[0]).fetchall()
        sql, params = qbr_action_items_query(dt.date(2026, 9, 30), hostile)
        assert hostile not in sql
        assert con.execute(sql, params).fetchall() == []  # not every account's items, and no parser error
        one, params = qbr_action_items_query(dt.date(2026, 9, 30), "ACC0000010")
        assert 0 < len(con.execute(one, params).fetchall()) < len(every)


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
@pytest.mark.parametrize("command", [["qbr", "pack"], ["brief"], ["brief", "--list"], ["health", "explain"], ["scorecard"]])
def test_id_taking_commands_answer_unknown_id_for_hostile_ids(warehouse, monkeypatch, capsys, tmp_path, command, hostile):
    monkeypatch.setenv("CSM_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("CSM_DATA_DIR", str(tmp_path))
    assert main([*command, hostile]) == 1
    err = capsys.readouterr().err
    assert hostile in err or repr(hostile) in err, err
    assert not re.search(r"Parser Error|Binder Error|syntax error", err, re.I), err
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.accounts").fetchall()[0][0] == 220


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_alerts_snooze_refuses_a_hostile_account_as_unknown(monkeypatch, tmp_path, capsys, warehouse, hostile):
    """`alerts snooze` looks the account up with a bound parameter: a hostile id is an unknown account (issue 17
    makes snooze refuse unknown accounts), nothing is stored, and the warehouse is untouched."""
    import sqlite3

    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    monkeypatch.setenv("CSM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CSM_WAREHOUSE", str(copy))
    assert main(["alerts", "snooze", hostile, "--rule", "score_drop", "--until", "2026-12-01"]) == 1
    assert f"Unknown account {hostile!r}" in capsys.readouterr().err
    with duckdb.connect(str(copy), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.accounts").fetchall() == [(220,)]
    outbox = tmp_path / "alerts" / "outbox.sqlite"
    if outbox.exists():
        with sqlite3.connect(outbox) as con:
            assert con.execute("SELECT count(*) FROM snoozes").fetchall() == [(0,)]


@pytest.fixture(scope="module")
def poisoned(warehouse, tmp_path_factory):
    """A copy of the warehouse whose client text (account names, incident and ticket text) carries a script tag."""
    copy = tmp_path_factory.mktemp("poisoned") / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    con = duckdb.connect(str(copy))
    for schema, table, column in con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE column_name IN ('account_name', 'account', 'description', 'name', 'headline', 'reason') "
            "AND data_type = 'VARCHAR' AND table_schema <> 'information_schema'").fetchall():
        con.execute(f'UPDATE "{schema}"."{table}" SET "{column}" = ? || "{column}"', [SCRIPT])
    yield con
    con.close()


def _assert_escaped(html: str):
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<style>" in html and "&lt;style" not in html  # the stylesheet itself is not escaped


def test_qbr_pack_html_escapes_client_text(poisoned, tmp_path):
    pack = build_pack(poisoned, "ACC0000010", load_health_config(), out_dir=tmp_path)
    html = pack.html_path.read_text()
    _assert_escaped(html)
    assert re.search(r'src="data:image/png;base64,[A-Za-z0-9+/=]+"', html)  # charts stay data URIs
    assert SCRIPT in pack.markdown  # Markdown is not HTML: no entities in it


def test_daily_brief_html_escapes_client_text():
    """The daily brief's HTML (reports/screenshots.py: daily_brief_html) renders marts.csm_daily_brief rows as these."""
    rows = [{"account": f"{SCRIPT} Acme (ACC0000010)", "health_band": "Watch", "arr": 1000.0,
             "renewal_date": dt.date(2026, 12, 31), "last_activity_date": dt.date(2026, 9, 1), "open_actions": 2,
             "reason": f"ticket {SCRIPT} escalated"}]
    _assert_escaped(render("daily_brief.html.j2", csm_name=f"{SCRIPT} Alex", rows=rows, as_of=dt.date(2026, 9, 30)))


def test_executive_report_html_escapes_client_text(poisoned):
    _, html, _ = render_report(collect_report(poisoned, dt.date(2026, 9, 1)))
    _assert_escaped(html)
    assert len(re.findall(r'src="data:image/png;base64,[A-Za-z0-9+/=]+"', html)) >= 2


def test_meeting_brief_is_plain_text_with_the_name_verbatim(poisoned):
    from csm_analytics.reports.briefs.meeting import meeting_brief

    text = meeting_brief(poisoned, "ACC0000010", None)
    assert SCRIPT in text and "<html" not in text  # printed to a terminal, never rendered as HTML
