"""`csm-analytics health explain` answers "why this score?" and "what changed?"."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import duckdb

from csm_analytics.health.explain import explain, sparkline


def test_sparkline_scales_between_min_and_max():
    assert sparkline([0, 50, 100]) == "▁▅█"
    assert sparkline([70, 70]) == "▄▄"


def test_explain_shows_components_drivers_sparkline_and_changes(scored):
    _, warehouse = scored
    con = duckdb.connect(str(warehouse), read_only=True)
    account, score = con.execute(
        "SELECT account_id, health_score FROM core.account_health_score ORDER BY health_score LIMIT 1").fetchall()[0]
    text = explain(con, account)
    assert text.startswith(f"{account} (") and f"health {score:.1f}" in text
    points = [float(m) for m in re.findall(r"^\w+\s+[\d.]+\s+[\d.]+\s+([\d.]+)\s", text, re.M)]
    assert abs(sum(points) - score) < 0.1  # the points column adds up to the score
    assert "Drivers (points lost):" in text and "Since 2026-08-31:" in text
    assert re.search(r"Last 90 days: [▁▂▃▄▅▆▇█]{90}", text)


def test_cli_explain_for_a_past_day(scored):
    _, warehouse = scored
    env = dict(os.environ, CSM_WAREHOUSE=str(warehouse))
    out = subprocess.run([sys.executable, "-m", "csm_analytics", "health", "explain", "ACC0000001", "--as-of", "2025-06-01"],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert "ACC0000001" in out.stdout and "on 2025-06-01" in out.stdout
    missing = subprocess.run([sys.executable, "-m", "csm_analytics", "health", "explain", "NOPE"],
                             capture_output=True, text=True, env=env)
    assert missing.returncode == 1 and "Unknown account 'NOPE'" in missing.stderr  # issue 17: names brief --list
