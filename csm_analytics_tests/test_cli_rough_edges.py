"""The command line's rough edges: unknown ids point to `brief --list` with close matches, snooze refuses unknown
accounts, `alerts list` reads as a table with dates and text, and every option says what it does."""

from __future__ import annotations

import argparse
import re

import duckdb
import pytest

from csm_analytics.alerts.outbox import Outbox
from csm_analytics.cli import build_parser, main
from csm_analytics.lib.suggest import close_matches, unknown_account_message

IDS = ["ACC0000001", "ACC0000203", "ACC0000230", "ACC0001203"]


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A data dir whose warehouse holds raw.accounts, and an outbox with two alerts."""
    monkeypatch.setenv("CSM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CSM_WAREHOUSE", raising=False)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.accounts AS SELECT unnest(?) AS account_id", [IDS])
    outbox = Outbox(tmp_path / "alerts" / "outbox.sqlite")
    outbox.enqueue([
        {"alert_key": "payment_failure:INV1", "rule": "payment_failure", "severity": "critical",
         "account_id": "ACC0000203", "event_date": "2026-09-28", "headline": "payment of $1,200 failed (invoice INV1)"},
        {"alert_key": "score_drop:ACC0000001:2026-09-29", "rule": "score_drop", "severity": "warning",
         "account_id": "ACC0000001", "event_date": "2026-09-29", "headline": "score fell 9.1 points in 7 days"}])
    return tmp_path, outbox


def test_close_matches_and_the_message():
    assert "ACC0000203" in close_matches("acc000203", IDS) and "ACC0000001" not in close_matches("acc000203", IDS)
    assert close_matches("NOPE", IDS) == []
    message = unknown_account_message("ACC000203", IDS)
    assert message.startswith("Unknown account 'ACC000203': no such account_id in raw.accounts. Did you mean ")
    assert "ACC0000203" in message.split("Did you mean ")[1].split("?")[0]
    assert "`csm-analytics brief --list`" in message and "scorecard" not in message


def test_snooze_refuses_an_unknown_account_and_accepts_a_known_one(data, capsys):
    _, outbox = data
    assert main(["alerts", "snooze", "NOPE", "--rule", "score_drop", "--until", "2026-12-31"]) == 1
    err = capsys.readouterr().err
    assert "Unknown account 'NOPE'" in err and "csm-analytics brief --list" in err
    with outbox.connect() as con:
        assert con.execute("SELECT count(*) FROM snoozes").fetchone()[0] == 0
    assert main(["alerts", "snooze", "ACC000203", "--rule", "score_drop", "--until", "2026-12-31"]) == 1
    assert re.search(r"Did you mean [A-Z0-9, ]*ACC0000203", capsys.readouterr().err)
    assert main(["alerts", "snooze", "ACC0000203", "--rule", "score_drop", "--until", "2026-12-31"]) == 0
    assert outbox.snoozed("ACC0000203", "score_drop", __import__("datetime").date(2026, 12, 31))


def test_alerts_list_has_a_header_dates_and_the_message(data, capsys):
    assert main(["alerts", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["EVENT", "DATE", "ENQUEUED", "SEVERITY", "STATUS", "ACCOUNT", "ACK", "ALERT", "MESSAGE"]
    assert set(lines[1]) == {"-"}
    first = lines[2]
    assert first.startswith("2026-09-28  ") and re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", first)
    assert "critical" in first and "pending" in first and "open" in first
    assert first.endswith("Payment failed: payment of $1,200 failed (invoice INV1)")
    assert lines[3].endswith("Health score drop: score fell 9.1 points in 7 days")
    assert main(["alerts", "list", "--status", "sent"]) == 0
    assert capsys.readouterr().out.startswith("no alerts with status sent")


def _actions(parser: argparse.ArgumentParser, path=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield path + (name,), "(the command itself)", helps.get(name)
                yield from _actions(sub, path + (name,))
        elif not isinstance(action, argparse._HelpAction):
            yield path, action.dest, action.help


def test_every_command_and_option_has_help_text():
    missing = [(" ".join(path), dest) for path, dest, text in _actions(build_parser()) if not text]
    assert missing == []
