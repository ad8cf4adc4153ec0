"""`make screenshots`: render one QBR pack, one daily brief and the executive report to PNG for the README.

Uses headless Chromium (Debian package `chromium`; installed by `make screenshots` when missing).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import duckdb

from csm_analytics.lib import paths
from csm_analytics.lib.warehouse import fetch_dicts
from csm_analytics.reports.render import render

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def screenshot(html: Path, png: Path, height: int) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium not found: `apt-get install -y chromium` (make screenshots does it)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size=1000,{height}",
                        f"--screenshot={png}", html.resolve().as_uri()], check=True, capture_output=True, timeout=120)


def daily_brief_html(con, out: Path) -> Path:
    csm_id, name = con.execute("SELECT b.csm_id, c.name FROM marts.csm_daily_brief b JOIN raw.csms c USING (csm_id) "
                               "GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1").fetchall()[0]
    rows = fetch_dicts(con, "SELECT * FROM marts.csm_daily_brief WHERE csm_id = ? ORDER BY rowid", [csm_id])
    as_of = con.execute("SELECT max(as_of_date) FROM core.account_health_score").fetchall()[0][0]
    out.write_text(render("daily_brief.html.j2", csm_name=name, rows=rows, as_of=as_of))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m csm_analytics.reports.screenshots", description=__doc__)
    parser.add_argument("--out", default="docs/screenshots", help="folder for the PNGs (default docs/screenshots)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    reports = paths.data_dir() / "reports"
    packs = sorted((reports / "qbr").glob("ACC*[0-9].html"))
    executive = sorted((reports / "executive").glob("executive_*.html"))
    if not packs or not executive:
        raise SystemExit("no reports yet: run `make materialize` first")
    with duckdb.connect(str(paths.warehouse_path()), read_only=True) as con:
        brief = daily_brief_html(con, reports / "daily_brief.html")
    for html, png, height in [(packs[0], "qbr_pack.png", 4200), (brief, "daily_brief.png", 700),
                              (executive[-1], "executive_report.png", 3600)]:
        screenshot(html, out / png, height)
        print(f"wrote {out / png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
