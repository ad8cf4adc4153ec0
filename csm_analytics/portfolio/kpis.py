"""The CS-ops KPI table and CSM portfolios. Each KPI is one SQL query returning
(coverage, numerator, denominator, value), and where its data can come from more than one source, one more
query naming the source used; definitions in docs/metrics.md.

A KPI whose inputs do not exist yet (say, no alert has ever been delivered) gets coverage 0
and a blank value instead of a made-up number.
"""

from __future__ import annotations

from dataclasses import dataclass

from csm_analytics.canonical.calendar import LAST_DATA_DAY
from csm_analytics.canonical.ownership import OWNER_PERIODS
from csm_analytics.health.config import HealthConfig
from csm_analytics.lib.warehouse import table_exists
from csm_analytics.portfolio.adoption import csm_adoption_sql, source_summary_sql, with_csm_logins

LAST_DAY = LAST_DATA_DAY
LATEST_RETENTION = ("FROM marts.revenue_retention WHERE dimension = 'all' "
                    "AND quarter_end = (SELECT max(quarter_end) FROM marts.revenue_retention)")
ACTIVE = f"""(SELECT DISTINCT account_id FROM raw.contracts WHERE {LAST_DAY} BETWEEN start_date AND end_date)"""


@dataclass(frozen=True)
class Kpi:
    name: str
    target: str
    sql: str  # one row: coverage, numerator, denominator, value
    low: float | None = None  # value must be >= low (None: no bound)
    high: float | None = None  # value must be <= high
    unit: str = "pct"  # how the value reads (lib.display.cell kinds, plus hours/days/per100): ratios as percentages
    parts: str = "int"  # how the numerator and denominator read: counts, or money
    source: str | None = None  # SQL, one text: which data the figure used, where it can differ (e.g. real or simulated)


