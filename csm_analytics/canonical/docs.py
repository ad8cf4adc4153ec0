"""Render docs/schemas.md from the pandera models, so the docs cannot drift from validation."""

from __future__ import annotations

from csm_analytics.canonical.descriptions import column_description
from csm_analytics.canonical.schemas import CANONICAL_TABLES
from csm_analytics.canonical.sql import sql_columns


def render_schema_docs() -> str:
    lines = [
        "# Canonical raw tables",
        "",
        "Generated from `csm_analytics/canonical/schemas.py` by `csm-analytics schemas`; do not edit by hand.",
        "Put one file per table in `data/raw/` as `<table>.parquet` or `<table>.csv` (header row, ISO dates).",
        "Rows that break a rule below are quarantined in `raw.rejected_rows` with their reasons; a missing",
        "column, an unreadable file or a column of an incompatible type stops the load with an error naming",
        "the file, the column and the expected type.",
        "",
    ]
    for table, (model, keys, parents) in CANONICAL_TABLES.items():
        doc = (model.__doc__ or "").strip()
        lines += [f"## {table}", ""]
        if doc and not doc.startswith("Base class"):
            lines += [" ".join(doc.split()), ""]
        lines += [f"Key: {', '.join(keys)}." + (" References: " + ", ".join(f"`{c}` → {p}" for c, p in parents.items()) + "." if parents else ""), ""]
        lines += ["| column | meaning | type | nullable | rules |", "|---|---|---|---|---|"]
        for col in sql_columns(model):
            rules = "; ".join(reason for _, reason in col.checks) or ""
            lines.append(f"| {col.name} | {column_description(table, col.name) or ''} | {col.sql_type} | {'yes' if col.nullable else 'no'} | {rules} |")
        lines.append("")
    return "\n".join(lines)
