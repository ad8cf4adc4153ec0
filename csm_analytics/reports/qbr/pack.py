"""Build one account's QBR pack: collect the facts, write the narrative, render Markdown and HTML."""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from csm_analytics.health.config import HealthConfig
from csm_analytics.reports import charts
from csm_analytics.reports.qbr import narrative
from csm_analytics.reports.qbr.pack_data import collect_pack
from csm_analytics.reports.render import docs_link, render

SECTIONS = ("executive-summary", "account-health", "usage-and-adoption", "revenue", "support-and-incidents",
            "benchmarks", "anomalies-and-changes", "recommendations", "action-items", "freshness")


@dataclass
class QbrPack:
    account_id: str
    as_of: dt.date
    markdown: str
    html: str
    facts: dict
    seconds: float
    html_path: Path | None = None


def _charts(facts: dict, config: HealthConfig) -> dict[str, str]:
    usage = {"active_users": "Active users", "licensed_seats": "Seats", "key_feature_events": "Key events / day",
             "worker_count": "Workers"}
    b = facts["benchmarks"]
    return {
        "health_trend": charts.data_uri(charts.health_trend(facts["health"]["trend"], config.healthy, config.watch)),
        "components": charts.data_uri(charts.component_bars(facts["health"]["components"])),
        "usage": charts.data_uri(charts.small_multiples(facts["usage"]["monthly"], usage, "Monthly averages, last 12 months")),
        "arr": charts.data_uri(charts.arr_history(facts["revenue"]["contracts"], facts["as_of"])),
        "benchmarks": charts.data_uri(charts.percentile_bars(b["metrics"], b["peer_group"])) if b["peer_group"] else "",
    }


def build_pack(con: duckdb.DuckDBPyConnection, account_id: str, config: HealthConfig,
               as_of: dt.date | None = None, out_dir: Path | None = None) -> QbrPack:
    """The pack of one account; with `out_dir`, also write `<account>.html` and a `<account>.json` manifest
    that marts.qbr_pipeline reads. A pack for a past date (`as_of` given) is written as `<account>_<date>.html`
    with no manifest, so it never counts as the account's current pack."""
    started = time.perf_counter()
    facts = collect_pack(con, account_id, as_of)
    context = dict(
        p=facts, a=facts["account"], h=facts["health"], u=facts["usage"], r=facts["revenue"], sup=facts["support"],
        b=facts["benchmarks"], summary=narrative.executive_summary(facts), risks=narrative.risks(facts),
        ideas=narrative.expansion_ideas(facts), advocacy=narrative.advocacy_ask(facts),
        proposed=narrative.proposed_actions(facts, facts["as_of"]), charts=_charts(facts, config),
        docs=docs_link(out_dir) if out_dir else "docs/metrics.md",
    )
    html = render("qbr_pack.html.j2", **context)
    markdown = render("qbr_pack.md.j2", **{**context, "docs": "docs/metrics.md"})
    pack = QbrPack(account_id, facts["as_of"], markdown, html, facts, 0.0)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        pack.html_path = out_dir / (f"{account_id}_{facts['as_of']}.html" if as_of else f"{account_id}.html")
        pack.html_path.write_text(html)
        if not as_of:
            (out_dir / f"{account_id}.json").write_text(json.dumps(
                {"account_id": account_id, "as_of_date": str(facts["as_of"]), "html_path": str(pack.html_path),
                 "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}, indent=1))
    pack.seconds = time.perf_counter() - started
    return pack


def built_packs(out_dir: Path) -> list[dict]:
    """The manifests of the packs on disk (account_id, as_of_date, html_path)."""
    return [json.loads(p.read_text()) for p in sorted(out_dir.glob("*.json"))] if out_dir.exists() else []
