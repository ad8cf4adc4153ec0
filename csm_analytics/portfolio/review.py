"""`csm-analytics scorecard`: a CSM review in the shape of a CS-ops analyst's write-up."""

from __future__ import annotations

import duckdb

from csm_analytics.lib.display import money
from csm_analytics.lib.warehouse import fetch_dicts
from csm_analytics.portfolio.scorecard import CATEGORIES

ADVICE = {
    "portfolio_health": "work the At-risk and Watch accounts' top drivers (csm-analytics health explain)",
    "retention": "start save plans 120 days before renewal for every Watch or At-risk account",
    "expansion": "review seat-ceiling and worker-growth signals with each champion; log evidence links in the CRM",
    "activity_engagement": "book the tier's touch cadence a month ahead; add a second contact role per account",
    "customer_satisfaction": "follow up every detractor NPS within a week and close the loop on their tickets",
    "efficiency": "take on accounts from over-capacity peers (see marts.rebalancing_plan)",
}


class ReviewError(LookupError):
    pass


def team_view(con: duckdb.DuckDBPyConnection, quarter: str | None = None) -> str:
    q = quarter or con.execute("SELECT max(quarter_end) FROM marts.csm_scorecard").fetchall()[0][0]
    rows = fetch_dicts(con, "SELECT * FROM marts.csm_scorecard WHERE quarter_end = ? ORDER BY peer_rank", [q])
    names = [c.replace("_", " ") for c in CATEGORIES]  # full names: the columns are as wide as their header
    lines = [f"Team scorecard, quarter ending {q}", "",
             f"{'rank':>4}  {'CSM':<6} {'overall':>7}  " + "  ".join(f"{n:>{max(len(n), 6)}}" for n in names)]
    for r in rows:
        lines.append(f"{r['peer_rank']:>4}  {r['csm_id']:<6} {r['overall_score']:>7.1f}  "
                     + "  ".join(f"{'—' if r[c] is None else f'{r[c]:.1f}':>{max(len(n), 6)}}"
                                 for c, n in zip(CATEGORIES, names)))
    scored = {r["csm_id"] for r in rows}
    missing = fetch_dicts(con, "SELECT csm_id, name, start_date FROM raw.csms ORDER BY csm_id")
    missing = [m for m in missing if m["csm_id"] not in scored]
    if missing:
        lines += ["", "Not ranked this quarter (a scorecard judges retention over the accounts a CSM owned 12 months "
                      "before the quarter end, so it needs such a cohort; docs/metrics.md#csm-scorecard):"]
        lines += [f"  {m['csm_id']:<6} {m['name']}: no accounts owned on {_year_before(q)} (started {m['start_date']})"
                  for m in missing]
    return "\n".join(lines)


def _year_before(quarter_end) -> str:
    import datetime as dt

    day = quarter_end if isinstance(quarter_end, dt.date) else dt.date.fromisoformat(str(quarter_end)[:10])
    return str(day.replace(year=day.year - 1))