KPIS = [
    Kpi("CSM portfolio NRR (TTM)", "> 110 %", f"SELECT accounts_at_start, end_arr, start_arr, nrr {LATEST_RETENTION}", low=1.10,
        parts="money"),
    Kpi("Logo retention (TTM)", "> 92 %",
        f"SELECT accounts_at_start, accounts_retained, accounts_at_start, logo_retention {LATEST_RETENTION}", low=0.92),
    Kpi("GRR (TTM)", "—", f"SELECT accounts_at_start, start_arr - churned_arr - contraction_arr, start_arr, grr {LATEST_RETENTION}",
        parts="money"),
    Kpi("Expansion revenue attributed to CSMs (won, 365 days, with evidence)", "—", f"""
        SELECT count(*), coalesce(sum(amount) FILTER (attributed_csm_id IS NOT NULL AND evidence_link IS NOT NULL), 0),
               coalesce(sum(amount), 0),
               coalesce(sum(amount) FILTER (attributed_csm_id IS NOT NULL AND evidence_link IS NOT NULL), 0)
        FROM raw.expansion_opportunities WHERE status = 'won' AND close_date > {LAST_DAY} - 365""", unit="money", parts="money"),
    Kpi("Alert response time, critical (median hours, acknowledged alerts only)", "< 4 h", """
        SELECT coverage, acknowledged, coverage, median_hours_to_ack FROM marts.alert_response_sla
        WHERE severity = 'critical'""", high=4, unit="hours"),
    Kpi("Alert response time, non-critical (median hours, acknowledged alerts only)", "< 24 h", """
        SELECT coverage, acknowledged, coverage, median_hours_to_ack FROM marts.alert_response_sla
        WHERE severity = 'warning'""", high=24, unit="hours"),
    Kpi("QBR completion", "> 90 %", """
        SELECT count(*), sum(least(qbrs_held, qbrs_required)), sum(qbrs_required),
               sum(least(qbrs_held, qbrs_required)) / nullif(sum(qbrs_required), 0) FROM marts.qbr_records""", low=0.90),
    Kpi("Account-plan currency", "> 85 %", """
        SELECT count(*), count(*) FILTER (plan_status = 'current'), count(*),
               count(*) FILTER (plan_status = 'current') / nullif(count(*), 0)
        FROM marts.account_plan_status WHERE plan_required""", low=0.85),
    Kpi("Engagement frequency (accounts at their tier's touch target, 30 days)", "≥ tier target for 100 %", """
        SELECT count(*), count(*) FILTER (engagement_on_target), count(*), avg(engagement_on_target::INT)
        FROM (SELECT c.touches_30d >= t.touches_per_month AS engagement_on_target
              FROM core.account_health_components c JOIN tier_targets t USING (tier)
              WHERE c.as_of_date = (SELECT max(as_of_date) FROM core.account_health_components))""", low=1.0),
    # one population: the clients managed at some point of the window, and their escalations
    Kpi("Escalations per 100 managed clients (last 91 days)", "< 5 per 91 days", f"""
        WITH managed AS (SELECT DISTINCT account_id FROM raw.contracts
                         WHERE start_date <= {LAST_DAY} AND end_date > {LAST_DAY} - 91),
        escalations AS (SELECT count(*) AS n FROM raw.support_tickets t JOIN managed USING (account_id)
                        WHERE t.escalated AND t.opened_at::DATE > {LAST_DAY} - 91 AND t.opened_at::DATE <= {LAST_DAY})
        SELECT (SELECT count(*) FROM managed), n, (SELECT count(*) FROM managed),
               100.0 * n / nullif((SELECT count(*) FROM managed), 0) FROM escalations""", high=5, unit="per100"),
    Kpi("CSM utilization (clients / capacity)", "80-100 %", """
        SELECT count(*), sum(client_count), sum(capacity), sum(client_count) / sum(capacity) FROM marts.csm_portfolio""",
        low=0.80, high=1.00),
    # week w = the 7 days ending T - 7w; a CSM adopts when each of the 4 weeks has 3 logins or more; real workspace
    # logins replace the simulated ones per CSM from the first (portfolio/adoption.py)
    Kpi("Data adoption (CSMs using the analytics >= 3x in each of the last 4 weeks)", "> 80 %", f"""
        SELECT count(*), count(*) FILTER (adopted), count(*), avg(adopted::INT) FROM ({csm_adoption_sql(LAST_DAY)})""",
        low=0.80, source=source_summary_sql(csm_adoption_sql(LAST_DAY))),
    Kpi("Time to full portfolio for new CSMs (median days)", "< 8 weeks (56 days)", f"""
        WITH new_csms AS (SELECT csm_id, start_date FROM raw.csms WHERE start_date > {LAST_DAY} - 730),
        books AS (SELECT n.csm_id, n.start_date, a.valid_from,
                         row_number() OVER (PARTITION BY n.csm_id ORDER BY a.valid_from) AS nth,
                         count(*) OVER (PARTITION BY n.csm_id) AS book
                  FROM new_csms n JOIN raw.csm_assignments a USING (csm_id)
                  WHERE a.valid_to IS NULL OR a.valid_to >= {LAST_DAY}),
        full_at AS (SELECT csm_id, min(valid_from - start_date) AS days FROM books WHERE nth >= 0.9 * book GROUP BY csm_id)
        SELECT count(*), median(days), count(*), median(days) FROM full_at""", high=56, unit="days", parts="days"),
    Kpi("Health-check coverage (accounts touched in 30 days)", "—", """
        SELECT count(*), count(*) FILTER (touches_30d > 0), count(*), avg((touches_30d > 0)::INT)
        FROM core.account_health_components WHERE as_of_date = (SELECT max(as_of_date) FROM core.account_health_components)"""),
    Kpi("Onboarded on time", "—", "SELECT 0, NULL, NULL, NULL"),
    Kpi("Health improvement rate (score up vs 90 days ago)", "—", """
        SELECT count(*), count(*) FILTER (n.health_score > p.health_score), count(*), avg((n.health_score > p.health_score)::INT)
        FROM core.account_health_history n JOIN core.account_health_history p
          ON p.account_id = n.account_id AND p.as_of_date = n.as_of_date - 90
        WHERE n.as_of_date = (SELECT max(as_of_date) FROM core.account_health_history)"""),
    Kpi("At-risk ARR (share of ARR in the At-risk band)", "—", """
        SELECT sum(client_count), sum(at_risk_arr), sum(total_arr), sum(at_risk_arr) / nullif(sum(total_arr), 0)
        FROM marts.csm_portfolio""", parts="money"),
]


def kpi_rows(con, kpis: list[Kpi] = KPIS, health: HealthConfig | None = None) -> list[tuple]:
    """(KPI, coverage, numerator, denominator, value, target, vs target, source) for every KPI.

    `health` supplies the tier targets to the KPIs that read `tier_targets`; the logins come from the workspace
    where it has recorded any (`csm_logins`). `source` is blank for a KPI with one possible source."""
    real_events = table_exists(con, "raw.workspace_events")
    out = []
    for kpi in kpis:
        sql = with_csm_logins(health.with_tier_targets(kpi.sql) if health else kpi.sql, real_events)
        rows = con.execute(sql).fetchall()
        # no row: nothing to measure yet (the TTM KPIs read the latest quarter of marts.revenue_retention,
        # empty while the daily history is shorter than a year), reported as coverage 0, not an error
        coverage, numerator, denominator, value = rows[0] if rows else (0, None, None, None)
        coverage = int(coverage or 0)
        if coverage == 0:
            numerator = denominator = value = None
        source = con.execute(with_csm_logins(kpi.source, real_events)).fetchall()[0][0] if kpi.source else None
        out.append((kpi.name, coverage, _num(numerator), _num(denominator), _num(value, 4), kpi.target,
                    vs_target(kpi, value if coverage else None), source))
    return out


