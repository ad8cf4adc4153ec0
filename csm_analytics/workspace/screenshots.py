"""`make screenshots`: every workspace page, logged in as the demo user of the right role, to docs/screenshots/.

Starts the workspace on a free local port over the current serving snapshot and drives Debian's chromium
with Playwright (a dev dependency). Needs the demo users of data/workspace/users.toml (password `demo`).
Deterministic like the reports' screenshots: the pointer is moved off the page (it rested on the button that
replaced "Log in", caught mid hover transition), CSS animations are stopped, and a PNG whose pixels did not
change is not rewritten, so running it again leaves git clean.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from csm_analytics.reports.screenshots import replace_if_changed
from csm_analytics.serving import locations
from csm_analytics.workspace.auth import DEMO_PASSWORD

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
SHOTS = [  # (file, user, url path, height)
    ("workspace_login.png", None, "", 700),
    ("workspace_my_day.png", "csm01", "my_day", 1300),
    ("workspace_portfolio.png", "leader", "portfolio", 1000),
    ("workspace_alerts.png", "csm01", "alerts_actions", 1900),
    ("workspace_account_drill.png", "csm01", "account_drill?account={account}", 2300),
    ("workspace_expansion.png", "csm01", "expansion", 1000),
    ("workspace_qbr_pipeline.png", "manager", "qbr_pipeline", 1000),
    ("workspace_risk_heatmap.png", "csm01", "risk_heatmap", 1200),
    ("workspace_my_performance.png", "csm01", "my_performance", 1500),
    ("workspace_team.png", "manager", "team", 1500),
    ("workspace_leadership.png", "leader", "leadership", 1300),
    ("workspace_not_found.png", "csm02", "account_drill?account={account}", 600),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _first_account(user: str) -> str:
    import duckdb
    with duckdb.connect(str(locations.serving_path()), read_only=True) as con:
        return con.execute("SELECT account_id FROM accounts WHERE csm_id = upper(?) ORDER BY health_score LIMIT 1",
                           [user]).fetchall()[0][0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m csm_analytics.workspace.screenshots", description=__doc__)
    parser.add_argument("--out", default="docs/screenshots", help="folder for the PNGs (default docs/screenshots)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser_path is None:
        raise SystemExit("chromium not found: `apt-get install -y chromium` (make screenshots does it)")
    if not locations.serving_path().exists():
        raise SystemExit("no serving snapshot yet: run `make materialize` first")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "csm_analytics.cli", "workspace", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    work = Path(tempfile.mkdtemp(prefix="workspace_shots_"))
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).close()
                break
            except OSError:
                time.sleep(0.3)
        account = _first_account("csm01")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=browser_path, args=FLAGS)
            for name, user, path, height in SHOTS:
                page = browser.new_page(viewport={"width": 1400, "height": height})
                page.goto(f"{url}/{path.format(account=account)}")
                if user:
                    page.get_by_role("textbox", name="Username").fill(user)
                    page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
                    page.get_by_role("button", name="Log in").click()
                    page.get_by_text("Data as of" if "not_found" not in name else "not found").first.wait_for(timeout=60_000)
                else:
                    page.get_by_role("button", name="Log in").wait_for(timeout=60_000)
                page.wait_for_timeout(2500)  # tables finish drawing
                for chart in page.locator('[data-testid="stVegaLiteChart"]').all():
                    chart.scroll_into_view_if_needed()  # charts draw when scrolled into view
                    chart.locator("canvas, svg").first.wait_for(timeout=20_000)
                page.evaluate("window.scrollTo(0, 0)")
                page.mouse.move(0, 0)  # no hover state on whatever sits under the last click
                page.wait_for_timeout(500)
                page.screenshot(path=str(work / name), animations="disabled")
                page.close()
                changed = replace_if_changed(work / name, out / name)
                print(f"{'wrote' if changed else 'unchanged'} {out / name}")
            browser.close()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
