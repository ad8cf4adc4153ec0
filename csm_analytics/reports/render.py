"""Jinja2 rendering shared by every report: one environment, number filters, the stylesheet."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

TEMPLATES = Path(__file__).with_name("templates")
METRICS_DOC = "docs/metrics.md"


def _money(v) -> str:
    return "–" if v is None else f"{v:,.0f}"


def _pct(v, signed: bool = False) -> str:
    if v is None:
        return "–"
    return f"{v:+.0%}" if signed else f"{v:.0%}"


def _num(v, digits: int = 1) -> str:
    return "–" if v is None else f"{v:,.{digits}f}"


def environment() -> Environment:
    # HTML templates escape every value (account names, ticket and incident text come from client data);
    # Markdown templates do not. Only the stylesheet and the charts' data URIs are marked safe.
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                      autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(money=_money, pct=_pct, num=_num)
    env.globals["stylesheet"] = Markup((TEMPLATES / "report.css").read_text())  # our own file, not data
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(generated_on=dt.date.today(), **context)


def docs_link(report_dir: Path, repo_root: Path | None = None) -> str:
    """A relative link from a report folder to docs/metrics.md, so the footer works offline."""
    root = repo_root or Path(__file__).resolve().parents[2]
    target = root / METRICS_DOC
    try:
        return os.path.relpath(target, report_dir)
    except ValueError:
        return target.as_uri()