def display_rows(rows: list[tuple], kpis: list[Kpi] = KPIS) -> list[list]:
    """kpi_rows as a person reads them: money with currency, ratios as percentages, empty as "—"."""
    from csm_analytics.lib.display import EMPTY, cell, number

    def fmt(v, unit):
        if unit == "hours":
            return EMPTY if v is None else f"{number(v, 1)} h"
        if unit == "days":
            return EMPTY if v is None else f"{number(v, 0)} days"
        if unit == "per100":
            return EMPTY if v is None else f"{number(v, 1)} per 100"
        return cell(v, "pct1" if unit == "pct" else unit)

    return [[name, f"{coverage:,}", fmt(num, kpi.parts), fmt(den, kpi.parts), fmt(value, kpi.unit), target,
             EMPTY if status == "n/a" else status, source or EMPTY]
            for kpi, (name, coverage, num, den, value, target, status, source) in zip(kpis, rows)]


def _num(v, digits: int = 2):
    return None if v is None else round(float(v), digits)


def vs_target(kpi: Kpi, value) -> str:
    if value is None:
        return "n/a"
    if kpi.low is None and kpi.high is None:
        return "no target"
    ok = (kpi.low is None or value >= kpi.low) and (kpi.high is None or value <= kpi.high)
    return "on target" if ok else "below target" if kpi.low is not None and value < kpi.low else "above target"


CSM_PORTFOLIO_SQL = f"""
WITH owner AS (
    SELECT a.account_id, a.csm_id FROM {OWNER_PERIODS} a
    WHERE {LAST_DAY} BETWEEN a.valid_from AND a.valid_to
),
book AS (
    SELECT o.csm_id, s.account_id, s.health_score, s.band, k.arr, k.mrr,
           (SELECT worker_count FROM raw.product_usage u WHERE u.account_id = s.account_id
            ORDER BY usage_date DESC LIMIT 1) AS workers
    FROM core.account_health_score s JOIN owner o USING (account_id)
    JOIN raw.contracts k ON k.account_id = s.account_id AND s.as_of_date BETWEEN k.start_date AND k.end_date
),
alerts AS (SELECT csm_id, count(*) AS alert_count FROM alerts.alert_events
           WHERE event_date > {LAST_DAY} - 30 GROUP BY csm_id),
pipeline AS (SELECT o.csm_id, sum(e.amount) AS expansion_pipeline FROM raw.expansion_opportunities e
             JOIN owner o USING (account_id) WHERE e.status = 'open' GROUP BY o.csm_id)
SELECT c.csm_id, c.name, list(b.account_id ORDER BY b.account_id) AS client_ids, count(b.account_id) AS client_count,
       sum(b.workers) AS total_workers, round(sum(b.mrr), 2) AS total_mrr, round(sum(b.arr), 2) AS total_arr,
       round(avg(b.health_score), 1) AS avg_health_score,
       count(*) FILTER (b.band = 'Healthy') AS green_accounts, count(*) FILTER (b.band = 'Watch') AS yellow_accounts,
       count(*) FILTER (b.band = 'At risk') AS red_accounts,
       round(coalesce(sum(b.arr) FILTER (b.band = 'Healthy'), 0), 2) AS green_arr,
       round(coalesce(sum(b.arr) FILTER (b.band = 'Watch'), 0), 2) AS yellow_arr,
       round(coalesce(sum(b.arr) FILTER (b.band = 'At risk'), 0), 2) AS at_risk_arr,
       coalesce(any_value(al.alert_count), 0) AS alert_count,
       round(coalesce(any_value(p.expansion_pipeline), 0), 2) AS expansion_pipeline,
       c.capacity, round(count(b.account_id) / c.capacity, 4) AS utilization
FROM raw.csms c LEFT JOIN book b USING (csm_id) LEFT JOIN alerts al USING (csm_id) LEFT JOIN pipeline p USING (csm_id)
GROUP BY c.csm_id, c.name, c.capacity
ORDER BY c.csm_id
"""
