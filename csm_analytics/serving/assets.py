"""Dagster wiring of the serving layer: ingest the workspace side store, publish the serving snapshot."""

from __future__ import annotations

from dagster import (
    AssetKey,
    AssetSpec,
    MaterializeResult,
    asset,
    multi_asset,
)
from dagster_duckdb import DuckDBResource

from csm_analytics.alerts.resources import AlertOutboxResource
from csm_analytics.lib.metadata import table_md
from csm_analytics.lib.warehouse import WAREHOUSE_POOL
from csm_analytics.serving.ingest import ingest
from csm_analytics.serving.publish import MIRRORED, publish
from csm_analytics.serving.resources import WorkspaceStoresResource

SNAPSHOT_KEY = AssetKey(["serving", "snapshot"])
ACTIONS_KEY = AssetKey(["raw", "workspace_actions"])
EVENTS_KEY = AssetKey(["raw", "workspace_events"])


@multi_asset(pool=WAREHOUSE_POOL, group_name="serving",
             specs=[AssetSpec(ACTIONS_KEY, kinds={"duckdb", "sqlite"},
                              description="What workspace users did (acknowledge / snooze / dismiss an alert, mark a "
                                          "QBR action item done, add a note), copied from the side store."),
                    AssetSpec(EVENTS_KEY, kinds={"duckdb", "sqlite"},
                              description="Workspace logins and page views (usage telemetry), from the side store.")])
def workspace_side_store(duckdb: DuckDBResource, workspace_stores: WorkspaceStoresResource):
    store = workspace_stores.actions()
    with duckdb.get_connection() as con:
        counts = ingest(con, store)
    yield MaterializeResult(asset_key=ACTIONS_KEY, metadata={"dagster/row_count": counts["raw.workspace_actions"],
                                                             "side_store": str(store.path)})
    yield MaterializeResult(asset_key=EVENTS_KEY, metadata={"dagster/row_count": counts["raw.workspace_events"]})


SNAPSHOT_DEPS = [AssetKey(t.split(".")) for t in MIRRORED.values()] + [
    AssetKey(["core", "account_health_history"]), AssetKey(["core", "account_health_components"]),
    AssetKey(["core", "health_weights"]), AssetKey(["alerts", "alert_events"]), AssetKey(["marts", "csm_daily_brief"]), EVENTS_KEY] + [
    AssetKey(["raw", t]) for t in ("accounts", "contracts", "csm_assignments", "product_usage", "support_tickets",
                                   "activities", "qbrs", "dashboard_logins")]


@asset(pool=WAREHOUSE_POOL, key=SNAPSHOT_KEY, group_name="serving", kinds={"duckdb"}, deps=SNAPSHOT_DEPS,
       description="The read-only snapshot the workspace app reads (data/serving/serving.duckdb): marts, scores, "
                   "90-day history, alerts with their delivery state. Written to a temporary file, then swapped in "
                   "atomically, so the app never opens the warehouse and never sees half a snapshot.")
def serving_snapshot(duckdb: DuckDBResource, alert_outbox: AlertOutboxResource,
                     workspace_stores: WorkspaceStoresResource) -> MaterializeResult:
    outbox_rows = [dict(r) for r in alert_outbox.outbox().rows()]
    with duckdb.get_connection() as con:
        report = publish(con, workspace_stores.serving(), outbox_rows)
    return MaterializeResult(metadata={
        "path": str(report.path), "as_of_date": str(report.as_of), "published_at": report.published_at,
        "publish_seconds": round(report.seconds, 2), "file_mb": round(report.bytes / 1e6, 1),
        "tables": table_md(sorted(report.rows.items()), ["table", "rows"])})


serving_assets = [workspace_side_store, serving_snapshot]
