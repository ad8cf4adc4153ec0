"""The durable alert outbox: a SQLite file, so sensors never touch the DuckDB warehouse.

Every alert is recorded here before any send. Its status moves
pending -> sent | digest | suppressed (a failing alert stays pending; there is no terminal `failed`).
SQLite in WAL mode lets the materialization (enqueue), the sensor (deliver) and the CLI
(ack, snooze, dismiss) work on it at the same time.

Delivery claims one alert at a time with a lease (`lease_owner`, `lease_until`, set in one
`BEGIN IMMEDIATE` transaction), so two deliverers never work on the same alert: a sensor tick
that overran Dagster's deadline and runs beside the next tick, or two processes. Every write a
deliverer makes while it holds the lease is fenced on its owner id, and a lease that expired
(its holder was killed) can be claimed again.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_key TEXT NOT NULL UNIQUE,
    rule TEXT NOT NULL, severity TEXT NOT NULL, account_id TEXT NOT NULL,
    csm_id TEXT, csm_slack_id TEXT, manager TEXT, event_date TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    status_reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    channel TEXT, ts TEXT, dm_channel TEXT, dm_ts TEXT,
    updates INTEGER NOT NULL DEFAULT 0,
    enqueued_at TEXT NOT NULL, sent_at TEXT,
    acknowledged_at TEXT, acknowledged_by TEXT,
    escalated_at TEXT, digested_at TEXT
);
CREATE INDEX IF NOT EXISTS alerts_open ON alerts (account_id, rule, status);
CREATE TABLE IF NOT EXISTS snoozes (account_id TEXT NOT NULL, rule TEXT NOT NULL, until TEXT NOT NULL,
                                    PRIMARY KEY (account_id, rule));
CREATE TABLE IF NOT EXISTS slack_channels (name TEXT PRIMARY KEY, channel_id TEXT NOT NULL);
"""

# Columns added after the first release; an outbox created before them gets them on open.
ADDED_COLUMNS = {
    "lease_owner": "TEXT", "lease_until": "REAL",  # the claim: who delivers it, until when (unix seconds)
    "merged_into": "TEXT",  # the open alert whose Slack message this one updated
    "digest_key": "TEXT", "digest_channel": "TEXT", "digest_ts": "TEXT",  # the digest message that carries it
}


