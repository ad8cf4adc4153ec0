"""Workspace benchmark: serving-snapshot publish time, app start, page server time with concurrent sessions,
and the app's peak RSS, on a materialized world of N accounts. Writes the "Workspace" section of
docs/benchmarks.md (between markers, so the rest of the file is kept).

    python -m csm_analytics.bench.workspace --accounts 100000 [--data-dir DIR] [--sessions 10] [--rounds 5]

Without a materialized warehouse in DIR it generates the world and materializes it first (the `make bench`
children). Page server time = one script run of the page (st.navigation + the page) in Streamlit's AppTest,
measured in `--sessions` processes at once, each logged in as the leader (who sees every account: the worst case).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import psutil

from csm_analytics.lib.paths import PROJECT_ROOT

PAGES = ["portfolio", "alerts", "account", "expansion", "qbr_pipeline", "risk_heatmap", "performance", "leadership"]
CSM_PAGES = ["my_day"]  # not on a leader's menu: run as the manager with the largest team (the worst case of its users)
APP = PROJECT_ROOT / "csm_analytics" / "workspace" / "app.py"
BEGIN, END = "<!-- workspace-bench:begin -->", "<!-- workspace-bench:end -->"


def _child(*args) -> dict:
    out = subprocess.run([sys.executable, "-m", "csm_analytics.bench", "--child", *map(str, args)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def prepare(data_dir: Path, accounts: int) -> dict:
    if (data_dir / "warehouse.duckdb").exists():
        return {}
    gen = _child("generate", accounts, data_dir / "raw")
    mat = _child("materialize", data_dir, accounts, "full")
    if not mat.get("ok"):  # the snapshot may still be complete (e.g. only a report failed): publish_times will tell
        print(f"warning: materializing the {accounts:,}-account world in {data_dir} reported a failed step; if the "
              "publish below fails, run `python -m csm_analytics.bench --child materialize DIR N full` to see it",
              file=sys.stderr)
    return {"generate_s": gen["seconds"], "materialize_s": mat.get("seconds")}


def publish_times(data_dir: Path, rounds: int) -> list[float]:
    import duckdb

    from csm_analytics.alerts.outbox import Outbox
    from csm_analytics.serving.publish import publish

    outbox_rows = [dict(r) for r in Outbox(data_dir / "alerts" / "outbox.sqlite").rows()]
    times = []
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        for _ in range(rounds):
            times.append(publish(con, data_dir / "serving" / "serving.duckdb", outbox_rows).seconds)
    return times


def _busiest_manager(serving_db: str) -> str:
    import duckdb

    with duckdb.connect(serving_db, read_only=True) as con:
        return con.execute("SELECT manager FROM accounts WHERE manager IS NOT NULL GROUP BY manager "
                           "ORDER BY count(*) DESC, manager LIMIT 1").fetchall()[0][0]


def _session(args) -> dict[str, list[float]]:
    """One session: the leader runs every leader page `rounds` times, then the busiest manager runs My day `rounds`
    times; seconds per run, per page."""
    env, rounds = args
    os.environ.update(env)
    from streamlit.testing.v1 import AppTest

    from csm_analytics.workspace.auth import User

    leader = User("bench", "Bench", "leader")
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["user"] = leader
    at.run()
    account = None
    times: dict[str, list[float]] = {p: [] for p in PAGES + CSM_PAGES}
    manager = AppTest.from_file(str(APP), default_timeout=120)
    manager.session_state["user"] = User("bench-manager", "Bench", "manager", manager=_busiest_manager(env["CSM_SERVING_DB"]))
    manager.run()
    for _ in range(rounds):
        for page in CSM_PAGES:
            started = time.perf_counter()
            manager.switch_page(f"views/{page}.py").run()
            times[page].append(time.perf_counter() - started)
            if manager.exception:
                raise RuntimeError(f"{page}: {manager.exception[0].value}")
        for page in PAGES:
            if page == "account":
                at.query_params["account"] = account or ""
            started = time.perf_counter()
            at.switch_page(f"views/{page}.py").run()
            times[page].append(time.perf_counter() - started)
            if at.exception:
                raise RuntimeError(f"{page}: {at.exception[0].value}")
            if page == "portfolio" and account is None:
                import duckdb
                with duckdb.connect(env["CSM_SERVING_DB"], read_only=True) as con:
                    account = con.execute("SELECT account_id FROM accounts ORDER BY health_score LIMIT 1").fetchall()[0][0]
    return times


def page_times(env: dict, sessions: int, rounds: int) -> dict[str, list[float]]:
    with ProcessPoolExecutor(sessions) as pool:
        results = list(pool.map(_session, [(env, rounds)] * sessions))
    return {p: [t for r in results for t in r[p][1:]] for p in PAGES + CSM_PAGES}  # the first round warms imports


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RssSampler:
    """The peak resident set size of a process (with its children), sampled every 20 ms on a thread, so a spike
    inside a page run is not missed between page loads."""

    def __init__(self, proc: psutil.Process, every: float = 0.02):
        import threading

        self.proc, self.every, self.peak = proc, every, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.is_set():
            try:
                rss = self.proc.memory_info().rss + sum(c.memory_info().rss for c in self.proc.children(recursive=True))
            except psutil.Error:
                break
            self.peak = max(self.peak, rss)
            self._done.wait(self.every)

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak


def app_start_and_rss(env: dict) -> tuple[float, int]:
    """Seconds until the server answers its health check and serves the login page; peak RSS while a leader's
    browser session opens every page once."""
    port = _free_port()
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "csm_analytics.cli", "workspace", "--port", str(port)],
                              env=os.environ | env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        start_s = time.perf_counter() - started
        sampler = RssSampler(psutil.Process(server.pid))
        from playwright.sync_api import sync_playwright

        from csm_analytics.workspace.auth import DEMO_PASSWORD
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            page.goto(url)
            page.get_by_role("textbox", name="Username").fill("leader")
            page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.get_by_text("Data as of").first.wait_for(timeout=120_000)
            for link in ("Alerts & actions", "Expansion", "QBR pipeline", "Risk heatmap", "Team", "Leadership",
                         "Account drill", "Portfolio"):
                page.get_by_role("link", name=link, exact=True).click()
                page.get_by_text("Data as of").first.wait_for(timeout=120_000)
                page.wait_for_timeout(500)
            browser.close()
        return start_s, sampler.stop()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


def render(accounts: int, sessions: int, rounds: int, prep: dict, publish_s: list[float], start_s: float, rss: int,
           pages: dict[str, list[float]], load: str) -> str:
    lines = [BEGIN, "## Workspace (issue 18)", "",
             f"Measured by `python -m csm_analytics.bench.workspace --accounts {accounts} --sessions {sessions} "
             f"--rounds {rounds}` at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {load} on "
             "the 2 shared cores while measuring.", ""]
    if prep:
        lines += [f"World prepared first: generation {prep['generate_s']:.1f} s, full graph {prep['materialize_s']:.1f} s.", ""]
    lines += [f"- Serving-snapshot publish: **{statistics.median(publish_s):.2f} s** (median of {len(publish_s)}; "
              f"{', '.join(f'{t:.2f}' for t in publish_s)} s).",
              f"- App start (process start to the health check answering): **{start_s:.2f} s** (target < 5 s).",
              f"- Peak RSS of the app process (sampled every 20 ms) while a leader's browser opens every page: "
              f"**{rss / 1e6:,.0f} MB**.", "",
              f"Page server time, {sessions} concurrent sessions (processes) as the leader (My day as the manager with the "
              f"largest team), {rounds - 1} timed rounds each (target p95 < 1 s):", "", "| page | runs | median | p95 | max |", "|---|---:|---:|---:|---:|"]
    for page, times in pages.items():
        lines.append(f"| {page} | {len(times)} | {statistics.median(times):.3f} s | {_p95(times):.3f} s | {max(times):.3f} s |")
    return "\n".join(lines + ["", END])


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m csm_analytics.bench.workspace", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--data-dir", help="a data folder with (or for) the materialized world "
                                           "(default: a fresh temporary folder)")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5, help="page visits per session; the first is not timed")
    parser.add_argument("--publishes", type=int, default=3)
    parser.add_argument("--out", default=str(PROJECT_ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args(argv)
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="workspace_bench_"))
    prep = prepare(data_dir, args.accounts)
    publish_s = publish_times(data_dir, args.publishes)
    env = {"CSM_DATA_DIR": str(data_dir), "CSM_SERVING_DB": str(data_dir / "serving" / "serving.duckdb"),
           "CSM_WORKSPACE_ACTIONS": str(data_dir / "workspace" / "actions.sqlite"),
           "CSM_WORKSPACE_USERS": str(data_dir / "workspace" / "users.toml")}
    from csm_analytics.workspace import auth
    import duckdb
    if not Path(env["CSM_WORKSPACE_USERS"]).exists():
        with duckdb.connect(env["CSM_SERVING_DB"], read_only=True) as con:
            cur = con.execute("SELECT csm_id, name, manager FROM csms")
            csms = [dict(zip([d[0] for d in cur.description], r)) for r in cur.fetchall()]
        auth.write_users(Path(env["CSM_WORKSPACE_USERS"]), auth.demo_users(csms))
    start_s, rss = app_start_and_rss(env)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    pages = page_times(env, args.sessions, args.rounds)
    section = render(args.accounts, args.sessions, args.rounds, prep, publish_s, start_s, rss, pages, load)
    write_section(Path(args.out), section)
    print(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
