"""Small renderers for asset metadata that a human reads in the Dagster UI.

Every table goes through `lib.display`: money with its currency and thousands separators, ratios as
percentages, empty as "—". A column's kind is given (`kinds={"nrr": "pct1"}`) or read from its name
(`column_kind`), so a preview of any table reads the same way as the reports.
"""

from __future__ import annotations

import base64
import io

import duckdb
from dagster import MetadataValue

from csm_analytics.lib.display import EMPTY, cell

_MONEY_NAMES = {"arr", "mrr", "amount", "revenue_at_risk", "downgrade_amount", "opportunity_amount",
                "expansion_pipeline", "estimated_expansion_arr", "weighted_amount"}
_MONEY_SUFFIXES = ("_arr", "_mrr", "_amount", "_revenue", "_pipeline")
_PCT_NAMES = {"nrr", "grr", "logo_retention", "churn_probability", "seat_utilization", "share", "coverage_rate"}
_PCT_SUFFIXES = ("_rate", "_share", "_probability", "_pct")


def column_kind(name: str) -> str | None:
    """money / pct1 / None (guess from the value) for a column name; see the module docstring."""
    n = name.lower().strip().replace(" ", "_")
    if n in _MONEY_NAMES or n.endswith(_MONEY_SUFFIXES):
        return "money"
    if n in _PCT_NAMES or n.endswith(_PCT_SUFFIXES):
        return "pct1"
    return None


def _md(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(v.replace("|", "\\|").replace("\n", " ") for v in r) + " |" for r in rows]
    return "\n".join(lines)


def rows_md(rows, headers: list[str], kinds: dict[str, str] | None = None) -> str:
    """Markdown for rows of values, each cell formatted by its column's kind."""
    kinds = kinds or {}
    col_kinds = [kinds.get(h, column_kind(h)) for h in headers]
    return _md(headers, [[cell(v, k) for v, k in zip(r, col_kinds)] for r in rows])


def frame_md(df, kinds: dict[str, str] | None = None, empty: str = "_no rows_") -> MetadataValue:
    if not len(df):
        return MetadataValue.md(empty)
    return MetadataValue.md(rows_md(df.itertuples(index=False, name=None), list(df.columns), kinds))


def preview(con: duckdb.DuckDBPyConnection, sql: str, limit: int = 10,
            kinds: dict[str, str] | None = None) -> MetadataValue:
    df = con.execute(f"SELECT * FROM ({sql}) LIMIT {limit}").df()
    return frame_md(df, kinds)


def table_md(rows: list[tuple], headers: list[str], kinds: dict[str, str] | None = None) -> MetadataValue:
    if not rows:
        return MetadataValue.md("_none_")
    return MetadataValue.md(rows_md(rows, headers, kinds))


def png_md(fig, title: str) -> MetadataValue:
    """Embed a matplotlib figure as a PNG inside markdown metadata."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode()
    return MetadataValue.md(f"![{title}](data:image/png;base64,{data})")


__all__ = ["EMPTY", "column_kind", "frame_md", "png_md", "preview", "rows_md", "table_md"]
