"""The generator is deterministic, matches the canonical schemas and honours its spec."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from csm_analytics.canonical.schemas import CANONICAL_TABLES, to_model_frame
from csm_analytics.world.generator import MANIFEST, generate_world, world_is_current
from csm_analytics.world.spec import WorldSpec


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*.parquet"))}


def test_same_seed_gives_identical_files(tmp_path, default_world):
    again = tmp_path / "again"
    generate_world(WorldSpec(), again, progress=False)
    assert _digests(again) == _digests(default_world)
    assert len(_digests(again)) == len(CANONICAL_TABLES) + 3  # + ground-truth files


def test_other_seed_gives_other_world(tmp_path, default_world):
    other = tmp_path / "other"
    generate_world(WorldSpec(seed=8), other, progress=False)
    assert _digests(other)["accounts.parquet"] != _digests(default_world)["accounts.parquet"]


@pytest.mark.parametrize("table", list(CANONICAL_TABLES))
def test_generated_tables_pass_their_pandera_model(default_world, table):
    model = CANONICAL_TABLES[table][0]
    frame = to_model_frame(model, pq.read_table(default_world / f"{table}.parquet"))
    assert len(frame) > 0
    model.validate(frame, lazy=True)


def test_spec_defaults_and_manifest(default_world):
    manifest = json.loads((default_world / MANIFEST).read_text())
    assert manifest["spec"]["accounts"] == 220 and manifest["spec"]["csms"] == 8
    assert manifest["spec"]["history_days"] == 730 and manifest["spec"]["usage_grain"] == "day"
    assert world_is_current(WorldSpec(), default_world)
    assert not world_is_current(WorldSpec(seed=99), default_world)
    accounts = pd.read_parquet(default_world / "accounts.parquet")
    usage = pd.read_parquet(default_world / "product_usage.parquet", columns=["usage_date"])
    assert len(accounts) == 220 and accounts.account_id.is_unique
    assert usage.usage_date.max() == dt.date(2026, 9, 30)
    assert usage.usage_date.min() == dt.date(2024, 10, 1)
    assert manifest["rows"]["product_usage"] == len(usage)


def test_coarser_usage_grain(tmp_path):
    out = tmp_path / "weekly"
    generate_world(WorldSpec(accounts=50, usage_grain="week", history_days=140), out, progress=False)
    usage = pd.read_parquet(out / "product_usage.parquet")
    assert set(usage.grain) == {"week"}
    assert (usage.groupby("account_id").size() <= 20).all()
    assert usage.usage_date.min() == dt.date(2026, 5, 14)


def test_schema_docs_are_current():
    """docs/schemas.md is rendered from the models; regenerate with `csm-analytics schemas`."""
    from csm_analytics.canonical.docs import render_schema_docs
    from csm_analytics.lib.paths import PROJECT_ROOT

    assert (PROJECT_ROOT / "docs" / "schemas.md").read_text() == render_schema_docs()


def test_a_world_missing_a_newer_table_is_regenerated(tmp_path):
    """A world written before a table existed (say `referrals`) is not current, so `generate` rewrites it."""
    out = tmp_path / "old"
    spec = WorldSpec(accounts=20, history_days=150)
    generate_world(spec, out, progress=False)
    assert world_is_current(spec, out)
    (out / "referrals.parquet").unlink()
    assert not world_is_current(spec, out)
