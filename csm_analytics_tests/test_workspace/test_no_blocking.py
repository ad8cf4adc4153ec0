"""A materialization (here: the publish, holding the warehouse's write lock) and the app reading run at once,
and neither waits for the other."""

from __future__ import annotations

import subprocess
import sys
import time

import duckdb

from csm_analytics.workspace import auth
from csm_analytics.workspace.data_access import WorkspaceData
from csm_analytics_tests.test_workspace.conftest import PASSWORD, USERS
from csm_analytics_tests.test_workspace.tiny_world import build_snapshot

PUBLISHER = """
import sys, time, duckdb
from pathlib import Path
from csm_analytics.serving.publish import publish
warehouse, serving, rounds = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
with duckdb.connect(warehouse) as con:  # holds the warehouse's single-writer lock throughout, like a run
    print("locked", flush=True)
    for i in range(rounds):
        con.execute("UPDATE raw.contracts SET arr = arr + 1")
        publish(con, serving, [])
        time.sleep(0.05)
"""


def test_publish_and_app_reads_run_at_the_same_time(tmp_path):
    warehouse, serving, actions = build_snapshot(tmp_path)  # its own copy: this test rewrites the snapshot
    workspace_env = {"warehouse": warehouse, "serving": serving, "actions": actions}
    auth.write_users(tmp_path / "users.toml", USERS[3:4], password=PASSWORD)
    user = auth.load_users(tmp_path / "users.toml")["vp"]
    held = WorkspaceData(user, workspace_env["serving"], workspace_env["actions"])  # an app session keeps it open
    held_arr = held.scalar("accounts", "sum(arr)")
    proc = subprocess.Popen([sys.executable, "-c", PUBLISHER, str(workspace_env["warehouse"]), str(workspace_env["serving"]),
                             "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    try:
        duckdb.connect(str(workspace_env["warehouse"]), read_only=True).close()
        warehouse_locked = False
    except duckdb.IOException:
        warehouse_locked = True
    seen, slowest = set(), 0.0
    while proc.poll() is None:
        started = time.perf_counter()
        ws = WorkspaceData(user, workspace_env["serving"], workspace_env["actions"])
        seen.add((ws.published_at, ws.scalar("accounts", "sum(arr)")))
        ws.close()
        slowest = max(slowest, time.perf_counter() - started)
    _, err = proc.communicate()
    assert proc.returncode == 0, err
    assert warehouse_locked  # the run really held the warehouse: the app could not have read it
    arrs = sorted(arr for _, arr in seen)
    assert len(arrs) >= 2 and all((arr - 240_000) % 4 == 0 for arr in arrs)  # whole snapshots only (+1 per account)
    assert held.scalar("accounts", "sum(arr)") == held_arr  # the open session still reads its snapshot
    held.close()
    assert slowest < 5.0, slowest  # generous: a read never waited for a publish (each read is milliseconds)
