"""A throwaway PostgreSQL server for tests: initdb into a temporary folder, listen on 127.0.0.1 at a free port.

initdb and postgres refuse to run as root. When the tests run as root (CI containers), the
server runs as the unprivileged `postgres` user that the Debian `postgresql` package creates,
through `runuser`; its data folder is a fresh directory under /tmp owned by that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SEARCH = ["/usr/local/bin", *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
SERVER_USER = "postgres"


def find_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl: PATH first, then /usr/local/bin, then the newest Debian version."""
    on_path = shutil.which("initdb")
    candidates = ([str(Path(on_path).resolve().parent)] if on_path else []) + SEARCH
    for folder in candidates:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def why_unavailable() -> str | None:
    """None when a server can be started here, else the reason (for pytest.skip)."""
    if find_bin_dir() is None:
        return "no PostgreSQL binaries (initdb, pg_ctl); .ci/run installs the Debian package `postgresql`"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return "running as root and no unprivileged `postgres` user to run the server as"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    data_dir: Path

    def env(self, db_name: str) -> dict[str, str]:
        """The variables deploy/dagster.yaml reads."""
        return {"DAGSTER_PG_HOST": self.host, "DAGSTER_PG_PORT": str(self.port), "DAGSTER_PG_DB": db_name,
                "DAGSTER_PG_USER": self.user, "DAGSTER_PG_PASSWORD": self.password}

    def create_database(self, name: str) -> None:
        import psycopg2

        con = psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password, dbname="postgres")
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        con.close()


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str], **kwargs) -> None:
    out = subprocess.run(_as_server_user(cmd), capture_output=True, text=True, timeout=120, **kwargs)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")


def start() -> PostgresServer:
    """initdb + pg_ctl start; password authentication over TCP on 127.0.0.1 only."""
    bin_dir = find_bin_dir()
    root = Path(tempfile.mkdtemp(prefix="csm-pg-"))
    data, password = root / "data", secrets.token_hex(12)
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:
        server_user = pwd.getpwnam(SERVER_USER)
        for path in (root, pwfile):
            os.chown(path, server_user.pw_uid, server_user.pw_gid)
    _run([str(bin_dir / "initdb"), "-D", str(data), "-U", "csm", f"--pwfile={pwfile}", "--auth-host=scram-sha-256",
          "--auth-local=peer", "-E", "UTF8", "--no-sync"])
    port = free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c max_connections=50"
    _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "-t", "60",
          "start"])
    return PostgresServer("127.0.0.1", port, "csm", password, data)


def stop(server: PostgresServer) -> None:
    bin_dir = find_bin_dir()
    try:
        _run([str(bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-m", "fast", "-w", "stop"])
    finally:
        shutil.rmtree(server.data_dir.parent, ignore_errors=True)
