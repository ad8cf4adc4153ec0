"""Bands are listed by severity (Healthy, Watch, At risk), never alphabetically."""

from __future__ import annotations

import pandas as pd

from csm_analytics.health import validation
from csm_analytics.health.config import BANDS, band_rank, load_health_config


def test_bands_in_severity_order_match_the_config():
    config = load_health_config()
    assert BANDS == ("Healthy", "Watch", "At risk")
    assert [config.band(s) for s in (config.healthy, config.watch, config.watch - 0.01)] == list(BANDS)
    assert sorted(["At risk", "Healthy", None, "Watch"], key=band_rank) == ["Healthy", "Watch", "At risk", None]


def test_loss_rate_by_band_is_in_severity_order(monkeypatch):
    frame = pd.DataFrame({"band": ["At risk", "Healthy", "Watch", "Healthy"], "lost_revenue": [1, 0, 1, 1],
                          "health_score": [40.0, 80.0, 60.0, 90.0]})
    monkeypatch.setattr(validation, "renewal_outcomes_at_lead", lambda con, lead_days: frame)
    result = validation.score_auc(None)
    assert result["by_band"] == [("Healthy", 2, 0.5), ("Watch", 1, 1.0), ("At risk", 1, 1.0)]
