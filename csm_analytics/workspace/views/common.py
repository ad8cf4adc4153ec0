"""Queries more than one page shares (all through the data-access module, so all row-level filtered)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from csm_analytics.alerts.config import load_alert_config
from csm_analytics.lib.actions_store import SideStoreError
from csm_analytics.workspace.data_access import WorkspaceData, alert_state


def side_actions(ws: WorkspaceData) -> tuple[pd.DataFrame, str | None]:
    """Side-store actions on the user's accounts, and a warning when the store is unreachable."""
    try:
        return ws.actions(), None
    except SideStoreError as exc:
        return pd.DataFrame(), f"Actions cannot be read or saved right now: {exc}"


def item_id(row) -> str:
    return f"{row['qbr_id']}|{row['action']}"


def open_action_items(ws: WorkspaceData, overdue_only: bool = False) -> pd.DataFrame:
    """QBR action items still open (or overdue), minus those marked done in the workspace since the snapshot."""
    where = "status = 'overdue'" if overdue_only else "status IN ('open', 'overdue')"
    items = ws.query("qbr_action_items", where, order="due_date, account_id, action")
    if items.empty:
        return items
    actions, _ = side_actions(ws)
    if not actions.empty:
        done = set(actions.loc[actions["action"] == "action_item_done", "item_id"])
        items = items[[item_id(r) not in done for _, r in items.iterrows()]]
    return items.reset_index(drop=True)


def sla_hours() -> dict[str, float]:
    try:
        return load_alert_config().sla_hours
    except Exception:  # noqa: BLE001 - the documented defaults when the rules file is unreadable
        return {"critical": 4.0, "warning": 24.0}


def open_alerts(ws: WorkspaceData, include_closed: bool = False) -> pd.DataFrame:
    """Alerts in the snapshot with their state after workspace actions and their SLA clock."""
    alerts = ws.query("alerts", order="event_date DESC, alert_key",
                      columns="alert_key, rule, severity, account_id, event_date, headline, sent_at, acknowledged_at")
    if alerts.empty:
        return alerts
    actions, _ = side_actions(ws)
    alerts = alert_state(alerts, actions, ws.as_of)
    now = ws.freshness().published_at + dt.timedelta(hours=ws.freshness().age_hours)
    limits = sla_hours()

    sent = pd.to_datetime(alerts["sent_at"], utc=True, errors="coerce", format="ISO8601")
    hours = (pd.Timestamp(now) - sent).dt.total_seconds() / 3600
    limit = alerts["severity"].map(limits).fillna(24.0)
    clock = hours.round(0).astype("Int64").astype(str) + " h of " + limit.round(0).astype(int).astype(str) + " h"
    clock = clock.where(hours <= limit, clock + " · OVERDUE")
    alerts["sla_clock"] = clock.where(sent.notna(), "not sent yet")
    return alerts if include_closed else alerts[alerts["state"] == "open"].reset_index(drop=True)
