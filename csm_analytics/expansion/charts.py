"""PNG charts for the expansion assets' metadata (matplotlib, headless)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def lift_by_date(per_date: pd.DataFrame, target: float):
    """Top-decile lift on each as-of date of the backtest, with the target line."""
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar(pd.to_datetime(per_date["as_of_date"]), per_date["lift"], width=20, color="#546e7a")
    ax.axhline(target, color="#c62828", linestyle="--", linewidth=1.5)
    ax.set_ylabel("top-decile lift")
    ax.set_title(f"Expansion in the next 180 days: top decile vs base rate (dashed: {target:g}x target)")
    fig.autofmt_xdate()
    plt.close(fig)
    return fig


def forecast_vs_actual(accuracy: pd.DataFrame):
    """Each backtested quarter's forecast against what closed won."""
    fig, ax = plt.subplots(figsize=(7, 3))
    x = range(len(accuracy))
    ax.bar([i - 0.2 for i in x], accuracy["forecast"], width=0.4, label="forecast", color="#90a4ae")
    ax.bar([i + 0.2 for i in x], accuracy["actual"], width=0.4, label="closed won", color="#2e7d32")
    ax.set_xticks(list(x), [str(q)[:10] for q in accuracy["quarter_start"]], fontsize=8)
    ax.set_title("Expansion forecast vs actual per quarter")
    ax.legend(fontsize=8)
    plt.close(fig)
    return fig
