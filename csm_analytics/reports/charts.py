"""Charts for reports: matplotlib figures rendered to PNG bytes (Agg backend, no screen needed)."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from csm_analytics.lib.display import label, money  # noqa: E402

BAND_COLORS = {"Healthy": "#2e7d32", "Watch": "#f9a825", "At risk": "#c62828"}
INK, MUTED, ACCENT = "#1f2937", "#6b7280", "#1d4ed8"


def png_bytes(fig, dpi: int = 110) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _style(ax, title: str | None = None) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color("#d1d5db")
    ax.spines["bottom"].set_color("#d1d5db")
    ax.tick_params(colors=MUTED, labelsize=8)
    ax.grid(axis="y", color="#eef0f3", linewidth=0.8)
    ax.set_axisbelow(True)
    if title:
        ax.set_title(title, loc="left", fontsize=10, color=INK, fontweight="bold")


def health_trend(points: list[dict], healthy: float, watch: float) -> bytes:
    fig, ax = plt.subplots(figsize=(7.2, 2.6))
    ax.axhspan(healthy, 100, color=BAND_COLORS["Healthy"], alpha=0.07)
    ax.axhspan(watch, healthy, color=BAND_COLORS["Watch"], alpha=0.09)
    ax.axhspan(0, watch, color=BAND_COLORS["At risk"], alpha=0.07)
    x = [p["as_of_date"] for p in points]
    y = [p["health_score"] for p in points]
    ax.plot(x, y, color=ACCENT, linewidth=2)
    if points:
        ax.scatter([x[-1]], [y[-1]], color=BAND_COLORS.get(points[-1]["band"], ACCENT), zorder=3, s=30)
        ax.annotate(f"{y[-1]:.0f}", (x[-1], y[-1]), textcoords="offset points", xytext=(6, -3), fontsize=9, color=INK)
    ax.set_ylim(max(0, min(y + [watch]) - 10) if y else 0, 100)
    ax.text(1.0, healthy + 1, "Healthy", transform=ax.get_yaxis_transform(), ha="right", fontsize=7, color=MUTED)
    ax.text(1.0, watch + 1, "Watch", transform=ax.get_yaxis_transform(), ha="right", fontsize=7, color=MUTED)
    _style(ax, "Health score, last 12 months (weekly)")
    fig.autofmt_xdate()
    return png_bytes(fig)


def component_bars(components: list[dict]) -> bytes:
    comps = sorted(components, key=lambda c: c["max"])
    fig, ax = plt.subplots(figsize=(7.2, 0.32 * len(comps) + 0.8))
    names = [label(c["component"]) for c in comps]
    ax.barh(names, [c["points"] for c in comps], color=ACCENT, label="points earned")
    ax.barh(names, [c["lost"] for c in comps], left=[c["points"] for c in comps], color="#fca5a5", label="points lost")
    for i, c in enumerate(comps):
        ax.text(c["max"] + 0.3, i, f"{c['points']:.1f} / {c['max']:.0f}", va="center", fontsize=8, color=INK)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    _style(ax, "Where the score comes from (points by component)")
    ax.grid(axis="x", color="#eef0f3")
    return png_bytes(fig)


def small_multiples(monthly: list[dict], series: dict[str, str], title: str) -> bytes:
    fig, axes = plt.subplots(1, len(series), figsize=(7.4, 1.9))
    months = [m["month"] for m in monthly]
    for ax, (key, label) in zip(axes, series.items()):
        ax.plot(months, [m[key] for m in monthly], color=ACCENT, linewidth=1.8, marker="o", markersize=2.5)
        _style(ax, None)
        ax.set_title(label, fontsize=8, color=INK, loc="left")
        ax.tick_params(axis="x", labelrotation=45, labelsize=6)
        ax.xaxis.set_major_formatter(matplotlib.dates.DateFormatter("%b"))
    fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold", color=INK)
    fig.tight_layout()
    return png_bytes(fig)


def arr_history(contracts: list[dict], as_of) -> bytes:
    fig, ax = plt.subplots(figsize=(7.2, 2.2))
    for c in contracts:
        end = min(c["end_date"], as_of)
        ax.hlines(c["arr"], c["start_date"], end, color=ACCENT, linewidth=3)
        ax.annotate(money(c["arr"]), (c["start_date"], c["arr"]), textcoords="offset points", xytext=(0, 5),
                    fontsize=7, color=MUTED)
    if contracts:
        top = max(c["arr"] for c in contracts)
        ax.set_ylim(0, top * 1.3)
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v / 1000:,.0f}k"))
    _style(ax, "ARR by contract term")
    fig.autofmt_xdate()
    return png_bytes(fig)


def percentile_bars(metrics: list[dict], peer_group: str) -> bytes:
    rows = [m for m in metrics if m["percentile"] is not None]
    fig, ax = plt.subplots(figsize=(7.2, 0.42 * max(len(rows), 1) + 0.8))
    names = [m["label"] for m in rows]
    values = [m["percentile"] for m in rows]
    colors = ["#2e7d32" if v >= 75 else "#c62828" if v < 25 else ACCENT for v in values]
    ax.barh(names, values, color=colors)
    ax.axvline(50, color=MUTED, linestyle="--", linewidth=0.8)
    for i, v in enumerate(values):
        ax.text(v + 1, i, f"better than {v}%", va="center", fontsize=8, color=INK)
    ax.set_xlim(0, 118)
    ax.invert_yaxis()
    _style(ax, f"Percentile among {peer_group} peers (50 = median)")
    ax.grid(axis="x", color="#eef0f3")
    return png_bytes(fig)
