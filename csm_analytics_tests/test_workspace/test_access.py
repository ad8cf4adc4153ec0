"""Row-level access in the one data-access module, and the users file (argon2 hashes, roles)."""

from __future__ import annotations

import datetime as dt

import pytest

from csm_analytics.workspace import auth
from csm_analytics.workspace.data_access import NotFound, WorkspaceData
from csm_analytics_tests.test_workspace.conftest import PASSWORD


@pytest.fixture
def users(workspace_env):
    return auth.load_users(workspace_env["users"])


def _data(users, name, env) -> WorkspaceData:
    return WorkspaceData(users[name], env["serving"], env["actions"])


@pytest.mark.parametrize("user,accounts,csms", [
    ("c1", ["A1", "A2"], ["C1"]), ("c2", ["A3"], ["C2"]), ("mona", ["A1", "A2", "A3"], ["C1", "C2"]),
    ("vp", ["A1", "A2", "A3", "A4"], ["C1", "C2", "C3"]), ("ops", ["A1", "A2", "A3", "A4"], ["C1", "C2", "C3"])])
def test_each_role_sees_its_book_in_every_table(users, workspace_env, user, accounts, csms):
    ws = _data(users, user, workspace_env)
    try:
        assert ws.visible_account_ids() == accounts
        for table in ("health_history", "alerts", "risk_heatmap", "qbr_action_items", "tickets", "expansion_signals"):
            seen = set(ws.query(table, columns="account_id")["account_id"])
            assert seen <= set(accounts), table
        assert sorted(set(ws.query("adoption")["csm_id"])) == csms
        assert set(ws.query("daily_brief")["csm_id"]) <= set(csms)
    finally:
        ws.close()


def test_other_books_are_not_found(users, workspace_env):
    ws = _data(users, "c1", workspace_env)
    assert ws.account("A2")["account_name"] == "Beta"
    for other in ("A3", "A4", "nope", "' OR 1=1 --"):
        with pytest.raises(NotFound):
            ws.account(other)
        with pytest.raises(NotFound):  # nor can they act on it
            ws.record("note", other, note="x")
    with pytest.raises(PermissionError):
        ws.query("rebalancing_plan")  # leadership tables are for leaders
    ws.close()


def test_side_store_reads_are_filtered_too(users, workspace_env):
    vp = _data(users, "vp", workspace_env)
    vp.record("note", "A4", note="renewal call booked")
    vp.record("note", "A1", note="exec sponsor left")
    c1 = _data(users, "c1", workspace_env)
    assert c1.actions()["note"].tolist() == ["exec sponsor left"]
    vp.close(), c1.close()


def test_freshness_turns_stale_after_36_hours(users, workspace_env):
    ws = _data(users, "c1", workspace_env)
    later = WorkspaceData(users["c1"], workspace_env["serving"], workspace_env["actions"],
                          now=ws.published_at + dt.timedelta(hours=37))
    assert not ws.freshness().stale and later.freshness().stale
    assert later.freshness().label().startswith("Data as of 2026-06-30 · snapshot published")
    ws.close(), later.close()


def test_passwords_are_argon2_hashes_and_checked(workspace_env, users):
    text = workspace_env["users"].read_text()
    assert PASSWORD not in text and text.count("$argon2id$") == 5
    assert auth.authenticate(users, "c1", PASSWORD).csm_id == "C1"
    assert auth.authenticate(users, "c1", "wrong") is None
    assert auth.authenticate(users, "nobody", PASSWORD) is None


def test_users_file_errors_say_what_to_fix(tmp_path):
    path = tmp_path / "users.toml"
    path.write_text('[users.x]\nrole = "csm"\npassword_hash = "$argon2id$x"\n')
    with pytest.raises(auth.UsersFileError, match="needs csm_id"):
        auth.load_users(path)
    path.write_text('[users.x]\nrole = "boss"\n')
    with pytest.raises(auth.UsersFileError, match="expected one of csm, manager, leader, admin"):
        auth.load_users(path)
    with pytest.raises(FileExistsError):  # an existing users file is never overwritten
        auth.write_users(path, [])


def test_demo_users_one_per_role():
    users = auth.demo_users([{"csm_id": "CSM002", "name": "B", "manager": "M2"},
                             {"csm_id": "CSM001", "name": "A", "manager": "M1"}])
    assert [(u["username"], u["role"]) for u in users] == [
        ("csm001", "csm"), ("csm002", "csm"), ("manager", "manager"), ("leader", "leader"), ("admin", "admin")]
    assert users[2]["manager"] == "M1"


def test_headline_money_fits_its_column():
    from csm_analytics.workspace.ui import fmt_money
    assert [fmt_money(v) for v in (180_000, 999_999.4, 13_499_037, None)] == ["$180,000", "$999,999", "$13.50M", "n/a"]


def test_oidc_identity_maps_to_a_listed_user_only(tmp_path, monkeypatch):
    monkeypatch.setenv("CSM_WORKSPACE_AUTH", "oidc")
    path = tmp_path / "users.toml"
    path.write_text('[users.ava]\nrole = "csm"\ncsm_id = "CSM01"\nemail = "Ava@Example.com"\n'
                    '[users.vp]\nrole = "leader"\nemail = "vp@example.com"\n')
    users = auth.load_users(path)  # no password hashes needed when the provider authenticates
    assert auth.user_for_identity(users, "ava@example.COM", True).csm_id == "CSM01"
    assert auth.user_for_identity(users, "ava@example.com", False) is None  # unverified e-mail
    assert auth.user_for_identity(users, "mallory@example.com", True) is None
    monkeypatch.setenv("CSM_WORKSPACE_AUTH", "password")
    with pytest.raises(auth.UsersFileError, match="password_hash"):
        auth.load_users(path)
