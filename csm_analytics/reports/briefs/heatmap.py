"""The risk heatmap: accounts as rows, five risk dimensions as columns, red = risk.

Each dimension is 100 minus a health component on the latest scored day (docs/reports.md):
payroll accuracy <- incidents, payment health <- payment, engagement <- engagement,
growth <- usage (seat utilisation, key features, usage trend), sentiment <- sentiment.
A component with no data stays empty (grey), never 0.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from csm_analytics.canonical.ownership import OWNER_PERIODS

# risk dimension -> the health component it is read from
DIMENSIONS = {"payroll_accuracy": "incidents", "payment_health": "payment", "engagement": "engagement",
              "growth": "usage", "sentiment": "sentiment"}
LABELS = {"payroll_accuracy": "Payroll\naccuracy", "payment_health": "Payment\nhealth", "engagement": "Engagement",
          "growth": "Growth", "sentiment": "Sentiment"}


def risk_sql() -> str:
    """One row per account scored on the latest day: its CSM, ARR, the five risks (0-100) and their mean."""
    risks = ", ".join(f"round(100 - c.{component}, 1) AS {dim}" for dim, component in DIMENSIONS.items())
    values = ", ".join(f"100 - c.{component}" for component in DIMENSIONS.values())
    return f"""
WITH latest AS (SELECT max(as_of_date) AS d FROM core.account_health_components),
owner AS (
    SELECT o.account_id, o.csm_id FROM {OWNER_PERIODS} o, latest
    WHERE latest.d BETWEEN o.valid_from AND coalesce(o.valid_to, DATE '9999-12-31')
    QUALIFY row_number() OVER (PARTITION BY o.account_id ORDER BY o.valid_from DESC) = 1
),
arr AS (
    SELECT c.account_id, sum(c.arr) AS arr FROM raw.contracts c, latest
    WHERE latest.d BETWEEN c.start_date AND c.end_date GROUP BY c.account_id
)
SELECT coalesce(o.csm_id, 'unassigned') AS csm_id, c.account_id, a.account_name, round(r.arr, 0) AS arr, {risks},
       round(list_avg(list_filter([{values}], lambda v: v IS NOT NULL)), 1) AS overall_risk
FROM core.account_health_components c JOIN latest ON c.as_of_date = latest.d
JOIN raw.accounts a USING (account_id)
LEFT JOIN owner o USING (account_id)
LEFT JOIN arr r USING (account_id)
ORDER BY overall_risk DESC NULLS LAST, arr DESC, c.account_id
"""


def heatmap_rows(risks: pd.DataFrame, with_csm: bool = False, limit: int | None = None) -> pd.DataFrame:
    """The riskiest-first rows of `risks` (risk_sql's columns) as the frame render_risk_heatmap draws."""
    top = risks.sort_values(["overall_risk", "arr", "account_id"], ascending=[False, False, True],
                            na_position="last").head(limit)
    names = [name if name.endswith(f" {account}") else f"{name} ({account})"
             for name, account in zip(top["account_name"], top["account_id"])]
    labels = [f"{n} · {c}" for n, c in zip(names, top["csm_id"])] if with_csm else names
    return pd.DataFrame(top[list(DIMENSIONS)].to_numpy(dtype=float), index=labels, columns=list(DIMENSIONS))


def render_risk_heatmap(frame: pd.DataFrame, title: str, subtitle: str | None = None) -> bytes:
    """PNG bytes of a heatmap of `frame`: one row per account (index = label, drawn top to bottom in order),
    columns = DIMENSIONS, values = risk 0-100 (NaN = no data, drawn grey)."""
    values = frame[list(DIMENSIONS)].to_numpy(dtype=float)
    rows = max(len(frame), 1)
    label_width = max([len(str(s)) for s in frame.index] + [10])
    fig, ax = plt.subplots(figsize=(3.2 + 0.075 * label_width + 5 * 0.95, 1.9 + 0.3 * rows))
    cmap = plt.get_cmap("RdYlGn_r").with_extremes(bad="#d9d9d9")  # diverging: green = no risk, red = high risk
    shown = values if len(frame) else np.full((1, len(DIMENSIONS)), np.nan)
    image = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, vmin=0, vmax=100, aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        text, colour = ("n/a", "#555555") if np.isnan(v) else (f"{v:.0f}", "white" if v >= 80 or v <= 15 else "black")
        ax.text(j, i, text, ha="center", va="center", fontsize=8.5, color=colour)
    ax.set_xticks(range(len(DIMENSIONS)), [LABELS[d] for d in DIMENSIONS], fontsize=9.5)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(frame)), list(frame.index), fontsize=9)
    ax.set_xlabel("Risk dimension (100 minus the health component)", fontsize=9.5)
    ax.set_ylabel("Accounts, highest mean risk first", fontsize=9.5)
    ax.set_xticks(np.arange(-0.5, len(DIMENSIONS)), minor=True)
    ax.set_yticks(np.arange(-0.5, rows), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="both", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.03, shrink=min(1.0, 12 / rows) if rows > 12 else 1.0)
    bar.set_label("Risk: 0 = none, 100 = highest", fontsize=9)
    ax.set_title(title, fontsize=12.5, fontweight="bold", loc="left", pad=52)
    ax.annotate(subtitle or "Grey: no data for that dimension", xy=(0, 1), xycoords="axes fraction", xytext=(0, 36),
                textcoords="offset points", fontsize=8.5, color="#555555")
    if not len(frame):
        ax.text(2, 0, "no active accounts", ha="center", va="center", fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
