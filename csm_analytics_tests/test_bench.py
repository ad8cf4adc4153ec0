"""The bench report's arithmetic: the scaling fit, medians across merged result files, the targets."""

from __future__ import annotations

import json

import pytest

from csm_analytics.bench.__main__ import load_results, render
from csm_analytics.bench.report import fit_exponent


def test_fit_exponent_recovers_linear_and_quadratic_growth():
    assert fit_exponent([(100_000, 2.0), (1_000_000, 20.0), (10_000_000, 200.0)]) == pytest.approx(1.0)
    assert fit_exponent([(10, 1.0), (20, 4.0), (40, 16.0)]) == pytest.approx(2.0)
    assert fit_exponent([(10, 1.0)]) is None


def _run(seconds: float, rss: int, load: float | None = None) -> dict:
    run = {"ok": True, "seconds": seconds, "peak_rss": rss, "steps": {"raw__accounts": {"seconds": seconds / 2, "peak_rss": rss}}}
    if load is not None:
        run["load"] = load
    return run


def test_merged_result_files_report_medians_and_targets(tmp_path):
    gb = 2**30
    small = {"gen": {"220": [{"seconds": 0.2, "rows": 10, "peak_rss": gb}] * 3},
             "mat": {"220": [_run(30, gb), _run(50, gb), _run(70, gb)]}, "inc": {}, "pandas": [], "latency": [],
             "repeat": {"220": 3}, "measured_at": "2026-11-25 19:57 UTC"}
    big = {"gen": {"1000000": [{"seconds": 150.0, "rows": 99, "peak_rss": gb}]},
           "mat": {"1000000": [_run(400, 5 * gb, load=1.5)]},
           "inc": {"1000000": [_run(40, 2 * gb)]}, "pandas": [], "latency": [], "repeat": {"1000000": 1},
           "measured_at": "2026-11-25 20:18 UTC"}
    (tmp_path / "a.json").write_text(json.dumps(small))
    (tmp_path / "b.json").write_text(json.dumps(big))
    results = load_results([tmp_path / "a.json", tmp_path / "b.json"])
    assert results["repeat"] == {220: 3, 1_000_000: 1}
    text = render(results, "make bench")
    assert "started 2026-11-25 19:57 UTC" in text
    # 220: median 50 s < 60 s, met; 1M: 400 s < 600 s but 5 GB > 4 GB, not met; a single run says so
    assert "| 220 | every asset; daily assets over the whole 730-day history | 50.0 s | 1,024 MB | < 60 s | yes | n/a | median of 3 |" in text
    assert "| 400.0 s | 5,120 MB | < 600 s, < 4 GB | **no** | 1.5 | **single run** |" in text
    assert "| 1,000,000 | 40.0 s | 2,048 MB | 400.0 s | 10.0x faster | **single run** |" in text


def test_a_step_of_several_runs_is_labelled_with_its_run_count():
    from csm_analytics.bench.report import per_asset

    run = _run(100, 2**30)
    run["steps"]["reports__qbr_pack"] = {"seconds": 12.5, "peak_rss": 2**29, "runs": 10}
    lines = per_asset("Full graph", [run])
    assert "| reports__qbr_pack (10 runs) | 12.50 s | 512 MB |" in lines
    assert "| raw__accounts | 50.00 s | 1,024 MB |" in lines


def test_big_worlds_build_only_the_soonest_due_qbr_packs(tmp_path):
    import datetime as dt

    import duckdb
    from dagster import Definitions
    from dagster_duckdb import DuckDBResource

    from csm_analytics.bench.children import qbr_packs_for
    from csm_analytics.runner import _soonest_due

    assert qbr_packs_for(220) is None and qbr_packs_for(100_000) == 10
    path = tmp_path / "wh.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.qbr_pipeline (account_id VARCHAR, next_qbr_due DATE, due_window VARCHAR)")
        con.executemany("INSERT INTO marts.qbr_pipeline VALUES (?, ?, ?)", [
            ("A4", dt.date(2026, 10, 20), "this quarter"), ("A1", dt.date(2026, 8, 1), "overdue"),
            ("A3", dt.date(2026, 10, 5), "this quarter"), ("A2", dt.date(2026, 10, 5), "this quarter"),
            ("A0", dt.date(2027, 1, 2), "next quarter")])
    defs = Definitions(resources={"duckdb": DuckDBResource(database=str(path))})
    assert _soonest_due(defs, 3) == ["A1", "A2", "A3"]  # overdue first, then by due date and account
    assert _soonest_due(defs, 10) == ["A1", "A2", "A3", "A4"]  # never a pack that is not due


def test_health_ratio_is_same_size_against_same_size():
    from csm_analytics.bench.report import health

    mb = 2**20
    runs = {100_000: {"pandas": [{"seconds": s, "peak_rss": 300 * mb} for s in (5.0, 3.0, 4.0)],
                      "sql": [{"seconds": s, "peak_rss": 200 * mb} for s in (1.0, 10.0, 2.0)]},
            1_000_000: {"sql": [{"seconds": 1.0, "peak_rss": mb}]}}  # no pandas at this size: no ratio, no row
    lines = health(runs)
    # medians: pandas 4 s, SQL 2 s -> 2.0x; the pandas row against itself is 1.0x
    assert "| 100,000 | DuckDB SQL, default threads | 2.00 s | 200 MB | 2.0x | median of 3 |" in lines
    assert "| 100,000 | careful pandas | 4.00 s | 300 MB | 1.0x | median of 3 |" in lines
    assert not any(line.startswith("| 1,000,000") for line in lines)
    # within each pair: 5/1, 3/10, 4/2
    assert "100,000 accounts, pandas time ÷ SQL time within each pair of runs: 5.0x, 0.3x, 2.0x (median **2.0x**)." in lines
