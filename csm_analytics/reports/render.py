"""Jinja2 rendering shared by every report: one environment, the stylesheet, and filters from lib.display
(money with its currency, percentages, "—" for empty, labels for raw codes, counts that agree with their noun)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from csm_analytics.lib import display

TEMPLATES = Path(__file__).with_name("templates")
METRICS_DOC = "docs/metrics.md"


def _pct(v, signed: bool = False) -> str:
    return display.pct(v, 0, signed)


def environment() -> Environment:
    # HTML templates escape every value (account names, ticket and incident text come from client data);
    # Markdown templates do not. Only the stylesheet and the charts' data URIs are marked safe.
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                      autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(money=display.money, pct=_pct, num=display.number, points=display.points, label=display.label,
                       count=display.count, drivers=display.labels)
    env.globals["stylesheet"] = Markup((TEMPLATES / "report.css").read_text())  # our own file, not data
    return env


def generated_on() -> dt.date:
    """Today, or the date of SOURCE_DATE_EPOCH when set (reproducible output: `make screenshots`)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).date() if epoch else dt.date.today()


def render(template: str, **context) -> str:
    return environment().get_template(template).render(generated_on=generated_on(), **context)


def docs_link(report_dir: Path, repo_root: Path | None = None) -> str:
    """A relative link from a report folder to docs/metrics.md, so the footer works offline."""
    root = repo_root or Path(__file__).resolve().parents[2]
    target = root / METRICS_DOC
    try:
        return os.path.relpath(target, report_dir)
    except ValueError:
        return target.as_uri()
