"""The workspace entry point (`csm-analytics workspace`): login, then the pages the user's role allows.

Every run opens the serving snapshot read-only for the logged-in user (data_access.WorkspaceData), runs the
chosen page and closes it. A missing, stale or unreadable snapshot, an unknown account and an unreachable
side store each end in a clear message; no page shows a traceback.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import streamlit as st

from csm_analytics.serving import locations
from csm_analytics.lib.actions_store import SideStoreError
from csm_analytics.workspace import auth
from csm_analytics.workspace.data_access import NotFound, WorkspaceData, WorkspaceDataError
from csm_analytics.workspace.ui import md_escape

HERE = Path(__file__).parent
LOG = logging.getLogger("csm_analytics.workspace")
PAGES = [  # (file, title, icon, roles)
    ("views/my_day.py", "My day", ":material/today:", ("csm", "manager")),
    ("views/portfolio.py", "Portfolio", ":material/dashboard:", auth.ROLES),
    ("views/alerts.py", "Alerts & actions", ":material/notifications:", auth.ROLES),
    ("views/account.py", "Account drill", ":material/person_search:", auth.ROLES),
    ("views/expansion.py", "Expansion", ":material/trending_up:", auth.ROLES),
    ("views/qbr_pipeline.py", "QBR pipeline", ":material/event:", auth.ROLES),
    ("views/risk_heatmap.py", "Risk heatmap", ":material/grid_on:", auth.ROLES),
    ("views/performance.py", "My performance", ":material/insights:", ("csm",)),
    ("views/performance.py", "Team", ":material/groups:", ("manager", "leader", "admin")),
    ("views/leadership.py", "Leadership", ":material/leaderboard:", ("leader", "admin")),
]


def ensure_users() -> dict[str, auth.User]:
    """Users from users.toml; for the demo world (not CSM_ENV=prod) the file is written on first start."""
    path = locations.users_path()
    if not path.exists() and (os.environ.get("CSM_ENV") or "local").lower() != "prod":
        try:
            import duckdb
            with duckdb.connect(str(locations.serving_path()), read_only=True) as con:
                cur = con.execute("SELECT csm_id, name, manager FROM csms")
                csms = [dict(zip([d[0] for d in cur.description], r)) for r in cur.fetchall()]
            auth.write_users(path, auth.demo_users(csms))
        except FileExistsError:
            pass
        except Exception:  # noqa: BLE001 - no snapshot yet: load_users below says what to run
            pass
    return auth.load_users(path)


def login_form() -> None:
    st.title("CSM workspace")
    try:
        users = ensure_users()
    except auth.UsersFileError as exc:
        st.error(md_escape(str(exc)))
        st.stop()
    if auth.oidc_mode():
        sso_login(users)
        return
    with st.form("login"):
        username = st.text_input("Username")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Log in")
    if submitted:
        user = auth.authenticate(users, username, password)
        if user is None:
            st.error("Unknown user or wrong password.")
            return
        st.session_state["user"] = user
        st.session_state["_login_pending"] = True
        st.session_state["_after_login"] = (_requested_path(), dict(st.query_params))  # a deep link survives the login
        st.rerun()


def sso_login(users: dict[str, auth.User]) -> None:
    """OIDC through st.login (provider in .streamlit/secrets.toml); the role still comes from users.toml."""
    if not st.user.is_logged_in:
        st.button("Log in with single sign-on", on_click=st.login)
        return
    user = auth.user_for_identity(users, st.user.get("email"), st.user.get("email_verified"))
    if user is None:
        st.error("Your account is not a workspace user (or its e-mail is not verified): ask CS ops to add it "
                 "to users.toml.")
        st.button("Log out", on_click=st.logout)
        return
    st.session_state["user"] = user
    st.session_state["_login_pending"] = True
    st.rerun()


def _requested_path() -> str:
    """The URL path the user opened (e.g. account_drill), so the login can continue to it."""
    try:
        from urllib.parse import urlparse
        return urlparse(st.context.url or "").path.strip("/").split("/")[-1]
    except Exception:  # noqa: BLE001 - no URL (tests): the role's default page
        return ""


def main() -> None:
    st.set_page_config(page_title="CSM workspace", page_icon=":material/support_agent:", layout="wide")
    user: auth.User | None = st.session_state.get("user")
    if user is None:
        login_form()
        return
    pages = [st.Page(str(HERE / f), title=t, icon=i, url_path=t.lower().replace(" & ", "_").replace(" ", "_"),
                     default=(t == ("My day" if user.role in ("csm", "manager") else "Portfolio")))
             for f, t, i, roles in PAGES if user.role in roles]
    page = st.navigation(pages)
    requested, query = st.session_state.pop("_after_login", ("", {}))
    target = next((p for p in pages if requested and p.url_path == requested), None)
    if target is not None and target.url_path != page.url_path:
        st.switch_page(target, query_params=query)
    with st.sidebar:
        st.caption(f"{user.name} · {user.role}")
        if st.button("Log out"):
            st.session_state.clear()
            if auth.oidc_mode():
                st.logout()
            st.rerun()
    try:
        ws = WorkspaceData(user)
    except WorkspaceDataError as exc:
        st.error(md_escape(str(exc)))
        st.code("csm-analytics materialize", language="bash")
        return
    st.session_state["_workspace_data"] = ws
    try:
        if st.session_state.pop("_login_pending", False):
            ws.record_event("login")
        ws.record_event("page_view", page.title)
        page.run()
    except NotFound as exc:
        st.warning(md_escape(f"{exc} Pick one of your accounts on the Portfolio or Risk heatmap page."))
    except SideStoreError as exc:
        st.error(md_escape(f"Your actions cannot be saved right now: {exc}. Nothing was recorded; try again later "
                           "or tell CS ops."))
    except WorkspaceDataError as exc:
        st.error(md_escape(str(exc)))
    except Exception as exc:  # noqa: BLE001 - a page bug shows a message, never a traceback
        LOG.exception("workspace page %s failed", page.title)
        st.error(f"This page could not be shown ({type(exc).__name__}). The error is in the server log; "
                 "other pages still work.")
    finally:
        ws.close()
        st.session_state.pop("_workspace_data", None)


main()
