"""The workspace app on the tiny hand-built snapshot: users of every role, a fresh side store per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from csm_analytics.workspace import auth
from csm_analytics_tests.test_workspace.tiny_world import build_snapshot

APP = str(Path(__file__).resolve().parents[2] / "csm_analytics" / "workspace" / "app.py")
PASSWORD = "s3cret-pass"
USERS = [
    {"username": "c1", "name": "Cara One", "role": "csm", "csm_id": "C1"},
    {"username": "c2", "name": "Carl Two", "role": "csm", "csm_id": "C2"},
    {"username": "mona", "name": "Mona Manager", "role": "manager", "manager": "Mona Manager"},
    {"username": "vp", "name": "VP", "role": "leader"},
    {"username": "ops", "name": "Ops", "role": "admin"},
]


@pytest.fixture(scope="session")
def tiny_snapshot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("workspace")
    warehouse, serving, _ = build_snapshot(folder)
    users = folder / "users.toml"
    auth.write_users(users, USERS, password=PASSWORD)
    return {"warehouse": warehouse, "serving": serving, "users": users}


@pytest.fixture
def workspace_env(tiny_snapshot, tmp_path, monkeypatch):
    """Environment of the app: the tiny snapshot, its users, and a side store of this test's own."""
    actions = tmp_path / "actions.sqlite"
    monkeypatch.setenv("CSM_SERVING_DB", str(tiny_snapshot["serving"]))
    monkeypatch.setenv("CSM_WORKSPACE_USERS", str(tiny_snapshot["users"]))
    monkeypatch.setenv("CSM_WORKSPACE_ACTIONS", str(actions))
    return tiny_snapshot | {"actions": actions}


@pytest.fixture
def app_as(workspace_env):
    """app_as(username, page=None, **query) -> the app run as that (already logged-in) user on that page."""
    users = auth.load_users(workspace_env["users"])

    def run(username: str, page: str | None = None, **query) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        at.session_state["user"] = users[username]
        at.run()
        if page:
            for key, value in query.items():
                at.query_params[key] = value
            at.switch_page(f"views/{page}.py").run()
        return at

    return run


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def texts(at: AppTest) -> list[str]:
    return [e.value for kind in ("error", "warning", "info", "success") for e in getattr(at, kind)]
