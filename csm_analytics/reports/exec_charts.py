"""Charts of the executive report: health-band distribution over time, segments side by side."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from csm_analytics.lib.display import currency
from csm_analytics.reports.charts import BAND_COLORS, _style, png_bytes


def band_distribution(rows: list[dict]) -> bytes:
    fig, ax = plt.subplots(figsize=(7.2, 2.6))
    labels = [r["month_end"].strftime("%b %y") for r in rows]
    bottom = np.zeros(len(rows))
    for key, band in (("healthy", "Healthy"), ("watch", "Watch"), ("at_risk", "At risk")):
        totals = np.array([r["healthy"] + r["watch"] + r["at_risk"] for r in rows], dtype=float)
        share = np.array([r[key] for r in rows], dtype=float) / np.where(totals == 0, 1, totals)
        ax.bar(labels, share * 100, bottom=bottom, color=BAND_COLORS[band], label=band, width=0.7)
        bottom += share * 100
    ax.set_ylim(0, 100)
    ax.set_ylabel("% of active accounts", fontsize=8)
    _style(ax, "Health-band distribution at each month end")
    # below the month labels: never over the bars, the labels or the title
    ax.legend(frameon=False, fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.13))
    return png_bytes(fig)


def segment_comparison(retention: list[dict], risk: list[dict]) -> bytes:
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.4, 2.6))
    names = [r["segment"] for r in retention]
    x = np.arange(len(names))
    for i, (key, label, color) in enumerate((("grr", "GRR", "#94a3b8"), ("nrr", "NRR", "#1d4ed8"),
                                              ("logo_retention", "Logo retention", "#2e7d32"))):
        left.bar(x + (i - 1) * 0.26, [100 * (r[key] or 0) for r in retention], width=0.26, label=label, color=color)
    left.axhline(100, color="#6b7280", linewidth=0.8, linestyle="--")
    left.set_xticks(x, names)
    _style(left, "Retention by segment (TTM, %)")
    left.set_ylim(0, max([110.0] + [100 * (r[k] or 0) for r in retention for k in ("grr", "nrr", "logo_retention")]) * 1.05)
    left.legend(frameon=False, fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    by = {r["name"]: r for r in risk}
    right.bar(names, [by.get(n, {}).get("revenue_at_risk", 0) / 1000 for n in names], color="#c62828")
    _style(right, f"Revenue at risk by segment (thousands, {currency()})")
    fig.tight_layout()
    return png_bytes(fig)
