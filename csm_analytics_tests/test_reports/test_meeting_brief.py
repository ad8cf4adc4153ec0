"""`csm-analytics brief`: the five sections, internal header, numbers equal to the warehouse, a clear unknown-id error."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import duckdb
import pytest

SECTIONS = ["1. Recent issues and open tickets", "2. Health change and its drivers", "3. Open action items",
            "4. Talking points", "5. Risk areas"]


@pytest.fixture
def data_dir(tmp_path, scored):
    shutil.copy(scored[1], tmp_path / "warehouse.duckdb")
    return tmp_path


def _cli(data_dir, *args):
    env = dict(os.environ, CSM_DATA_DIR=str(data_dir))
    return subprocess.run([sys.executable, "-m", "csm_analytics", "brief", *args], capture_output=True, text=True, env=env)


def test_brief_has_every_section_and_the_warehouse_numbers(data_dir):
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    account, day, score, band = con.execute(
        "SELECT account_id, as_of_date, health_score, band FROM core.account_health_history "
        "WHERE as_of_date = (SELECT max(as_of_date) FROM core.account_health_history) ORDER BY health_score LIMIT 1"
    ).fetchall()[0]
    then = con.execute("SELECT health_score FROM core.account_health_history WHERE account_id = ? AND as_of_date = ?",
                       [account, day - __import__("datetime").timedelta(days=30)]).fetchall()[0][0]
    items = con.execute("SELECT action_items FROM raw.qbrs WHERE account_id = ? AND qbr_date <= ? AND qbr_date > ? "
                        "ORDER BY qbr_date DESC LIMIT 1", [account, day, day - __import__("datetime").timedelta(days=365)]).fetchall()
    con.close()
    out = _cli(data_dir, account)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.splitlines()[0].startswith("MEETING BRIEF · INTERNAL, FOR THE CSM ONLY")
    assert [s for s in SECTIONS if s in text] == SECTIONS
    assert [text.index(s) for s in SECTIONS] == sorted(text.index(s) for s in SECTIONS)
    assert f"Health {score:.1f} ({band})" in text and f"as of {day}" in text
    assert f"{then:.1f} -> {score:.1f} ({score - then:+.1f} points)" in text
    for item in (items[0][0].split(";") if items else []):
        assert f"[ ] {item} (" in text or f"[x] {item} (done " in text
    assert len(text.splitlines()) <= 60  # one page


def test_as_of_reads_the_past(data_dir):
    out = _cli(data_dir, "ACC0000001", "--as-of", "2026-03-01")
    assert out.returncode == 0 and "as of 2026-03-01" in out.stdout


def test_unknown_account_names_it_and_says_how_to_list_ids(data_dir):
    out = _cli(data_dir, "ACC9999999")
    assert out.returncode == 1
    assert "Unknown account 'ACC9999999'" in out.stderr and "csm-analytics brief --list" in out.stderr
    listing = _cli(data_dir, "--list", "CSM01")
    assert listing.returncode == 0 and all(" CSM01 " in line for line in listing.stdout.splitlines())


def test_help():
    out = subprocess.run([sys.executable, "-m", "csm_analytics", "brief", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--as-of" in out.stdout and "CSM only" in out.stdout
