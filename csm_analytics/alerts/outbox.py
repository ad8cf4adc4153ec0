"""The durable alert outbox: a SQLite file, so sensors never touch the DuckDB warehouse.

Every alert is recorded here before any send. Its status moves
pending -> sent | digest | suppressed (| failed is never final: a failing alert stays pending).
SQLite in WAL mode lets the materialization (enqueue), the sensor (deliver) and the CLI
(ack, snooze, dismiss) work on it at the same time.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
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
"""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Outbox:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as con:
            con.executescript(SCHEMA)

    @contextmanager
    def connect(self):
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA journal_mode=WAL")
        try:
            yield con
        finally:
            con.close()

    def enqueue(self, events: list[dict]) -> int:
        """Record alerts as pending; an alert key already present is ignored (exactly-once enqueue)."""
        added = 0
        with self.connect() as con:
            con.execute("BEGIN IMMEDIATE")
            for e in events:
                cur = con.execute(
                    "INSERT OR IGNORE INTO alerts (alert_key, rule, severity, account_id, csm_id, csm_slack_id, manager, "
                    "event_date, payload, enqueued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (e["alert_key"], e["rule"], e["severity"], e["account_id"], e.get("csm_id"), e.get("csm_slack_id"),
                     e.get("manager"), str(e["event_date"])[:10], json.dumps(e, default=str), _now()))
                added += cur.rowcount
            con.execute("COMMIT")
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

    def bump_attempts(self, alert_key: str) -> None:
        """Counted before the send, so a crash mid-send still shows the attempt."""
        with self.connect() as con:
            con.execute("UPDATE alerts SET attempts = attempts + 1 WHERE alert_key = ?", (alert_key,))

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

    def dismiss(self, alert_key: str) -> bool:
        with self.connect() as con:
            cur = con.execute("UPDATE alerts SET status = 'suppressed', status_reason = 'dismissed' "
                              "WHERE alert_key = ? AND status IN ('pending', 'digest', 'sent')", (alert_key,))
        return cur.rowcount == 1

    def max_seq(self) -> int:
        with self.connect() as con:
            return con.execute("SELECT coalesce(max(seq), 0) FROM alerts").fetchone()[0]
