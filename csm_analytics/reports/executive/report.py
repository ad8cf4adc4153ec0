"""The VP of Client Success's monthly report: facts as of a month end, then Markdown and HTML.

Every figure is read from a mart (revenue retention, health history, churn snapshots,
forecast accuracy, scorecard, expansion signals), so the report never disagrees with them.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from csm_analytics.health.config import BANDS
from csm_analytics.lib.warehouse import fetch_dicts, table_exists
from csm_analytics.portfolio.kpis import KPIS
from csm_analytics.reports import charts
from csm_analytics.reports.exec_charts import band_distribution, segment_comparison
from csm_analytics.reports.render import render
from csm_analytics.canonical.ownership import OWNER_PERIODS

RETENTION_KPIS = {"nrr": "CSM portfolio NRR (TTM)", "logo_retention": "Logo retention (TTM)", "grr": "GRR (TTM)"}

IN_FORCE = f"""in_force AS (
    SELECT c.account_id, sum(c.arr) AS arr, min(c.end_date) AS renewal_date FROM raw.contracts c
    WHERE $1 BETWEEN c.start_date AND c.end_date GROUP BY 1
),
owner AS (
    SELECT o.account_id, arg_max(o.csm_id, o.valid_from) AS csm_id FROM {OWNER_PERIODS} o
    WHERE $1 BETWEEN o.valid_from AND coalesce(o.valid_to, DATE '9999-12-31') GROUP BY 1
),
book AS (
    SELECT f.account_id, a.account_name, a.segment, a.tier, coalesce(o.csm_id, 'unassigned') AS csm_id, f.arr,
           f.renewal_date, h.health_score, h.band, coalesce(p.churn_probability, s.churn_probability) AS churn_probability,
           f.arr * coalesce(p.churn_probability, s.churn_probability, 0) AS revenue_at_risk
    FROM in_force f JOIN raw.accounts a USING (account_id)
    LEFT JOIN owner o USING (account_id)
    LEFT JOIN core.account_health_history h ON h.account_id = f.account_id AND h.as_of_date = $1
    LEFT JOIN ml.churn_snapshots s ON s.account_id = f.account_id AND s.snapshot_date = $1
    LEFT JOIN ml.churn_predictions p ON p.account_id = f.account_id AND p.as_of_date = $1
)"""


def month_as_of(con: duckdb.DuckDBPyConnection, month_start: dt.date) -> dt.date:
    """The report date of a month: its last day, or the last scored day if the month is not over."""
    month_end = (month_start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    last = con.execute("SELECT max(as_of_date) FROM core.account_health_history").fetchall()[0][0]
    if last is None or last < month_start:
        raise LookupError(f"No health history in the month starting {month_start}: materialize the health assets.")
    return min(month_end, last)


def retention_vs_target(con, as_of: dt.date) -> list[dict]:
    rows = fetch_dicts(con, """SELECT * FROM marts.revenue_retention WHERE dimension = 'all' AND quarter_end <= $1
                               ORDER BY quarter_end DESC LIMIT 1""", [as_of])
    if not rows:
        return []
    row, kpis = rows[0], {k.name: k for k in KPIS}
    out = []
    for column, name in RETENTION_KPIS.items():
        kpi = kpis[name]
        value = row[column]
        status = None if kpi.low is None else "on target" if value >= kpi.low else "below target"
        out.append({"metric": column.upper().replace("_", " ") if column != "logo_retention" else "Logo retention",
                    "value": value, "target": kpi.target if kpi.low is not None else None, "status": status,
                    "quarter_end": row["quarter_end"]})
    return out


def risk_rollups(con, as_of: dt.date) -> dict:
    def rollup(dimension: str) -> list[dict]:
        return fetch_dicts(con, f"""WITH {IN_FORCE}
            SELECT {dimension} AS name, count(*) AS accounts, sum(arr) AS arr,
                   count(*) FILTER (band = 'At risk') AS at_risk_accounts,
                   coalesce(sum(arr) FILTER (band = 'At risk'), 0) AS at_risk_arr,
                   sum(revenue_at_risk) AS revenue_at_risk
            FROM book GROUP BY 1 ORDER BY revenue_at_risk DESC""", [as_of])
    totals = fetch_dicts(con, f"""WITH {IN_FORCE}
        SELECT count(*) AS accounts, sum(arr) AS arr, coalesce(sum(arr) FILTER (band = 'At risk'), 0) AS at_risk_arr,
               coalesce(sum(arr) FILTER (band = 'Watch'), 0) AS watch_arr, sum(revenue_at_risk) AS revenue_at_risk
        FROM book""", [as_of])[0]
    return {"totals": totals, "by_csm": rollup("csm_id"), "by_segment": rollup("segment")}


def top_risks(con, as_of: dt.date, n: int = 10) -> list[dict]:
    """The n accounts to worry about first (docs/reports.md#top-10-risks): At-risk band first, then Watch, then
    Healthy (unscored last); within a band, revenue at risk (ARR × churn probability) highest first; then account id.
    A Healthy account appears only when fewer than n accounts are At risk or on Watch."""
    worst_first = list(reversed(BANDS))  # band names come from the health config: bound, never formatted
    return fetch_dicts(con, f"""WITH {IN_FORCE}
        SELECT b.*, hs.driver_1 FROM book b
        LEFT JOIN core.account_health_score hs ON hs.account_id = b.account_id AND hs.as_of_date = $1
        ORDER BY coalesce(nullif(list_position($2::VARCHAR[], b.band), 0), $3 + 1), revenue_at_risk DESC, account_id
        LIMIT $4""", [as_of, worst_first, len(worst_first), int(n)])


def top_expansions(con, as_of: dt.date, n: int = 10) -> list[dict]:
    if table_exists(con, "marts.expansion_signals"):
        rows = fetch_dicts(con, f"""SELECT s.account_id, a.account_name, s.csm_id, s.readiness_index,
                   s.strongest_signal, s.estimated_expansion_arr AS amount, s.recommended_action
            FROM marts.expansion_signals s JOIN raw.accounts a USING (account_id)
            ORDER BY s.readiness_index DESC, s.estimated_expansion_arr DESC LIMIT {n}""")
        if rows:
            return rows
    return fetch_dicts(con, f"""SELECT e.account_id, a.account_name, e.attributed_csm_id AS csm_id,
               NULL AS readiness_index, e.source_signal AS strongest_signal, e.amount, e.stage AS recommended_action
        FROM raw.expansion_opportunities e JOIN raw.accounts a USING (account_id)
        WHERE e.created_date <= $1 AND (e.close_date IS NULL OR e.close_date > $1)
        ORDER BY e.amount DESC LIMIT {n}""", [as_of])


def band_trend(con, as_of: dt.date) -> list[dict]:
    return fetch_dicts(con, """
        SELECT as_of_date AS month_end, count(*) FILTER (band = 'Healthy') AS healthy,
               count(*) FILTER (band = 'Watch') AS watch, count(*) FILTER (band = 'At risk') AS at_risk
        FROM core.account_health_history
        WHERE as_of_date > CAST($1 AS DATE) - 366 AND as_of_date <= $1
          AND (as_of_date = last_day(as_of_date) OR as_of_date = $1)
        GROUP BY 1 ORDER BY 1""", [as_of])


def collect_report(con: duckdb.DuckDBPyConnection, month_start: dt.date) -> dict:
    as_of = month_as_of(con, month_start)
    accuracy = fetch_dicts(con, "SELECT * FROM marts.renewal_forecast_accuracy ORDER BY cohort_quarter") \
        if table_exists(con, "marts.renewal_forecast_accuracy") else []
    leaderboard = fetch_dicts(con, """
        SELECT s.csm_id, c.name, s.quarter_end, s.overall_score, s.retention, s.expansion, s.portfolio_health,
               s.peer_rank, s.change_vs_last_quarter
        FROM marts.csm_scorecard s JOIN raw.csms c USING (csm_id)
        WHERE s.quarter_end = (SELECT max(quarter_end) FROM marts.csm_scorecard WHERE quarter_end <= $1)
        ORDER BY s.peer_rank""", [as_of]) if table_exists(con, "marts.csm_scorecard") else []
    segments = fetch_dicts(con, """SELECT dimension_value AS segment, grr, nrr, logo_retention FROM marts.revenue_retention
        WHERE dimension = 'segment' AND quarter_end = (SELECT max(quarter_end) FROM marts.revenue_retention
                                                       WHERE quarter_end <= $1) ORDER BY 1""", [as_of])
    return {"month": month_start.strftime("%B %Y"), "as_of": as_of, "retention": retention_vs_target(con, as_of),
            "risk": risk_rollups(con, as_of), "top_risks": top_risks(con, as_of),
            "top_expansions": top_expansions(con, as_of), "band_trend": band_trend(con, as_of),
            "accuracy": [a for a in accuracy if a["cohort_quarter"] <= f"{as_of.year}-Q{(as_of.month - 1) // 3 + 1}"],
            "leaderboard": leaderboard, "segments": segments}


def render_report(facts: dict, heatmap_png: bytes | None = None) -> tuple[str, str, dict[str, bytes]]:
    """(markdown, html, pngs) of the report; the PNGs are embedded in both."""
    pngs = {"bands": band_distribution(facts["band_trend"]),
            "segments": segment_comparison(facts["segments"], facts["risk"]["by_segment"])}
    if heatmap_png:
        pngs["heatmap"] = heatmap_png
    uris = {k: charts.data_uri(v) for k, v in pngs.items()}
    context = dict(f=facts, charts=uris)
    return render("executive.md.j2", **context), render("executive.html.j2", **context), pngs
