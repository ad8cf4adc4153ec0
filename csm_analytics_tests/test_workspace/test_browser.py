"""End to end in a real browser (Debian chromium driven by Playwright) against the running workspace server.

A CSM logs in, opens the account drill, acknowledges an alert; the side store records it; after ingestion
marts.alert_response_sla counts it; another CSM cannot open that account.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

from csm_analytics.alerts.assets import alert_response_sla
from csm_analytics.alerts.resources import AlertOutboxResource
from csm_analytics.alerts.outbox import Outbox
from csm_analytics.lib.actions_store import ActionsStore
from csm_analytics.serving.assets import workspace_side_store
from csm_analytics.serving.resources import WorkspaceStoresResource
from csm_analytics.workspace import auth
from csm_analytics_tests.test_workspace.conftest import PASSWORD, USERS
from csm_analytics_tests.test_workspace.tiny_world import build_snapshot

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
ALERT = "health_drop:A1:2026-06-29"
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    warehouse, serving, actions = build_snapshot(tmp_path)
    with duckdb.connect(str(warehouse)) as con:  # the history the SLA mart reads beside the outbox
        con.execute("CREATE TABLE raw.alert_acknowledgments (alert_key VARCHAR, account_id VARCHAR, csm_id VARCHAR, "
                    "sent_at TIMESTAMP, acknowledged_at TIMESTAMP)")
    outbox = Outbox(tmp_path / "outbox.sqlite")
    outbox.enqueue([{"alert_key": ALERT, "rule": "health_drop", "severity": "critical", "account_id": "A1",
                     "csm_id": "C1", "event_date": "2026-06-29"}])
    outbox.update(ALERT, status="sent", sent_at="2026-06-30T08:00:00+00:00")
    auth.write_users(tmp_path / "users.toml", USERS[:2], password=PASSWORD)
    port = _free_port()
    env = dict(os.environ, CSM_SERVING_DB=str(serving), CSM_WORKSPACE_ACTIONS=str(actions),
               CSM_WORKSPACE_USERS=str(tmp_path / "users.toml"))
    log = open(tmp_path / "streamlit.log", "w")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "csm-analytics"), "workspace", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("workspace did not start: " + (tmp_path / "streamlit.log").read_text()[-2000:])
        time.sleep(0.3)
    yield {"url": f"http://127.0.0.1:{port}", "warehouse": warehouse, "actions": actions, "outbox": outbox}
    os.killpg(proc.pid, 15)
    proc.wait(timeout=20)
    log.close()


def _login(page, url: str, username: str, path: str = "") -> None:
    page.goto(f"{url}/{path}")
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_csm_acknowledges_an_alert_in_the_browser_and_the_sla_mart_counts_it(server):
    from dagster import materialize
    from dagster_duckdb import DuckDBResource
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        _login(page, server["url"], "c1", "account_drill?account=A1")
        expect(page.get_by_text("A1 · Acme <b>Corp</b>")).to_be_visible(timeout=30_000)  # shown as text, escaped
        expect(page.get_by_text("$48,000", exact=True)).to_be_visible()  # revenue at risk = 0.40 x 120,000

        page.get_by_role("link", name="Alerts & actions").click()
        expect(page.get_by_role("heading", name="Alerts & actions")).to_be_visible(timeout=30_000)
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("No open alert.")).to_be_visible(timeout=30_000)  # acknowledged: off the open list
        deadline = time.monotonic() + 30
        while not ActionsStore(server["actions"]).actions() and time.monotonic() < deadline:
            time.sleep(0.2)
        rows = ActionsStore(server["actions"]).actions()
        assert [(r["username"], r["action"], r["alert_key"]) for r in rows] == [("c1", "acknowledge", ALERT)]

        other = browser.new_page()
        _login(other, server["url"], "c2", "account_drill?account=A1")
        expect(other.get_by_text("not found")).to_be_visible(timeout=30_000)
        assert other.get_by_text("Acme").count() == 0
        browser.close()

    result = materialize([workspace_side_store, alert_response_sla], resources={
        "duckdb": DuckDBResource(database=str(server["warehouse"])),
        "alert_outbox": AlertOutboxResource(path=str(server["outbox"].path)),
        "workspace_stores": WorkspaceStoresResource(actions_path=str(server["actions"]))})
    assert result.success
    with duckdb.connect(str(server["warehouse"]), read_only=True) as con:
        critical = con.execute("SELECT coverage, acknowledged FROM marts.alert_response_sla "
                               "WHERE severity = 'critical'").fetchall()
    assert critical == [(1, 1)]  # the one delivered critical alert, acknowledged in the browser
