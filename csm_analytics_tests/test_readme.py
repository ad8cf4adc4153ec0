"""The README's commands run as written: every `csm-analytics` line parses, every `make` target exists,
`make help` prints real values, and `python3 -m csm_analytics` works from a Python without the dependencies."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from csm_analytics.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _code_lines() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    return [line.split("  #")[0].strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_every_readme_cli_command_parses():
    commands = [line for line in _code_lines() if line.startswith("csm-analytics ")]
    assert len(commands) >= 9
    parser = build_parser()
    for line in commands:
        args = parser.parse_args(shlex.split(line)[1:])  # argparse exits (fails the test) on a bad command
        assert callable(args.func), line


def test_readme_says_how_to_put_csm_analytics_on_the_path_and_how_to_check():
    lines = _code_lines()
    first_cli = next(i for i, line in enumerate(lines) if line.startswith("csm-analytics "))
    assert "make install && source .venv/bin/activate" in lines[:first_cli]
    assert "command -v csm-analytics" in lines[:first_cli]


def test_every_make_target_in_the_readme_exists_and_help_prints_values():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z]+):", makefile, flags=re.M))
    mentioned = set(re.findall(r"`make ([a-z]+)`", README)) | {
        line.split()[1] for line in _code_lines() if line.startswith("make ")}
    assert mentioned and mentioned <= targets, mentioned - targets
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "$(" not in out
    assert "http://127.0.0.1:3000" in out
    assert "http://127.0.0.1:4321" in subprocess.run(["make", "-s", "help", "PORT=4321"], cwd=ROOT, capture_output=True,
                                                     text=True, check=True).stdout


def test_python_m_from_a_python_without_the_dependencies_reruns_in_the_venv():
    system = shutil.which("python3", path="/usr/bin:/bin")
    if system is None or subprocess.run([system, "-c", "import duckdb"], capture_output=True).returncode == 0:
        pytest.skip("no system python3 without duckdb to start from")
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("no .venv (make install creates it)")
    out = subprocess.run([system, "-m", "csm_analytics", "schemas", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "re-running with" in out.stderr and "usage: csm-analytics schemas" in out.stdout


def test_the_readme_lists_exactly_the_schedules_and_sensors_that_are_on_and_off_by_default():
    """Issue 17: two schedules were off by default and the README did not say so. The Operations section's
    table names every schedule and sensor that runs by itself; its "Off by default" line names the others."""
    from csm_analytics.definitions import defs

    section = README.split("## Operations: what runs by itself")[1].split("\n## ")[0]
    table, off_line = section.split("Off by default:")
    listed_on = set(re.findall(r"^\| `([a-z0-9_]+)`", table, flags=re.M))
    repository = defs.get_repository_def()
    automations = {d.name: d.default_status.value for d in [*repository.schedule_defs, *repository.sensor_defs]}
    listed_off = set(re.findall(r"`([a-z0-9_]+)`", off_line.split("switch them on")[0])) & set(automations)
    on = {name for name, status in automations.items() if status == "RUNNING"}
    assert listed_on - on == {"daily_refresh"}  # the job the two rows above it start
    assert on <= listed_on
    assert set(automations) - on == listed_off == {
        "nightly_churn_snapshot_schedule", "executive_monthly_report_schedule"}
