"""PNG charts for the health assets' metadata (matplotlib, headless)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from csm_analytics.health.config import HealthConfig  # noqa: E402

BAND_COLORS = {"Healthy": "#2e7d32", "Watch": "#f9a825", "At risk": "#c62828"}


def score_histogram(scores: pd.Series, config: HealthConfig):
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.hist(scores, bins=range(0, 105, 5), color="#546e7a", edgecolor="white")
    for threshold, band in ((config.watch, "Watch"), (config.healthy, "Healthy")):
        ax.axvline(threshold, color=BAND_COLORS[band], linestyle="--", linewidth=1.5)
    ax.set_xlabel("health score")
    ax.set_ylabel("accounts")
    ax.set_title("Latest health scores (dashed: band thresholds)")
    plt.close(fig)
    return fig


def band_trend(weekly: pd.DataFrame):
    """`weekly` has columns week, band, accounts."""
    pivot = weekly.pivot(index="week", columns="band", values="accounts").fillna(0)
    pivot = pivot[[b for b in BAND_COLORS if b in pivot.columns]]
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.stackplot(pivot.index, *[pivot[b] for b in pivot.columns], labels=pivot.columns,
                 colors=[BAND_COLORS[b] for b in pivot.columns], alpha=0.85)
    ax.set_ylabel("accounts")
    ax.set_title("Accounts per band, weekly")
    ax.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    plt.close(fig)
    return fig
