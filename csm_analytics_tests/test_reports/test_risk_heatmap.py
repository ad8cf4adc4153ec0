"""reports/risk_heatmap on the hand-built book: risks = 100 - components, riskiest first, valid PNGs per CSM and team."""

from __future__ import annotations

import io
import math

import duckdb
import matplotlib.image
import pandas as pd
from dagster import DagsterInstance, materialize
from dagster_duckdb import DuckDBResource

from csm_analytics.reports.briefs.assets import risk_heatmap
from csm_analytics.reports.briefs.config import DEFAULT_CONFIG
from csm_analytics.reports.briefs.heatmap import (
    DIMENSIONS,
    heatmap_rows,
    render_risk_heatmap,
)
from csm_analytics.reports.briefs.resources import BriefsConfigResource
from csm_analytics_tests.test_reports.briefs_world import build_book

PNG = b"\x89PNG\r\n\x1a\n"


def _pixels(data: bytes):
    return matplotlib.image.imread(io.BytesIO(data), format="png")


def test_heatmap_files_table_and_order(tmp_path, monkeypatch):
    monkeypatch.setenv("CSM_DATA_DIR", str(tmp_path / "data"))
    build_book(tmp_path / "warehouse.duckdb").close()
    config = tmp_path / "briefs.toml"
    config.write_text(DEFAULT_CONFIG.read_text().replace("team_rows = 40", "team_rows = 4")
                      .replace("csm_rows = 40", "csm_rows = 3"))
    result = materialize([risk_heatmap], instance=DagsterInstance.ephemeral(),
                         resources={"duckdb": DuckDBResource(database=str(tmp_path / "warehouse.duckdb")),
                                    "briefs_config": BriefsConfigResource(path=str(config))})
    meta = result.asset_materializations_for_node("reports__risk_heatmap")[0].metadata
    folder = tmp_path / "data" / "reports" / "heatmaps"
    assert sorted(p.name for p in folder.iterdir()) == ["CSM01.png", "CSM02.png", "team.png"]
    for png in folder.iterdir():
        assert png.read_bytes()[:8] == PNG and _pixels(png.read_bytes()).shape[0] > 100
    assert meta["rows_shown"].value.splitlines()[2:] == ["| team | 4 | 9 |", "| CSM01 | 3 | 8 |", "| CSM02 | 1 | 1 |"]
    assert meta["files"].value == 3 and meta["heatmap_team"].value.startswith("![team](data:image/png;base64,")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    risks = con.execute("SELECT * FROM reports.risk_heatmap").df()
    # hand-computed: A2 has components incidents 60, payment 100, engagement 40, usage 50, sentiment missing
    a2 = risks.set_index("account_id").loc["A2"]
    assert [a2[d] for d in list(DIMENSIONS)[:4]] == [40, 0, 60, 50] and math.isnan(a2["sentiment"])
    assert a2["overall_risk"] == 37.5 and a2["csm_id"] == "CSM01"
    team = heatmap_rows(risks, with_csm=True, limit=4)
    assert list(team.index) == ["H Corp (H) · CSM02", "A Corp (A) · CSM01", "A2 Corp (A2) · CSM01", "C Corp (C) · CSM01"]
    assert len(heatmap_rows(risks[risks.csm_id == "CSM01"])) == 8


def test_a_taller_book_gives_a_taller_image_and_an_empty_one_still_renders():
    def book(n):
        return pd.DataFrame([[10.0 * (i % 10)] * 5 for i in range(n)], index=[f"Account {i}" for i in range(n)],
                            columns=list(DIMENSIONS))

    five, thirty = _pixels(render_risk_heatmap(book(5), "5")), _pixels(render_risk_heatmap(book(30), "30"))
    assert thirty.shape[0] > five.shape[0] + 25 * 20  # at least ~20 px per extra row: labels stay legible
    assert render_risk_heatmap(book(0), "nobody")[:8] == PNG
