"""The one door from the workspace pages to data: the serving snapshot (read-only) and the side store.

Row-level access lives here and nowhere else: a CSM sees the accounts of their book, a manager their team's,
a leader or admin all of them. Every account-level query is filtered by the caller's visible accounts and
every CSM-level query by the visible CSMs; an account outside them is "not found", exactly like one that
does not exist. Values are bound as parameters; table names come only from the fixed lists below.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from csm_analytics.serving import locations
from csm_analytics.lib import paths
from csm_analytics.lib.actions_store import ActionsStore, SideStoreError
from csm_analytics.workspace.auth import User

STALE_AFTER_HOURS = 36
MATERIALIZE_COMMAND = "csm-analytics materialize"
ACCOUNT_TABLES = ("accounts", "health_history", "health_components", "account_trends", "tickets", "interactions", "qbrs",
                  "alerts", "qbr_pipeline", "qbr_action_items", "qbr_records", "account_plan_status",
                  "expansion_signals", "risk_heatmap", "churn_predictions")
CSM_TABLES = ("daily_brief", "csm_scorecard", "csm_portfolio", "band_weeks", "adoption", "csms", "expansion_forecast")
# no account or CSM rows: team-wide findings and settings
SHARED_TABLES = ("health_bands", "health_config_changes", "coaching_insights")
LEADER_TABLES = ("account_management_kpis", "cs_ops_kpis", "revenue_retention", "renewal_forecast_accuracy",
                 "expansion_forecast_accuracy", "alert_quality", "alert_response_sla", "rebalancing_plan")


def _sql_string(path: Path) -> str:
    """A file path inside a SQL string literal (ATTACH takes no bound parameters; the path is configuration)."""
    return str(path).replace("'", "''")


class WorkspaceDataError(RuntimeError):
    """Shown to the user as a clear message with the next step, never as a traceback."""


class SnapshotMissing(WorkspaceDataError):
    pass


class SnapshotUnreadable(WorkspaceDataError):
    pass


class NotFound(LookupError):
    """No such account, or not one the user may see (the two are indistinguishable on purpose)."""


@dataclass(frozen=True)
class Freshness:
    as_of: dt.date
    published_at: dt.datetime
    age_hours: float

    @property
    def stale(self) -> bool:
        return self.age_hours > STALE_AFTER_HOURS

    def label(self) -> str:
        age = f"{self.age_hours:.0f} h" if self.age_hours < 48 else f"{self.age_hours / 24:.0f} days"
        return f"Data as of {self.as_of} · snapshot published {self.published_at:%Y-%m-%d %H:%M} UTC ({age} ago)"


class WorkspaceData:
    """One page run's view of the data for one user. Close it at the end of the run."""

    def __init__(self, user: User, serving_path: Path | None = None, actions_path: Path | None = None,
                 now: dt.datetime | None = None):
        self.user = user
        self.serving_path = Path(serving_path or locations.serving_path())
        self.actions_path = Path(actions_path or paths.workspace_actions_path())
        self._now = now
        if not self.serving_path.exists():
            raise SnapshotMissing(f"No serving snapshot yet at {self.serving_path}. Run `{MATERIALIZE_COMMAND}` "
                                  "(or `make run`) to build the warehouse and publish it.")
        try:
            # An in-memory instance of its own with the snapshot attached read-only: duckdb.connect(path) would reuse
            # a cached instance of the same path in this process, which still holds the snapshot it was opened on.
            self.con = duckdb.connect()
            self.con.execute(f"ATTACH '{_sql_string(self.serving_path)}' AS snapshot (READ_ONLY)")
            self.con.execute("USE snapshot")
            meta = self.con.execute("SELECT as_of_date, published_at FROM meta").fetchall()
        except duckdb.Error as exc:
            raise SnapshotUnreadable(f"The serving snapshot {self.serving_path} cannot be read ({type(exc).__name__}). "
                                     f"Run `{MATERIALIZE_COMMAND}` to publish a fresh one.") from exc
        if len(meta) != 1:
            self.close()
            raise SnapshotUnreadable(f"The serving snapshot {self.serving_path} has no as-of date. "
                                     f"Run `{MATERIALIZE_COMMAND}` to publish a fresh one.")
        self.as_of, published = meta[0]
        self.published_at = published.astimezone(dt.timezone.utc) if published.tzinfo else published.replace(tzinfo=dt.timezone.utc)
        self._csm_ids = self._scope()

    def close(self) -> None:
        if getattr(self, "con", None) is not None:
            self.con.close()
            self.con = None

    # ----- scope -------------------------------------------------------------------------------------------
    def _scope(self) -> list[str] | None:
        """The CSM ids whose books the user sees; None = everything (leader, admin)."""
        u = self.user
        if u.sees_everything:
            return None
        if u.role == "csm":
            return [u.csm_id]
        return [r[0] for r in self.con.execute("SELECT csm_id FROM csms WHERE manager = ? ORDER BY csm_id",
                                               [u.manager]).fetchall()]

    @property
    def csm_ids(self) -> list[str] | None:
        return None if self._csm_ids is None else list(self._csm_ids)

    def freshness(self) -> Freshness:
        now = self._now or dt.datetime.now(dt.timezone.utc)
        return Freshness(self.as_of, self.published_at, max(0.0, (now - self.published_at).total_seconds() / 3600))

    def _has(self, table: str) -> bool:
        return bool(self.con.execute("SELECT 1 FROM information_schema.tables WHERE table_catalog = 'snapshot' "
                                     "AND table_name = ?", [table]).fetchall())

    def query(self, table: str, where: str = "", params: list | None = None, order: str = "", limit: int | None = None,
              columns: str = "*", group: str = "") -> pd.DataFrame:
        """Rows of one snapshot table the user may see. `where`/`order`/`columns` are fixed SQL from page code,
        values always bound. A table missing from the snapshot gives an empty frame."""
        if table in ACCOUNT_TABLES:
            scope = ("account_id IN (SELECT account_id FROM accounts WHERE list_contains(?, csm_id))"
                     if table != "accounts" else "list_contains(?, csm_id)")
        elif table in CSM_TABLES:
            scope = "list_contains(?, csm_id)"
        elif table in SHARED_TABLES:
            scope = None
        elif table in LEADER_TABLES:
            if self._csm_ids is not None:
                raise PermissionError(f"{table} is for leaders")
            scope = None
        else:
            raise ValueError(f"unknown snapshot table {table!r}")
        if not self._has(table):
            return pd.DataFrame()
        clauses, bound = [], []
        if scope and self._csm_ids is not None:
            clauses.append(scope)
            bound.append(self._csm_ids)
        if where:
            clauses.append(f"({where})")
            bound += params or []
        sql = f"SELECT {columns} FROM {table}" + (f" WHERE {' AND '.join(clauses)}" if clauses else "")
        sql += f" GROUP BY {group}" if group else ""
        sql += f" ORDER BY {order}" if order else ""
        sql += f" LIMIT {int(limit)}" if limit else ""
        return self.con.execute(sql, bound).df()

    def scalar(self, table: str, expression: str, where: str = "", params: list | None = None):
        frame = self.query(table, where, params, columns=f"{expression} AS v")
        return None if frame.empty else frame["v"].iloc[0]

    def account(self, account_id: str) -> dict:
        """The account's summary row; NotFound when it does not exist or is not in the user's scope."""
        frame = self.query("accounts", "account_id = ?", [str(account_id or "")])
        if frame.empty:
            raise NotFound(f"Account {account_id!r} not found.")
        return frame.iloc[0].to_dict()

    # ----- side store --------------------------------------------------------------------------------------
    def _store(self) -> ActionsStore:
        return ActionsStore(self.actions_path)

    def actions(self, account_ids: list[str] | None = None) -> pd.DataFrame:
        """Side-store actions on visible accounts (raises SideStoreError when the store is unreachable)."""
        visible = self.visible_account_ids() if self._csm_ids is not None else None
        wanted = visible if account_ids is None else [a for a in account_ids if visible is None or a in set(visible)]
        rows = self._store().actions(wanted)
        return pd.DataFrame(rows)

    def visible_account_ids(self) -> list[str]:
        return self.query("accounts", columns="account_id")["account_id"].tolist()

    def record(self, action: str, account_id: str, **fields) -> int:
        """Record a user action on a visible account (NotFound otherwise)."""
        self.account(account_id)
        return self._store().record_action(username=self.user.username, csm_id=self.user.csm_id, action=action,
                                           account_id=account_id, **fields)

    def record_event(self, event: str, page: str | None = None) -> None:
        """Usage telemetry; never breaks a page (an unreachable store only loses the page view)."""
        try:
            self._store().record_event(username=self.user.username, csm_id=self.user.csm_id, role=self.user.role,
                                       event=event, page=page)
        except SideStoreError:
            pass


def alert_state(alerts: pd.DataFrame, actions: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """Each alert's state after the workspace actions: open, acknowledged, snoozed (until a day) or dismissed."""
    out = alerts.copy()
    if out.empty:
        return out.assign(state=pd.Series(dtype="object"))
    state = ["acknowledged" if pd.notna(a) else "open" for a in out.get("acknowledged_at", [None] * len(out))]
    out["state"] = state
    if actions is not None and not actions.empty:
        for _, act in actions[actions["alert_key"].notna()].sort_values("action_id").iterrows():
            hit = out["alert_key"] == act["alert_key"]
            if act["action"] == "acknowledge":
                out.loc[hit & (out["state"] != "dismissed"), "state"] = "acknowledged"
            elif act["action"] == "dismiss":
                out.loc[hit, "state"] = "dismissed"
            elif act["action"] == "snooze" and act["snooze_until"] and str(act["snooze_until"]) >= today.isoformat():
                out.loc[hit & (out["state"] == "open"), "state"] = f"snoozed until {act['snooze_until']}"
    return out
