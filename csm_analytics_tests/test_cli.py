"""The command line: --help everywhere, and `materialize` from an empty data/ folder."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

COMMANDS = [[], ["scorecard"], ["generate"], ["materialize"], ["schemas"], ["health"], ["health", "explain"], ["import"], ["import", "telco"], ["alerts"], ["alerts", "ack"], ["alerts", "snooze"]]


@pytest.mark.parametrize("command", COMMANDS)
def test_help(command):
    out = subprocess.run([sys.executable, "-m", "csm_analytics", *command, "--help"],
                         capture_output=True, text=True, check=True)
    assert "usage: csm-analytics" in out.stdout


def test_bad_argument_says_what_is_expected():
    out = subprocess.run([sys.executable, "-m", "csm_analytics", "generate", "--as-of", "yesterday"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "expected a date as YYYY-MM-DD" in out.stderr


def test_materialize_from_an_empty_data_dir(tmp_path):
    """What `make materialize` (and so `make run`) does on a fresh clone."""
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "CSM_DATA_DIR")}
    data = tmp_path / "data"
    out = subprocess.run([sys.executable, "-m", "csm_analytics", "--data-dir", str(data), "materialize"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "materialize: OK" in out.stdout
    assert (data / "dagster_home" / "dagster.yaml").exists()
    assert (data / "raw" / "accounts.parquet").exists()
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM raw.accounts").fetchall()[0][0] == 220
    runs = list((data / "dagster_home").rglob("*.db"))
    assert runs, "the run was recorded in the Dagster instance under data/dagster_home"
