"""Workspace users: who may log in, with which role, seeing which book. Passwords only as argon2 hashes.

Users live in `data/workspace/users.toml` (beside the data; `CSM_WORKSPACE_USERS` overrides):

    [users.alice]
    name = "Alice Martin"
    role = "csm"                 # csm | manager | leader | admin
    csm_id = "CSM001"            # csm: the book they own
    password_hash = "$argon2id$..."

    [users.bob]
    role = "manager"
    manager = "Dana Reyes"       # manager: the team = CSMs whose raw.csms.manager is this name

For the demo world the file is written on first start with one user per role (README lists them).
Production: docs/workspace.md describes the OIDC set-up (a reverse proxy passing the user header).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

ROLES = ("csm", "manager", "leader", "admin")
DEMO_PASSWORD = "demo"  # noqa: S105 - the documented password of the generated demo users only
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a password")  # verified for unknown users, so timing does not reveal names


class UsersFileError(RuntimeError):
    """The users file is missing or malformed; the message says how to fix it."""


@dataclass(frozen=True)
class User:
    username: str
    name: str
    role: str
    csm_id: str | None = None
    manager: str | None = None
    password_hash: str = ""
    email: str | None = None  # the identity an OIDC provider vouches for (CSM_WORKSPACE_AUTH=oidc)

    @property
    def sees_everything(self) -> bool:
        return self.role in ("leader", "admin")


def _user(username: str, entry: dict, path: Path) -> User:
    role = entry.get("role")
    if role not in ROLES:
        raise UsersFileError(f"{path}: user {username!r} has role {role!r}; expected one of {', '.join(ROLES)}")
    if role == "csm" and not entry.get("csm_id"):
        raise UsersFileError(f"{path}: user {username!r} is a csm and needs csm_id (e.g. CSM001)")
    if role == "manager" and not entry.get("manager"):
        raise UsersFileError(f"{path}: user {username!r} is a manager and needs manager (the name in raw.csms.manager)")
    if not str(entry.get("password_hash", "")).startswith("$argon2") and not (oidc_mode() and entry.get("email")):
        raise UsersFileError(f"{path}: user {username!r} needs password_hash, an argon2 hash "
                             "(python -c \"from argon2 import PasswordHasher; print(PasswordHasher().hash('...'))\")")
    return User(username, str(entry.get("name") or username), role, entry.get("csm_id"), entry.get("manager"),
                entry.get("password_hash", ""), (entry.get("email") or "").strip().lower() or None)


def load_users(path: Path) -> dict[str, User]:
    if not path.exists():
        raise UsersFileError(f"no users file at {path}: start the demo with `csm-analytics workspace` "
                             "(it writes demo users) or write one as described in docs/workspace.md")
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsersFileError(f"{path}: cannot read the users file ({exc})") from exc
    return {name: _user(name, entry, path) for name, entry in raw.get("users", {}).items()}


def authenticate(users: dict[str, User], username: str, password: str) -> User | None:
    """The user when the password matches its hash, else None (same work for unknown names)."""
    user = users.get((username or "").strip())
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user


def oidc_mode() -> bool:
    """CSM_WORKSPACE_AUTH=oidc: log in through the OIDC provider of .streamlit/secrets.toml (docs/workspace.md)."""
    return (os.environ.get("CSM_WORKSPACE_AUTH") or "password").strip().lower() == "oidc"


def user_for_identity(users: dict[str, User], email: str | None, email_verified: bool | None) -> User | None:
    """The workspace user whose `email` the provider vouched for; None when unverified or not listed.

    The provider proves who someone is; users.toml still decides their role and book.
    """
    if not email or email_verified is False:
        return None
    wanted = email.strip().lower()
    return next((u for u in users.values() if u.email == wanted), None)


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def demo_users(csms: list[dict]) -> list[dict]:
    """One user per role for the demo world: the first two CSMs, the first CSM's manager, a leader, an admin."""
    csms = sorted(csms, key=lambda c: c["csm_id"])
    users = [{"username": c["csm_id"].lower(), "name": c["name"], "role": "csm", "csm_id": c["csm_id"]} for c in csms[:2]]
    if csms:
        users.append({"username": "manager", "name": csms[0]["manager"], "role": "manager", "manager": csms[0]["manager"]})
    users += [{"username": "leader", "name": "VP Client Success", "role": "leader"},
              {"username": "admin", "name": "CS Ops", "role": "admin"}]
    return users


def write_users(path: Path, users: list[dict], password: str = DEMO_PASSWORD) -> None:
    """Write a users file (never over an existing one: user files are never replaced)."""
    lines = ["# Workspace users (docs/workspace.md). Passwords are stored only as argon2 hashes.", ""]
    for u in users:
        lines.append(f"[users.{u['username']}]")
        for key in ("name", "role", "csm_id", "manager"):
            if u.get(key):
                lines.append(f"{key} = {_toml_string(str(u[key]))}")
        lines += [f"password_hash = {_toml_string(_HASHER.hash(password))}", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x") as fh:  # exclusive create: an existing users file is kept as it is
        fh.write("\n".join(lines))
