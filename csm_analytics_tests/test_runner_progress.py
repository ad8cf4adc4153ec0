"""`csm-analytics materialize` prints one line per asset as it runs: the asset, its rows and its seconds."""

from __future__ import annotations

import re

from dagster import DagsterInstance, Definitions, MaterializeResult, asset

from csm_analytics.runner import materialize_everything, progress_line


@asset(key=["raw", "tiny"], group_name="tiny")
def tiny() -> MaterializeResult:
    return MaterializeResult(metadata={"dagster/row_count": 1234})


@asset(key=["marts", "tiny_summary"], group_name="tiny", deps=[tiny])
def tiny_summary() -> MaterializeResult:
    return MaterializeResult(metadata={"dagster/row_count": 3})


@asset(key=["marts", "broken"], group_name="tiny", deps=[tiny])
def broken() -> None:
    raise ValueError("the feed is broken")


def test_progress_line_format():
    assert progress_line("raw/accounts", 220, 0.44) == f"  {'raw/accounts':<44} {'220 rows':>15}     0.4 s"
    assert progress_line("core/account_health_history", 160600, 61.0, 730).endswith("61.0 s  (730 daily partitions)")


def test_each_asset_is_printed_as_it_finishes_with_rows_and_seconds(capsys):
    defs = Definitions(assets=[tiny, tiny_summary, broken])
    ok = materialize_everything(DagsterInstance.ephemeral(), verbose=True, groups=["tiny"], definitions=defs)
    out = capsys.readouterr().out
    assert not ok
    lines = out.splitlines()
    assert re.fullmatch(r"  raw/tiny\s+1,234 rows\s+\d+\.\d s", lines[0]), out
    assert any(re.fullmatch(r"  marts/tiny_summary\s+3 rows\s+\d+\.\d s", line) for line in lines), out
    assert any(re.fullmatch(r"  marts/broken\s+FAILED\s+\d+\.\d s", line) for line in lines), out
    assert "FAILED marts__broken: ValueError: the feed is broken" in out
    assert "DEBUG" not in out and "STEP_START" not in out  # one line per asset, not the event log


def test_warehouse_is_current_only_for_the_same_raw_files_and_settings(tmp_path, monkeypatch):
    import os

    from csm_analytics.runner import record_materialized, stamp_path, warehouse_is_current

    monkeypatch.delenv("CSM_CURRENCY", raising=False)
    raw, warehouse = tmp_path / "raw", tmp_path / "warehouse.duckdb"
    raw.mkdir()
    (raw / "accounts.parquet").write_bytes(b"one")
    assert not warehouse_is_current(warehouse, raw)  # nothing materialized yet
    warehouse.write_bytes(b"db")
    record_materialized(warehouse, raw, ok=True)
    assert warehouse_is_current(warehouse, raw)
    stat = (raw / "accounts.parquet").stat()
    os.utime(raw / "accounts.parquet", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a new export
    assert not warehouse_is_current(warehouse, raw)
    record_materialized(warehouse, raw, ok=True)
    (raw / "tickets.csv").write_text("a\n")  # a new file
    assert not warehouse_is_current(warehouse, raw)
    record_materialized(warehouse, raw, ok=True)
    monkeypatch.setenv("CSM_CURRENCY", "EUR")  # a setting
    assert not warehouse_is_current(warehouse, raw)
    record_materialized(warehouse, raw, ok=False)  # a failed run leaves no stamp
    assert not stamp_path(warehouse).exists() and not warehouse_is_current(warehouse, raw)


def test_a_history_shorter_than_a_year_skips_the_monthly_report_and_says_why(capsys, monkeypatch):
    """A new deployment (or the benchmark's two-day history) has no report month yet: the runner skips the
    executive report with a line saying so, where it used to launch it without a partition and fail."""
    from dagster import MonthlyPartitionsDefinition, define_asset_job, job, op

    from csm_analytics import runner
    from csm_analytics.reports.executive import assets as executive

    no_month = MonthlyPartitionsDefinition(start_date="2026-10-01", end_date="2026-10-01")
    assert no_month.get_last_partition_key() is None
    monkeypatch.setattr(executive, "REPORT_MONTHS", no_month)

    @op
    def report_without_a_month():
        raise AssertionError("the report job ran without a month")

    @job(name="executive_monthly_report")
    def must_not_run():
        report_without_a_month()

    defs = Definitions(assets=[tiny], jobs=[define_asset_job("qbr_packs", selection=[tiny]), must_not_run])
    assert runner._partitioned_reports(DagsterInstance.ephemeral(), True, defs)
    out = capsys.readouterr().out
    assert re.search(r"reports/executive_monthly_report\s+skipped: no report month yet", out), out
