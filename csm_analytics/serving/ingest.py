"""Copy the workspace side store into the warehouse (raw.workspace_actions, raw.workspace_events).

The side store only grows, so each ingestion replaces the two raw tables with the whole store: re-running is
idempotent and nothing a user did is lost or counted twice. An unreadable store fails the run and keeps
the tables of the last good ingestion (a broken feed never replaces good data).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from csm_analytics.lib.warehouse import replace_table
from csm_analytics.lib.actions_store import ActionsStore

ACTION_COLUMNS = {"action_id": "BIGINT", "recorded_at": "TIMESTAMPTZ", "username": "VARCHAR", "csm_id": "VARCHAR",
                  "action": "VARCHAR", "account_id": "VARCHAR", "alert_key": "VARCHAR", "item_id": "VARCHAR",
                  "reason": "VARCHAR", "snooze_until": "DATE", "note": "VARCHAR"}
EVENT_COLUMNS = {"event_id": "BIGINT", "recorded_at": "TIMESTAMPTZ", "username": "VARCHAR", "csm_id": "VARCHAR",
                 "role": "VARCHAR", "event": "VARCHAR", "page": "VARCHAR"}


def _typed_select(columns: dict[str, str]) -> str:
    return "SELECT " + ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in columns.items()) + " FROM frame"


def ingest(con: duckdb.DuckDBPyConnection, store: ActionsStore) -> dict[str, int]:
    """Replace the two raw tables with the store's rows; returns their row counts."""
    actions = pd.DataFrame(store.actions(), columns=list(ACTION_COLUMNS)).astype("string")
    events = pd.DataFrame(store.events(), columns=list(EVENT_COLUMNS)).astype("string")
    return {"raw.workspace_actions": replace_table(con, "raw.workspace_actions", _typed_select(ACTION_COLUMNS), actions),
            "raw.workspace_events": replace_table(con, "raw.workspace_events", _typed_select(EVENT_COLUMNS), events)}