class LeaseLost(RuntimeError):
    """Another deliverer holds this alert now (our lease expired): stop without sending or recording."""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Outbox:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as con:
            con.executescript(SCHEMA)
            have = {r["name"] for r in con.execute("PRAGMA table_info(alerts)").fetchall()}
            for column, kind in ADDED_COLUMNS.items():
                if column not in have:
                    con.execute(f"ALTER TABLE alerts ADD COLUMN {column} {kind}")

    @contextmanager
    def connect(self):
        """This thread's connection (autocommit; explicit BEGIN IMMEDIATE where several statements must be one).

        Kept open: closing the last connection checkpoints the WAL, which made every outbox write cost a sync."""
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA journal_mode=WAL")
            self._local.con = con
        yield con

    @contextmanager
    def transaction(self):
        """Several statements as one, holding the write lock from the start (BEGIN IMMEDIATE); rolled back on
        any error, so the kept connection is never left inside a transaction."""
        with self.connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def enqueue(self, events: list[dict]) -> int:
        """Record alerts as pending; an alert key already present is ignored (exactly-once enqueue)."""
        added = 0
        with self.transaction() as con:
            for e in events:
                cur = con.execute(
                    "INSERT OR IGNORE INTO alerts (alert_key, rule, severity, account_id, csm_id, csm_slack_id, manager, "
                    "event_date, payload, enqueued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (e["alert_key"], e["rule"], e["severity"], e["account_id"], e.get("csm_id"), e.get("csm_slack_id"),
                     e.get("manager"), str(e["event_date"])[:10], json.dumps(e, default=str), _now()))
                added += cur.rowcount
        return added

    def rows(self, where: str = "1=1", params: tuple = ()) -> list[sqlite3.Row]:
        with self.connect() as con:
            return con.execute(f"SELECT * FROM alerts WHERE {where} ORDER BY seq", params).fetchall()

    def get(self, alert_key: str) -> sqlite3.Row | None:
        found = self.rows("alert_key = ?", (alert_key,))
        return found[0] if found else None

    def update(self, alert_key: str, **fields) -> None:
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.connect() as con:
            con.execute(f"UPDATE alerts SET {sets} WHERE alert_key = ?", (*fields.values(), alert_key))

    # --- the claim -------------------------------------------------------------------------------------------

    def claim_next(self, owner: str, lease_seconds: float, after_seq: int = 0, where: str = "status = 'pending'",
                   params: tuple = ()) -> sqlite3.Row | None:
        """Lease the first alert after `after_seq` matching `where` that nobody holds (or whose lease expired)."""
        now = time.time()
        with self.transaction() as con:
            row = con.execute(f"SELECT seq FROM alerts WHERE ({where}) AND seq > ? "
                              "AND (lease_until IS NULL OR lease_until < ?) ORDER BY seq LIMIT 1",
                              (*params, after_seq, now)).fetchone()
            if row is not None:
                con.execute("UPDATE alerts SET lease_owner = ?, lease_until = ? WHERE seq = ?",
                            (owner, now + lease_seconds, row["seq"]))
        if row is None:
            return None
        with self.connect() as con:
            return con.execute("SELECT * FROM alerts WHERE seq = ?", (row["seq"],)).fetchone()

    def renew(self, alert_key: str, owner: str, lease_seconds: float) -> None:
        """Extend our lease before a send; raises LeaseLost if another deliverer took the alert over."""
        with self.connect() as con:
            cur = con.execute("UPDATE alerts SET lease_until = ? WHERE alert_key = ? AND lease_owner = ? AND lease_until >= ?",
                              (time.time() + lease_seconds, alert_key, owner, time.time()))
        if cur.rowcount != 1:
            raise LeaseLost(f"{alert_key}: the lease of {owner} expired and another deliverer may hold it")

    def record(self, alert_key: str, owner: str, **fields) -> None:
        """Write delivery results, only while `owner` holds the lease (raises LeaseLost otherwise)."""
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.connect() as con:
            cur = con.execute(f"UPDATE alerts SET {sets} WHERE alert_key = ? AND lease_owner = ?",
                              (*fields.values(), alert_key, owner))
        if cur.rowcount != 1:
            raise LeaseLost(f"{alert_key}: not held by {owner}")

    def release(self, alert_key: str, owner: str) -> None:
        with self.connect() as con:
            con.execute("UPDATE alerts SET lease_owner = NULL, lease_until = NULL WHERE alert_key = ? AND lease_owner = ?",
                        (alert_key, owner))

    def bump_attempts(self, alert_key: str, owner: str) -> None:
        """Counted before the send, so a crash mid-send still shows the attempt (and the next one looks first)."""
        with self.connect() as con:
            con.execute("UPDATE alerts SET attempts = attempts + 1 WHERE alert_key = ? AND lease_owner = ?", (alert_key, owner))

    # --- Slack channel ids -------------------------------------------------------------------------------------

    def channel_id(self, name: str) -> str | None:
        with self.connect() as con:
            row = con.execute("SELECT channel_id FROM slack_channels WHERE name = ?", (name,)).fetchone()
        return row["channel_id"] if row else None

    def remember_channel(self, name: str, channel_id: str) -> None:
        with self.connect() as con:
            con.execute("INSERT OR REPLACE INTO slack_channels VALUES (?, ?)", (name, channel_id))

    # --- digests ---------------------------------------------------------------------------------------------

    def assign_digests(self, day: dt.date, per_message: int) -> None:
        """Give every alert waiting for the digest a digest key (per CSM and day, `per_message` alerts per
        message) before anything is posted, so a rerun after a crash posts the same messages or finds them."""
        with self.transaction() as con:
            waiting = con.execute("SELECT seq, coalesce(csm_slack_id, '') AS slack_id FROM alerts "
                                  "WHERE status = 'digest' AND digest_key IS NULL AND digested_at IS NULL ORDER BY seq").fetchall()
            by_csm: dict[str, list[int]] = {}
            for r in waiting:
                by_csm.setdefault(r["slack_id"], []).append(r["seq"])
            for slack_id, seqs in by_csm.items():
                prefix = f"digest:{slack_id}:{day}:"
                used = con.execute("SELECT count(DISTINCT digest_key) FROM alerts WHERE digest_key LIKE ? || '%'",
                                   (prefix,)).fetchone()[0]
                for i in range(0, len(seqs), per_message):
                    key = f"{prefix}{used + i // per_message + 1}"
                    con.executemany("UPDATE alerts SET digest_key = ? WHERE seq = ?", [(key, s) for s in seqs[i:i + per_message]])

    # --- the CLI and the fatigue controls ----------------------------------------------------------------------

    def snooze(self, account_id: str, rule: str, until: dt.date) -> None:
        with self.connect() as con:
            con.execute("INSERT OR REPLACE INTO snoozes VALUES (?, ?, ?)", (account_id, rule, until.isoformat()))

    def snoozed(self, account_id: str, rule: str, on: dt.date) -> bool:
        with self.connect() as con:
            row = con.execute("SELECT until FROM snoozes WHERE account_id = ? AND rule = ?", (account_id, rule)).fetchone()
        return row is not None and on.isoformat() <= row["until"]

    def acknowledge(self, alert_key: str, by: str, at: str | None = None) -> bool:
        with self.connect() as con:
            cur = con.execute("UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ? "
                              "WHERE alert_key = ? AND acknowledged_at IS NULL", (at or _now(), by, alert_key))
        return cur.rowcount == 1

    def acknowledge_many(self, acks: list[tuple[str, str, str]]) -> int:
        """(alert_key, by, at) each; in one transaction. Returns how many open alerts this acknowledged.

        An alert merged into an open one (its event only updated that alert's Slack message) acknowledges that
        open alert too: the message the CSM answered is the open alert's, and it is the one that would escalate."""
        rows = [(at, by, key) for key, by, at in acks]
        with self.transaction() as con:
            before = con.total_changes
            con.executemany("UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ? "
                            "WHERE alert_key = ? AND acknowledged_at IS NULL", rows)
            con.executemany("UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ? WHERE acknowledged_at IS NULL "
                            "AND alert_key = (SELECT merged_into FROM alerts WHERE alert_key = ?)", rows)
            return con.total_changes - before

    def dismiss(self, alert_key: str) -> bool:
        with self.connect() as con:
            cur = con.execute("UPDATE alerts SET status = 'suppressed', status_reason = 'dismissed' "
                              "WHERE alert_key = ? AND status IN ('pending', 'digest', 'sent')", (alert_key,))
        return cur.rowcount == 1

    def max_seq(self) -> int:
        with self.connect() as con:
            return con.execute("SELECT coalesce(max(seq), 0) FROM alerts").fetchone()[0]
