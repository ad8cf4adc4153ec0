"""Deterministic demo-world generator: chunks of accounts, vectorized numpy, streamed to Parquet.

Memory stays bounded by the chunk size (10,000 accounts), whatever the world size.
The same spec gives byte-identical files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from csm_analytics.canonical import schemas
from csm_analytics.canonical.sql import arrow_schema
from csm_analytics.world import signals
from csm_analytics.world.acknowledgments import alert_acknowledgments
from csm_analytics.world.advocacy import advocacy_tables
from csm_analytics.world.contracts import CHURNED, RenewalSignals, build_contracts
from csm_analytics.world.latent import (
    CSM_NAMES,
    CsmTraits,
    latent_health,
    make_accounts,
    make_csms,
    with_leading_zero_cumsum,
)
from csm_analytics.world.manifest import (
    MANIFEST, TRUTH_DIR, ForeignFilesError, check_can_generate, manifest_text, remove_owned, world_is_current,
)
from csm_analytics.world.spec import CHUNK_ACCOUNTS, WorldSpec
from csm_analytics.world.tables import (
    EPOCH,
    ChunkWriter,
    build_chunk_tables,
    usage_periods,
)

TRUTH_SCHEMAS = {
    "account_truth": pa.schema([
        ("account_id", pa.string()), ("trajectory", pa.string()), ("onset_date", pa.date32()),
        ("base_health", pa.float64()), ("latent_health_at_as_of", pa.float64()), ("growth_rate", pa.float64()),
        ("payment_risk", pa.float64()),
    ]),
    "contract_truth": pa.schema([
        ("contract_id", pa.string()), ("p_churn", pa.float64()), ("p_downgrade", pa.float64()),
    ]),
    "csm_truth": pa.schema([
        ("csm_id", pa.string()), ("skill", pa.float64()), ("activity", pa.float64()),
        ("analytics_adoption", pa.float64()), ("median_ack_hours", pa.float64()),
    ]),
}


def generate_world(spec: WorldSpec, out: Path, progress: bool = True) -> dict[str, int]:
    """Write one Parquet file per canonical table into `out` (and ground truth into `out/_truth`).

    Only files the previous manifest lists are replaced or deleted; a user's file the world would overwrite
    or shadow (a CSV of the same table) stops generation with `ForeignFilesError` before anything is written.
    """
    out = Path(out)
    written = [f"{name}.parquet" for name in schemas.CANONICAL_TABLES] + [f"{TRUTH_DIR}/{name}.parquet" for name in TRUTH_SCHEMAS]
    check_can_generate(out, written)
    remove_owned(out)
    (out / TRUTH_DIR).mkdir(parents=True, exist_ok=True)
    # Claim the files before writing them, so an interrupted run leaves files the next run may replace.
    (out / MANIFEST).write_text(json.dumps({"spec": None, "files": {rel: None for rel in written}}))
    csms = make_csms(spec)
    writers = {
        name: pq.ParquetWriter(out / f"{name}.parquet", arrow_schema(model), compression="zstd")
        for name, (model, _, _) in schemas.CANONICAL_TABLES.items()
    }
    truth = {name: pq.ParquetWriter(out / TRUTH_DIR / f"{name}.parquet", s, compression="zstd")
             for name, s in TRUTH_SCHEMAS.items()}
    counts = {name: 0 for name in writers}
    try:
        _write_csms(spec, csms, writers, truth, counts)
        chunks = range(0, spec.accounts, CHUNK_ACCOUNTS)
        for chunk, offset in enumerate(tqdm(chunks, desc="generating accounts", unit="chunk", disable=not progress)):
            n = min(CHUNK_ACCOUNTS, spec.accounts - offset)
            for name, table in _chunk(spec, csms, chunk, offset, n, truth).items():
                writers[name].write_table(table.cast(writers[name].schema))
                counts[name] += table.num_rows
    finally:
        for w in [*writers.values(), *truth.values()]:
            w.close()
    (out / MANIFEST).write_text(manifest_text(spec, counts, out, written))
    return counts


def _write_csms(spec: WorldSpec, csms: CsmTraits, writers, truth, counts) -> None:
    rng = np.random.default_rng([spec.seed, 9])
    m = len(csms.ids)
    names = [CSM_NAMES[i % len(CSM_NAMES)] + ("" if i < len(CSM_NAMES) else f" {i // len(CSM_NAMES) + 1}") for i in range(m)]
    base = (spec.start - EPOCH).days
    managers = np.where(np.arange(m) < (m + 1) // 2, "Morgan Lee", "Sasha Novak")
    table = pa.table({
        "csm_id": pa.array(csms.ids), "name": pa.array(names), "capacity": pa.array(csms.capacity),
        "start_date": pa.array((base + csms.start_day).astype(np.int32), pa.date32()),
        "manager": pa.array(managers),
        "slack_user_id": pa.array([f"U{v:08X}" for v in rng.integers(0, 2**32, m)]),
    })
    writers["csms"].write_table(table.cast(writers["csms"].schema))
    counts["csms"] = m
    truth["csm_truth"].write_table(pa.table({
        "csm_id": pa.array(csms.ids), "skill": pa.array(csms.skill), "activity": pa.array(csms.activity),
        "analytics_adoption": pa.array(csms.adoption), "median_ack_hours": pa.array(csms.responsiveness_hours),
    }))
    workdays = [i for i in range(spec.history_days) if (spec.start.toordinal() + i) % 7 not in (6, 0)]
    draws = rng.random((m, len(workdays)))
    ci, wi = np.nonzero(draws < csms.adoption[:, None] * 0.8)
    day = np.array(workdays)[wi]
    pages = np.array(["portfolio", "health", "churn", "qbr_packs", "alerts"], dtype=object)
    logins = pa.table({
        "csm_id": pa.array(csms.ids[ci]),
        "login_at": pa.array(((base + day).astype(np.int64) * 86_400 + 8 * 3600 + rng.integers(0, 9 * 3600, len(ci))) * 1_000_000,
                             pa.timestamp("us")),
        "page": pa.array(pages[rng.integers(0, len(pages), len(ci))]),
    })
    writers["dashboard_logins"].write_table(logins.cast(writers["dashboard_logins"].schema))
    counts["dashboard_logins"] = logins.num_rows


def chunk_state(spec: WorldSpec, csms: CsmTraits, chunk: int, offset: int, n: int):
    """Latents, events and the contract book of one chunk: what `_chunk` writes out, and what `world.oracle` reads.

    Returns (accounts, latent health, the events stream's generator, events, contract book)."""
    d = spec.history_days
    acc = make_accounts(spec, csms, chunk, offset, n)
    health = latent_health(spec, acc, chunk)
    rng = np.random.default_rng([spec.seed, 3, chunk])
    ev = {
        "tickets": signals.support_tickets(rng, acc, health),
        "invoices": signals.invoices(rng, acc, health, d),
        "qbrs": signals.qbrs(rng, acc, csms, health, d),
        "surveys": signals.surveys(rng, acc, health, d),
        "incidents": signals.incidents(rng, acc, health),
    }
    nps = ev["surveys"]["kind"] == 0
    inc = ev["incidents"]
    sig = RenewalSignals(
        health_cumsum=with_leading_zero_cumsum(health),
        escalations=signals.daily_counts(n, d, ev["tickets"], ev["tickets"]["escalated"]),
        failed_payments=signals.daily_counts(n, d, ev["invoices"], ev["invoices"]["failed"]),
        missed_qbrs=signals.daily_counts(n, d, {"acc": ev["qbrs"]["acc"], "day": ev["qbrs"]["scheduled_day"]}, ~ev["qbrs"]["held"]),
        critical_incidents=signals.daily_counts(n, d, inc, (inc["kind"] == 0) | (inc["severity"] == 0)),
        latest_nps=signals.last_value_before(n, d, {k: v[nps] for k, v in ev["surveys"].items()}, ev["surveys"]["score"][nps]),
    )
    book, ev["opportunities"] = build_contracts(spec, acc, csms, health, sig, ev["qbrs"], chunk)
    return acc, health, rng, ev, book


def _chunk(spec: WorldSpec, csms: CsmTraits, chunk: int, offset: int, n: int, truth) -> dict[str, pa.Table]:
    d = spec.history_days
    acc, health, rng, ev, book = chunk_state(spec, csms, chunk, offset, n)
    for name in ("tickets", "qbrs", "surveys", "incidents"):
        keep = ev[name]["day"] <= book.active_to[ev[name]["acc"]]
        ev[name] = {k: v[keep] for k, v in ev[name].items()}
    ev["activities"] = signals.activities(rng, acc, csms, health, book.active_to)
    usage = usage_periods(rng, acc, book, health, spec.resolved_usage_grain, spec.start)
    w = ChunkWriter(spec.start, acc, csms, chunk)
    tables = build_chunk_tables(w, csms, book, ev, usage, rng, d - 1, spec.resolved_usage_grain)
    tables["alert_acknowledgments"] = alert_acknowledgments(w, acc, csms, tables, np.random.default_rng([spec.seed, 5, chunk]), d - 1)
    tables.update(advocacy_tables(w, book, ev, health, np.random.default_rng([spec.seed, 6, chunk]), d - 1))
    _write_truth(w, acc, book, health, truth)
    return tables


def _write_truth(w: ChunkWriter, acc, book, health, truth) -> None:
    trajectory = np.array(["stable", "deteriorating", "improving"], dtype=object)[acc.trajectory]
    truth["account_truth"].write_table(pa.table({
        "account_id": w.account_ids, "trajectory": pa.array(trajectory, pa.string()),
        "onset_date": w.date(acc.onset_day), "base_health": pa.array(acc.base_health),
        "latent_health_at_as_of": pa.array(health[:, -1].astype(np.float64)),
        "growth_rate": pa.array(acc.growth), "payment_risk": pa.array(acc.payment_risk),
    }), )
    ai, cj = np.nonzero(book.valid)
    truth["contract_truth"].write_table(pa.table({
        "contract_id": w.contract_ids(ai, book.number[ai, cj]),
        "p_churn": pa.array(book.p_churn[ai, cj]), "p_downgrade": pa.array(book.p_downgrade[ai, cj]),
    }))


__all__ = ["generate_world", "world_is_current", "CHURNED", "MANIFEST", "TRUTH_DIR", "ForeignFilesError"]
