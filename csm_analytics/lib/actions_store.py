"""The workspace side store: what users do in the app, in a small SQLite file (WAL), never in the warehouse.

The app writes here (acknowledge / snooze / dismiss an alert, mark a QBR action item done, add a note,
log in, view a page); the `raw.workspace_actions` and `raw.workspace_events` assets copy it into the
warehouse so the next refresh counts it; the alert sensor reads the acknowledgments and dismissals at once,
so an alert answered in the app is not escalated in Slack. Rows are only appended: an action is never edited
or deleted. It lives in lib/ because two domains read it (serving ingests it, alerts applies it).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import contextmanager
from pathlib import Path

ALERT_ACTIONS = ("acknowledge", "snooze", "dismiss")
ACTIONS = (*ALERT_ACTIONS, "action_item_done", "note")
EVENTS = ("login", "page_view", "login_failed")

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS actions (
    action_id INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at TEXT NOT NULL, username TEXT NOT NULL, csm_id TEXT,
    action TEXT NOT NULL CHECK (action IN ({", ".join(repr(a) for a in ACTIONS)})),
    account_id TEXT NOT NULL, alert_key TEXT, item_id TEXT,
    reason TEXT, snooze_until TEXT, note TEXT,
    CHECK (action <> 'dismiss' OR length(trim(coalesce(reason, ''))) > 0),
    CHECK (action <> 'snooze' OR snooze_until IS NOT NULL),
    CHECK (action <> 'note' OR length(trim(coalesce(note, ''))) > 0)
);
CREATE INDEX IF NOT EXISTS actions_by_account ON actions (account_id);
CREATE TABLE IF NOT EXISTS events (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at TEXT NOT NULL, username TEXT NOT NULL, csm_id TEXT, role TEXT,
    event TEXT NOT NULL CHECK (event IN ({", ".join(repr(e) for e in EVENTS)})),
    page TEXT
);
"""


class SideStoreError(RuntimeError):
    """The side store cannot be opened or written (missing folder, read-only disk, locked, corrupt)."""


class InvalidAction(ValueError):
    """An action that breaks a rule (e.g. dismiss without a reason)."""


def utc_now() -> str:
    """The same timestamp form as the alert outbox (ISO 8601, UTC offset), so SLA arithmetic can mix them."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class ActionsStore:
    def __init__(self, path: str | Path, create: bool = True):
        self.path = Path(path)
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            elif not self.path.exists():
                raise SideStoreError(f"no side store at {self.path}")
            with self.connect() as con:
                con.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise SideStoreError(f"the workspace side store {self.path} is unreachable ({type(exc).__name__}: {exc}); "
                                 "check the folder exists and is writable") from exc

    @contextmanager
    def connect(self):
        con = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        con.row_factory = sqlite3.Row
        try:
            con.execute("PRAGMA journal_mode=WAL")
            yield con
        finally:
            con.close()

    def _write(self, sql: str, params: tuple) -> int:
        try:
            with self.connect() as con:
                return con.execute(sql, params).lastrowid
        except sqlite3.IntegrityError as exc:
            raise InvalidAction(str(exc)) from exc
        except sqlite3.Error as exc:
            raise SideStoreError(f"could not write to the workspace side store {self.path}: {exc}") from exc

    def record_action(self, *, username: str, csm_id: str | None, action: str, account_id: str,
                      alert_key: str | None = None, item_id: str | None = None, reason: str | None = None,
                      snooze_until: dt.date | None = None, note: str | None = None, at: str | None = None) -> int:
        """Append one user action; returns its id. Dismiss needs a reason, snooze a date, a note some text."""
        if action not in ACTIONS:
            raise InvalidAction(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
        if action in ALERT_ACTIONS and not alert_key:
            raise InvalidAction(f"{action} needs the alert key")
        if action == "dismiss" and not (reason or "").strip():
            raise InvalidAction("dismissing an alert needs a reason")
        if action == "action_item_done" and not item_id:
            raise InvalidAction("marking an action item done needs its id")
        return self._write(
            "INSERT INTO actions (recorded_at, username, csm_id, action, account_id, alert_key, item_id, reason, snooze_until, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (at or utc_now(), username, csm_id, action, account_id, alert_key, item_id, (reason or "").strip() or None,
             snooze_until.isoformat() if snooze_until else None, (note or "").strip() or None))

    def record_event(self, *, username: str, csm_id: str | None, role: str | None, event: str,
                     page: str | None = None, at: str | None = None) -> int:
        if event not in EVENTS:
            raise InvalidAction(f"unknown event {event!r}")
        return self._write("INSERT INTO events (recorded_at, username, csm_id, role, event, page) VALUES (?, ?, ?, ?, ?, ?)",
                           (at or utc_now(), username, csm_id, role, event, page))

    def _read(self, sql: str, params: tuple = ()) -> list[dict]:
        try:
            with self.connect() as con:
                return [dict(r) for r in con.execute(sql, params).fetchall()]
        except sqlite3.Error as exc:
            raise SideStoreError(f"could not read the workspace side store {self.path}: {exc}") from exc

    def actions(self, account_ids: list[str] | None = None) -> list[dict]:
        """Every action in order; only those on `account_ids` when given (the caller's row-level filter)."""
        if account_ids is None:
            return self._read("SELECT * FROM actions ORDER BY action_id")
        if not account_ids:
            return []
        marks = ", ".join("?" for _ in account_ids)
        return self._read(f"SELECT * FROM actions WHERE account_id IN ({marks}) ORDER BY action_id", tuple(account_ids))

    def alert_responses(self) -> list[dict]:
        """The first acknowledgment and the first dismissal of each alert: alert_key, action, recorded_at,
        username (SQLite takes the bare columns from the row holding the min)."""
        return self._read("SELECT alert_key, action, min(recorded_at) AS recorded_at, username FROM actions "
                          "WHERE action IN ('acknowledge', 'dismiss') AND alert_key IS NOT NULL "
                          "GROUP BY alert_key, action ORDER BY min(action_id)")

    def events(self) -> list[dict]:
        return self._read("SELECT * FROM events ORDER BY event_id")
