"""Small renderers for asset metadata that a human reads in the Dagster UI."""

from __future__ import annotations

import base64
import io

import duckdb
from dagster import MetadataValue


def preview(con: duckdb.DuckDBPyConnection, sql: str, limit: int = 10) -> MetadataValue:
    df = con.execute(f"SELECT * FROM ({sql}) LIMIT {limit}").df()
    return MetadataValue.md(df.to_markdown(index=False) if len(df) else "_no rows_")


def table_md(rows: list[tuple], headers: list[str]) -> MetadataValue:
    if not rows:
        return MetadataValue.md("_none_")
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(v) for v in r) + " |" for r in rows]
    return MetadataValue.md("\n".join(lines))


def png_md(fig, title: str) -> MetadataValue:
    """Embed a matplotlib figure as a PNG inside markdown metadata."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode()
    return MetadataValue.md(f"![{title}](data:image/png;base64,{data})")
