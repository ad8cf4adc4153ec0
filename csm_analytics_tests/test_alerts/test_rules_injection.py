"""No text from alert_rules.toml reaches the alert SQL unless it is one of our own constants (issue 16 §5)."""

from __future__ import annotations

import duckdb
import pytest

from csm_analytics.alerts.config import DEFAULT_RULES, AlertConfigError, load_alert_config
from csm_analytics.alerts.rules import alert_events_sql


def _rules_with(tmp_path, old: str, new: str):
    text = DEFAULT_RULES.read_text()
    assert old in text
    path = tmp_path / "rules.toml"
    path.write_text(text.replace(old, new))
    return load_alert_config(path)


@pytest.mark.parametrize("hostile", ["high') OR 1=1 --", "O'Brien"])
def test_a_hostile_priority_is_refused_not_pasted(tmp_path, hostile):
    config = load_alert_config()
    priorities = config.rules["support_escalation"]["priorities"]
    old = "priorities = [" + ", ".join(f'"{p}"' for p in priorities) + "]"
    hostile_config = _rules_with(tmp_path, old, f'priorities = ["{priorities[0]}", "{hostile}"]')
    with pytest.raises(AlertConfigError, match=r"rules\.support_escalation\.priorities\[\] is .*expected one of"):
        alert_events_sql(hostile_config, False)


def test_the_default_rules_compile_to_sql_that_parses():
    sql = alert_events_sql(load_alert_config(), False)
    con = duckdb.connect()
    with pytest.raises(duckdb.CatalogException):  # parses and binds up to the first missing table
        con.execute(f"EXPLAIN {sql}")
