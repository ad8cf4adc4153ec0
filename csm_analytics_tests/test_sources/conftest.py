"""A warehouse with the parent feeds loaded, shared by the validation and bad-input tests."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from csm_analytics.sources.validation import load_table

LOADED_AT = dt.datetime(2026, 10, 1, 6, 0)


@pytest.fixture
def con(tmp_path, default_world):
    """A warehouse with the parent tables (csms, accounts) loaded from the default world."""
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    for parent in ("csms", "accounts"):
        load_table(con, parent, default_world, LOADED_AT)
    yield con
    con.close()
