"""The command line: --help everywhere, and `materialize` from an empty data/ folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import duckdb
import pytest

COMMANDS = [[], ["scorecard"], ["generate"], ["materialize"], ["schemas"], ["health"], ["health", "explain"], ["import"], ["import", "telco"], ["alerts"], ["alerts", "ack"], ["alerts", "snooze"], ["workspace"]]


@pytest.mark.parametrize("command", COMMANDS)
def test_help(command):
    out = subprocess.run([sys.executable, "-m", "csm_analytics", *command, "--help"],
                         capture_output=True, text=True, check=True)
    assert "usage: csm-analytics" in out.stdout


def test_bad_argument_says_what_is_expected():
    out = subprocess.run([sys.executable, "-m", "csm_analytics", "generate", "--as-of", "yesterday"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "expected a date as YYYY-MM-DD" in out.stderr


@pytest.mark.slow
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
    assert (data / "serving" / "serving.duckdb").exists()  # the workspace of `make run` has its snapshot
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM raw.accounts").fetchall()[0][0] == 220
    con.close()  # a reader holds the file: the restart below must find it free, as `make run` does
    runs = list((data / "dagster_home").rglob("*.db"))
    assert runs, "the run was recorded in the Dagster instance under data/dagster_home"
    # progress: one line per asset as it finishes, with rows and seconds
    assert re.search(r"^  raw/accounts\s+220 rows\s+\d+\.\d s$", out.stdout, flags=re.M), out.stdout
    assert re.search(r"^  core/account_health_history\s+[\d,]+ rows\s+\d+\.\d s", out.stdout, flags=re.M), out.stdout
    # a restart with current data (what `make run` does) does not materialize again
    again = subprocess.run([sys.executable, "-m", "csm_analytics", "--data-dir", str(data), "materialize", "--if-stale"],
                           capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 0 and "is current for" in again.stdout and "raw/accounts" not in again.stdout, again.stdout


def test_materialize_says_what_to_do_when_another_process_writes_the_warehouse(tmp_path):
    """A UI run holding the DuckDB file: a clear error and exit 2 before any work, not 40 failed assets."""
    data = tmp_path / "data"
    data.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
                               "print('ready', flush=True); time.sleep(60)", str(data / "warehouse.duckdb")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        out = subprocess.run([sys.executable, "-m", "csm_analytics", "--data-dir", str(data), "materialize",
                              "--skip-generate"], capture_output=True, text=True, timeout=120)
    finally:
        holder.kill()
    assert out.returncode == 2, out.stdout + out.stderr
    assert "is open for writing in another process" in out.stderr and "Wait for it to finish" in out.stderr
    assert str(data / "warehouse.duckdb") in out.stderr
