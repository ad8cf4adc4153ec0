"""Every canonical column has a description, and the raw assets carry it into their column schema."""

from __future__ import annotations

from csm_analytics.canonical.descriptions import COMMON, DESCRIPTIONS, column_description
from csm_analytics.canonical.schemas import CANONICAL_TABLES
from csm_analytics.sources.assets import build_source_asset


def test_every_canonical_column_is_described_and_no_description_is_stale():
    columns = {t: list(model.to_schema().columns) for t, (model, _, _) in CANONICAL_TABLES.items()}
    missing = [(t, c) for t, cols in columns.items() for c in cols if not column_description(t, c)]
    assert missing == []
    stale = [(t, c) for t, cols in DESCRIPTIONS.items() for c in cols if c not in columns.get(t, [])]
    assert stale == []
    assert all(any(c in cols for cols in columns.values()) for c in COMMON)


def test_raw_asset_column_schema_has_the_descriptions():
    spec = next(iter(build_source_asset("contracts").specs))
    schema = spec.metadata["dagster/column_schema"]
    by_name = {c.name: c for c in schema.columns}
    assert by_name["arr"].description == "Annual recurring revenue of the contract, in the reporting currency."
    assert by_name["account_id"].description.startswith("Client account identifier")
    assert by_name["arr"].type == "float64" and "> 0" in by_name["arr"].constraints.other