def csm_review(con: duckdb.DuckDBPyConnection, csm_id: str, quarter: str | None = None) -> str:
    history = fetch_dicts(con, "SELECT * FROM marts.csm_scorecard WHERE csm_id = ? ORDER BY quarter_end", [csm_id])
    if not history:
        raise ReviewError(f"no scorecard for {csm_id!r}: check the id (e.g. CSM01); CSMs need a full year with a book")
    row = next((r for r in history if str(r["quarter_end"]) == quarter), None) if quarter else history[-1]
    if row is None:
        raise ReviewError(f"{csm_id} has no scorecard for the quarter ending {quarter}; "
                          f"available: {', '.join(str(r['quarter_end']) for r in history)}")
    q = row["quarter_end"]
    team = fetch_dicts(con, "SELECT " + ", ".join(f"avg({c}) AS {c}" for c in CATEGORIES) +
                 " FROM marts.csm_scorecard WHERE quarter_end = ?", [q])[0]
    ret = fetch_dicts(con, "SELECT * FROM marts.revenue_retention WHERE dimension = 'csm' AND dimension_value = ? "
                     "AND quarter_end = ?", [csm_id, q])
    book = fetch_dicts(con, "SELECT * FROM marts.csm_portfolio WHERE csm_id = ?", [csm_id])
    tiers = fetch_dicts(con, """SELECT s.tier, count(*) AS n, sum(k.arr) AS arr FROM core.account_health_score s
                          JOIN raw.contracts k ON k.account_id = s.account_id AND s.as_of_date BETWEEN k.start_date AND k.end_date
                          WHERE list_contains((SELECT client_ids FROM marts.csm_portfolio WHERE csm_id = ?), s.account_id)
                          GROUP BY 1 ORDER BY arr DESC""", [csm_id])
    red = fetch_dicts(con, """SELECT s.account_id, s.health_score, s.driver_1 FROM core.account_health_score s
                        WHERE list_contains((SELECT client_ids FROM marts.csm_portfolio WHERE csm_id = ?), s.account_id)
                        AND s.band <> 'Healthy' ORDER BY s.health_score LIMIT 3""", [csm_id])
    qbr = fetch_dicts(con, "SELECT * FROM marts.qbr_compliance WHERE csm_id = ?", [csm_id])
    trend = " -> ".join(f"{r['overall_score']:.1f}" for r in history[-4:])
    lines = [f"CSM review: {csm_id}, quarter ending {q}", "",
             f"Overall {row['overall_score']:.1f} (team average {row['team_average']:.1f}, rank {row['peer_rank']}); "
             f"last 4 quarters: {trend}", "", "Categories (score vs team average):"]
    for c in CATEGORIES:
        if row[c] is None or team[c] is None:
            lines.append(f"  {c:<22}    n/a  (no data for this quarter)")
            continue
        lines.append(f"  {c:<22} {row[c]:6.1f}  vs {team[c]:6.1f}  ({row[c] - team[c]:+.1f})")
    if ret:
        r = ret[0]
        lines.append(f"  retention detail: lost {row['actual_lost']:.0f} of {row['cohort_accounts']} accounts, "
                     f"expected {row['expected_lost']:.1f} for this book; NRR {r['nrr']:.1%} (target > 110 %), "
                     f"logo retention {r['logo_retention']:.1%} (target > 92 %)")
    if qbr:
        lines.append(f"  QBR completion {qbr[0]['qbr_completion_rate']:.1%} (target > 90 %)")
    lines += ["", "Portfolio:"]
    total = sum(t["arr"] for t in tiers) or 1
    lines += [f"  {t['tier']:<11} {t['n']:>3} accounts  {money(t['arr'])} ({t['arr'] / total:.0%})" for t in tiers]
    if book:
        b = book[0]
        lines += [f"  health: {b['green_accounts']} Healthy, {b['yellow_accounts']} Watch, {b['red_accounts']} At risk "
                  f"({money(b['at_risk_arr'])} at risk); pipeline {money(b['expansion_pipeline'])}",
                  "", "Workload:", f"  {b['client_count']} clients for a capacity of {b['capacity']} "
                  f"({b['utilization']:.0%}, target 80-100 %); {b['alert_count']} alerts in the last 30 days"]
    lines += ["", "Coaching priorities:"]
    gaps = [g.strip() for g in (row.get("development_areas") or "").split(",") if g.strip() and g.strip() != "none"]
    lines += [f"  - {g}: {ADVICE[g]}" for g in gaps] or ["  - none below the team average: keep the cadence"]
    lines += ["", "30-day action plan:"]
    actions = [f"  - {r['account_id']} (health {r['health_score']:.0f}): address {r['driver_1'] or 'its drivers'}"
               for r in red]
    if qbr and qbr[0]["accounts_to_escalate"]:
        actions.append(f"  - book the missed QBRs: {', '.join(qbr[0]['accounts_to_escalate'][:5])}")
    actions += [f"  - {ADVICE[g]}" for g in gaps[:1]]
    lines += actions or ["  - maintain: no account below Healthy, no missed QBR"]
    return "\n".join(lines)
