"""`make screenshots`: render one QBR pack, one daily brief and the executive report to PNG for the README.

Rendered from the warehouse with the current code (not from report files an older run left in data/),
so the images show what the code renders today. Deterministic: the same warehouse and code give the
same pixels (the "generated" date is the data's as-of date, via SOURCE_DATE_EPOCH), and a PNG whose
pixels did not change is not rewritten, so running it again leaves git clean.

Uses headless Chromium (Debian package `chromium`; installed by `make screenshots` when missing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import duckdb

from csm_analytics.lib import paths
from csm_analytics.lib.warehouse import fetch_dicts
from csm_analytics.reports.render import render

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--force-device-scale-factor=1", "--font-render-hinting=none"]
SHOTS = [("qbr_pack.png", 4200), ("daily_brief.png", 760), ("executive_report.png", 3600)]


def screenshot(html: Path, png: Path, height: int) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium not found: `apt-get install -y chromium` (make screenshots does it)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size=1000,{height}",
                        f"--screenshot={png}", html.resolve().as_uri()], check=True, capture_output=True, timeout=120)


def same_pixels(a: Path, b: Path) -> bool:
    """True when both PNGs exist and hold the same image (size, mode and every pixel), whatever their bytes."""
    from PIL import Image

    if not (a.exists() and b.exists()):
        return False
    with Image.open(a) as x, Image.open(b) as y:
        return x.size == y.size and x.convert("RGBA").tobytes() == y.convert("RGBA").tobytes()


def replace_if_changed(new: Path, target: Path) -> bool:
    """Move `new` onto `target` only when the picture differs; True when `target` was (re)written."""
    if same_pixels(new, target):
        new.unlink()
        return False
    shutil.move(str(new), str(target))
    return True


def daily_brief_html(con, out: Path, as_of: dt.date) -> Path:
    csm_id, name = con.execute("SELECT b.csm_id, c.name FROM marts.csm_daily_brief b JOIN raw.csms c USING (csm_id) "
                               "GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1").fetchall()[0]
    rows = fetch_dicts(con, "SELECT * FROM marts.csm_daily_brief WHERE csm_id = ? ORDER BY rowid", [csm_id])
    out.write_text(render("daily_brief.html.j2", csm_name=name, rows=rows, as_of=as_of))
    return out


def qbr_pack_html(con, out_dir: Path) -> Path:
    """The pack of the account whose QBR is due soonest (ties by id): the one a CSM would open first."""
    from csm_analytics.health.config import load_health_config
    from csm_analytics.reports.qbr.pack import build_pack

    due = con.execute("SELECT account_id FROM marts.qbr_pipeline WHERE due_window IN ('overdue', 'this quarter') "
                      "ORDER BY next_qbr_due, account_id LIMIT 1").fetchall()
    account = due[0][0] if due else con.execute("SELECT min(account_id) FROM core.account_health_score").fetchall()[0][0]
    return build_pack(con, account, load_health_config(), out_dir=out_dir).html_path


def executive_html(con, out_dir: Path, as_of: dt.date) -> Path:
    from csm_analytics.reports.executive.report import collect_report, render_report

    heatmap = paths.data_dir() / "reports" / "heatmaps" / "team.png"
    _, html, _ = render_report(collect_report(con, as_of.replace(day=1)),
                               heatmap.read_bytes() if heatmap.exists() else None)
    path = out_dir / "executive.html"
    path.write_text(html)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m csm_analytics.reports.screenshots", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs/screenshots", help="folder for the PNGs (default docs/screenshots)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not paths.warehouse_path().exists():
        raise SystemExit("no warehouse yet: run `make materialize` first")
    with tempfile.TemporaryDirectory() as tmp, duckdb.connect(str(paths.warehouse_path()), read_only=True) as con:
        work = Path(tmp)
        as_of = con.execute("SELECT max(as_of_date) FROM core.account_health_score").fetchall()[0][0]
        # the pages say "generated <date>": make it the data's date, not today's, so the pixels are reproducible
        os.environ["SOURCE_DATE_EPOCH"] = str(int(dt.datetime.combine(as_of, dt.time(), dt.timezone.utc).timestamp()))
        pages = [qbr_pack_html(con, work / "qbr"), daily_brief_html(con, work / "daily_brief.html", as_of),
                 executive_html(con, work, as_of)]
        for html, (name, height) in zip(pages, SHOTS):
            fresh = work / name
            screenshot(html, fresh, height)
            changed = replace_if_changed(fresh, out / name)
            print(f"{'wrote' if changed else 'unchanged'} {out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
