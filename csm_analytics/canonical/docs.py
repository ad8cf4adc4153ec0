"""Render docs/schemas.md from the pandera models, so the docs cannot drift from validation."""

from __future__ import annotations

from csm_analytics.canonical.descriptions import column_description
from csm_analytics.canonical.schemas import (
    CANONICAL_TABLES, EARLIEST_DATE, ID_PATTERN, LATEST_DATE, REQUIRED_TABLES, ROW_RULES,
)
from csm_analytics.canonical.sql import TEXT_FORM_HINTS, sql_columns


def render_schema_docs() -> str:
    lines = [
        "# Canonical raw tables",
        "",
        "Generated from `csm_analytics/canonical/schemas.py` by `csm-analytics schemas`; do not edit by hand.",
        "Put one file per table in `data/raw/` as `<table>.parquet` or `<table>.csv` (header row, ISO dates).",
        "Rows that break a rule below are quarantined in `raw.rejected_rows` with their reasons; a missing",
        "column, an unreadable file or a column of an incompatible type stops the load with an error naming",
        "the file, the column and the expected type. See docs/intake.md for what happens to a bad file.",
        "",
        f"- **Ids** (every `*_id` column, and `alert_key`) match `{ID_PATTERN}`: no spaces, quotes or padding.",
        f"- **Dates and timestamps** fall between {EARLIEST_DATE} and {LATEST_DATE}. Timestamps are UTC without an",
        "  offset; a Parquet `TIMESTAMP WITH TIME ZONE` is converted to UTC.",
        "- **Numbers** are finite: NaN and ±infinity are quarantined.",
        "- **CSV text** must be written as the type expects, or the row is quarantined (never coerced): "
        + "; ".join(f"{t}: {hint}" for t, hint in TEXT_FORM_HINTS.items()) + ".",
        f"- **Required tables** ({', '.join(REQUIRED_TABLES)}) may not be empty: a header-only file blocks the load.",
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
        for _, reason in ROW_RULES.get(table, []):
            lines += [f"Row rule: {reason}.", ""]
    return "\n".join(lines)
