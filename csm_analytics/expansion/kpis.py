"""The account-management KPI catalogue (retention, expansion, engagement, relationship, advocacy).

Each KPI is one SQL query returning rows of (dimension, coverage, numerator, denominator, value);
most return the single dimension 'all'. T is the last day of data; "the last 12 months" is
(T - 365, T]. Exact definitions: docs/metrics.md, "Account-management KPIs". The Check-In Impact
Score is a statistical comparison and lives in `impact.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from csm_analytics.canonical.calendar import LAST_DATA_DAY
from csm_analytics.health.config import HealthConfig

T = LAST_DATA_DAY
ACTIVE = f"(SELECT DISTINCT account_id FROM raw.contracts WHERE {T} BETWEEN start_date AND end_date)"
TTM = f"BETWEEN {T} - 364 AND {T}"
ROLES = """(  -- every (account, contact role, day) a customer contact was reached
    SELECT account_id, contact_role AS role, activity_date AS day FROM raw.activities
    WHERE contact_role IS NOT NULL AND activity_type <> 'internal_review'
    UNION ALL SELECT account_id, unnest(string_split(attendee_roles, ';')), qbr_date FROM raw.qbrs
    UNION ALL SELECT account_id, respondent_role, response_date FROM raw.survey_responses)"""
CONTACT_ROLE_COUNT = 7  # schemas.CONTACT_ROLES


@dataclass(frozen=True)
class CatalogueKpi:
    category: str
    name: str
    unit: str  # share | currency | score | pp
    sql: str


def _share(numerator: str, denominator: str, source: str) -> str:
    return (f"SELECT 'all', count(*), {numerator}, {denominator}, "
            f"({numerator})::DOUBLE / nullif({denominator}, 0) FROM {source}")


RETENTION = [
    CatalogueKpi("retention", "Customer Retention Rate", "share", f"""
        SELECT 'all', count(*), count(e.account_id), count(*), count(e.account_id) / nullif(count(*), 0)
        FROM (SELECT DISTINCT account_id FROM raw.contracts WHERE {T} - 365 BETWEEN start_date AND end_date) s
        LEFT JOIN {ACTIVE} e USING (account_id)"""),
    CatalogueKpi("retention", "Customer Downgrade Rate (contracts downgraded at renewal)", "share", _share(
        "count(*) FILTER (renewal_outcome = 'downgraded')", "count(*)",
        f"raw.contracts WHERE renewal_outcome IS NOT NULL AND end_date {TTM}")),
    CatalogueKpi("retention", "Downgrade-to-Churn Conversion Rate", "share", _share(
        "count(*) FILTER (n.renewal_outcome = 'churned')", "count(*)",
        "raw.contracts d JOIN raw.contracts n ON n.account_id = d.account_id AND n.start_date = d.end_date + 1 "
        "WHERE d.renewal_outcome = 'downgraded' AND n.renewal_outcome IS NOT NULL")),
    CatalogueKpi("retention", "Exit Reason Frequency (last 12 months, by segment)", "share", f"""
        WITH churned AS (
            SELECT a.segment, coalesce(x.exit_reason, 'not recorded') AS reason
            FROM raw.contracts c JOIN raw.accounts a USING (account_id)
            LEFT JOIN raw.exit_reasons x USING (contract_id)
            WHERE c.renewal_outcome = 'churned' AND c.end_date {TTM}),
        cells AS (SELECT segment, reason, count(*) AS n FROM churned GROUP BY GROUPING SETS ((segment, reason), (reason)))
        SELECT coalesce(segment, 'all') || ' / ' || reason,
               sum(n) OVER (PARTITION BY segment), n, sum(n) OVER (PARTITION BY segment),
               n / sum(n) OVER (PARTITION BY segment)
        FROM cells ORDER BY segment NULLS FIRST, n DESC, reason"""),
    CatalogueKpi("retention", "Customer Feedback Retention Score", "share", f"""
        WITH decided AS (
            SELECT c.contract_id, c.renewal_outcome <> 'churned' AS retained,
                   (SELECT arg_max(s.score, s.response_date) FROM raw.survey_responses s
                    WHERE s.account_id = c.account_id AND s.survey_type = 'NPS'
                      AND s.response_date BETWEEN c.end_date - 365 AND c.end_date) AS latest_nps
            FROM raw.contracts c WHERE c.renewal_outcome IS NOT NULL AND c.end_date {TTM}),
        grouped AS (SELECT CASE WHEN latest_nps >= 7 THEN 'latest NPS 7-10' WHEN latest_nps >= 0 THEN 'latest NPS 0-6'
                                ELSE 'no NPS in the year before' END AS feedback, retained FROM decided)
        SELECT feedback, count(*), count(*) FILTER (retained), count(*), avg(retained::INT)
        FROM grouped GROUP BY feedback ORDER BY feedback DESC"""),
]

EXPANSION = [
    CatalogueKpi("expansion", "Expansion Revenue Growth Rate", "share", f"""
        SELECT 'all', count(*), sum(amount) FILTER (close_date {TTM}),
               sum(amount) FILTER (close_date BETWEEN {T} - 729 AND {T} - 365),
               sum(amount) FILTER (close_date {TTM})
                 / nullif(sum(amount) FILTER (close_date BETWEEN {T} - 729 AND {T} - 365), 0) - 1
        FROM raw.expansion_opportunities WHERE status = 'won' AND close_date BETWEEN {T} - 729 AND {T}"""),
    CatalogueKpi("expansion", "Expansion Intent Signal Rate (last 90 days)", "share", _share(
        "count(*) FILTER (i.account_id IS NOT NULL)", "count(*)", f"""{ACTIVE} a LEFT JOIN (
            SELECT account_id FROM raw.intent_signals WHERE signal_date BETWEEN {T} - 89 AND {T}
            UNION SELECT account_id FROM raw.qbrs WHERE expansion_discussed AND qbr_date BETWEEN {T} - 89 AND {T}
            UNION SELECT account_id FROM raw.expansion_opportunities WHERE created_date BETWEEN {T} - 89 AND {T}
        ) i USING (account_id)""")),
    CatalogueKpi("expansion", "Activation-to-Expansion Rate", "share", f"""
        WITH activated AS (
            SELECT a.account_id, min(u.usage_date) AS activation_date
            FROM raw.accounts a JOIN raw.product_usage u ON u.account_id = a.account_id
             AND u.usage_date BETWEEN a.created_date AND a.created_date + 90
             AND u.active_users >= 0.5 * u.licensed_seats
            GROUP BY a.account_id)
        SELECT 'all', count(*), count(*) FILTER (expanded), count(*), avg(expanded::INT)
        FROM (SELECT EXISTS (SELECT 1 FROM raw.expansion_opportunities o WHERE o.account_id = v.account_id
                             AND o.status = 'won' AND o.created_date >= v.activation_date
                             AND o.close_date <= v.activation_date + 365) AS expanded
              FROM activated v WHERE v.activation_date <= {T} - 365)"""),
    CatalogueKpi("expansion", "Average Revenue per Expansion Account (last 12 months)", "currency", f"""
        SELECT 'all', count(DISTINCT account_id), sum(amount), count(DISTINCT account_id),
               sum(amount) / nullif(count(DISTINCT account_id), 0)
        FROM raw.expansion_opportunities WHERE status = 'won' AND close_date {TTM}"""),
]

ENGAGEMENT = [
    CatalogueKpi("engagement", "Customer Engagement Score", "score", f"""
        WITH usage AS (SELECT account_id, avg(active_users / licensed_seats) AS utilization FROM raw.product_usage
                       WHERE usage_date BETWEEN {T} - 29 AND {T} GROUP BY ALL),
        touches AS (SELECT account_id, count(*) AS touches FROM raw.activities
                    WHERE activity_type <> 'internal_review' AND activity_date BETWEEN {T} - 89 AND {T} GROUP BY ALL),
        roles AS (SELECT account_id, count(DISTINCT role) AS roles FROM {ROLES}
                  WHERE day BETWEEN {T} - 179 AND {T} GROUP BY ALL),
        scored AS (
            SELECT 100 * (0.4 * least(1.0, coalesce(u.utilization, 0))
                          + 0.3 * least(1.0, coalesce(t.touches, 0) / (3.0 * tt.touches_per_month))
                          + 0.3 * least(1.0, coalesce(r.roles, 0) / 3.0)) AS score
            FROM {ACTIVE} a JOIN raw.accounts USING (account_id) JOIN tier_targets tt USING (tier)
            LEFT JOIN usage u USING (account_id) LEFT JOIN touches t USING (account_id) LEFT JOIN roles r USING (account_id))
        SELECT 'all', count(*), sum(score), count(*), avg(score) FROM scored"""),
    CatalogueKpi("engagement", "QBR Engagement Rate (last 12 months)", "share", _share(
        "count(*) FILTER (len(string_split(attendee_roles, ';')) >= 2 AND regexp_matches(attendee_roles, "
        "'Executive Sponsor|Champion'))", "count(*)", f"raw.qbrs WHERE qbr_date {TTM}")),
    CatalogueKpi("engagement", "Accounts with multi-role engagement (last 90 days)", "share", _share(
        "count(*) FILTER (r.roles >= 2)", "count(*)", f"""{ACTIVE} a LEFT JOIN (
            SELECT account_id, count(DISTINCT role) AS roles FROM {ROLES} WHERE day BETWEEN {T} - 89 AND {T}
            GROUP BY ALL) r USING (account_id)""")),
    CatalogueKpi("engagement", "Post-Renewal Engagement Rate", "share", _share(
        "count(*) FILTER (engaged)", "count(*)", f"""(
            SELECT EXISTS (SELECT 1 FROM raw.activities x WHERE x.account_id = c.account_id
                           AND x.activity_type IN ('call', 'meeting', 'QBR')
                           AND x.activity_date BETWEEN c.end_date + 1 AND c.end_date + 30) AS engaged
            FROM raw.contracts c WHERE c.renewal_outcome IN ('renewed', 'downgraded')
              AND c.end_date BETWEEN {T} - 364 AND {T} - 30)""")),
]

RELATIONSHIP = [
    CatalogueKpi("relationship", "Relationship Depth Score", "score", f"""
        SELECT 'all', count(*), sum(coalesce(r.roles, 0)), count(*) * {CONTACT_ROLE_COUNT},
               100.0 * sum(coalesce(r.roles, 0)) / nullif(count(*) * {CONTACT_ROLE_COUNT}, 0)
        FROM {ACTIVE} a LEFT JOIN (SELECT account_id, count(DISTINCT role) AS roles FROM {ROLES}
                                   WHERE day BETWEEN {T} - 179 AND {T} GROUP BY ALL) r USING (account_id)"""),
]

ADVOCACY = [
    CatalogueKpi("advocacy", "Referral-Ready Account Rate", "share", _share(
        "count(*) FILTER (coalesce(n.latest_nps, 0) >= 9 AND e.account_id IS NULL)", "count(*)", f"""{ACTIVE} a
        LEFT JOIN (SELECT account_id, arg_max(score, response_date) AS latest_nps FROM raw.survey_responses
                   WHERE survey_type = 'NPS' AND response_date {TTM} GROUP BY ALL) n USING (account_id)
        LEFT JOIN (SELECT DISTINCT account_id FROM raw.support_tickets
                   WHERE escalated AND opened_at::DATE BETWEEN {T} - 89 AND {T}) e USING (account_id)""")),
    CatalogueKpi("advocacy", "Referral Intent Identified in QBRs (last 12 months)", "share", _share(
        "count(*) FILTER (referral_intent)", "count(*)", f"raw.qbrs WHERE qbr_date {TTM}")),
    CatalogueKpi("advocacy", "Referral Opportunity Pipeline Contribution Rate (last 12 months)", "share", f"""
        WITH r AS (SELECT coalesce(sum(opportunity_amount), 0) AS amount, count(opportunity_amount) AS n
                   FROM raw.referrals WHERE opportunity_amount IS NOT NULL AND referral_date {TTM}),
        e AS (SELECT coalesce(sum(amount), 0) AS amount, count(*) AS n FROM raw.expansion_opportunities
              WHERE created_date {TTM})
        SELECT 'all', r.n + e.n, r.amount, r.amount + e.amount, r.amount / nullif(r.amount + e.amount, 0) FROM r, e"""),
    CatalogueKpi("advocacy", "Referral Engagement Rate (last 12 months)", "share", _share(
        "count(*) FILTER (referred)", "count(*)", f"""(
            SELECT EXISTS (SELECT 1 FROM raw.referrals r WHERE r.account_id = q.account_id
                           AND r.referral_date BETWEEN q.first_intent AND {T}) AS referred
            FROM (SELECT account_id, min(qbr_date) AS first_intent FROM raw.qbrs
                  WHERE referral_intent AND qbr_date {TTM} GROUP BY ALL) q)""")),
    CatalogueKpi("advocacy", "Referral-Driven Expansion Revenue (won, last 12 months)", "currency", f"""
        SELECT 'all', count(*), coalesce(sum(opportunity_amount), 0), NULL, coalesce(sum(opportunity_amount), 0)
        FROM raw.referrals WHERE status = 'won' AND close_date {TTM}"""),
    CatalogueKpi("advocacy", "Warm Introduction Offer Rate (last 12 months)", "share", _share(
        "count(*) FILTER (w.account_id IS NOT NULL)", "count(*)", f"""{ACTIVE} a LEFT JOIN (
            SELECT DISTINCT account_id FROM raw.referrals WHERE referral_type = 'warm_introduction'
              AND referral_date {TTM}) w USING (account_id)""")),
]

CATALOGUE = [*RETENTION, *EXPANSION, *ENGAGEMENT, *RELATIONSHIP, *ADVOCACY]
COLUMNS = ["category", "kpi", "dimension", "coverage", "numerator", "denominator", "value", "unit",
           "ci_low", "ci_high", "p_value"]


def _num(value, digits: int):
    return None if value is None else round(float(value), digits)


def catalogue_rows(con, catalogue: list[CatalogueKpi] = CATALOGUE, health: HealthConfig | None = None) -> list[tuple]:
    """One row per KPI and dimension; a KPI with no inputs (coverage 0) gets blank values, never a made-up one.

    `health` supplies the tier targets to the KPIs that read `tier_targets`."""
    out = []
    for kpi in catalogue:
        rows = con.execute(health.with_tier_targets(kpi.sql) if health else kpi.sql).fetchall()
        for dimension, coverage, numerator, denominator, value in rows or [("all", 0, None, None, None)]:
            blank = not coverage
            out.append((kpi.category, kpi.name, dimension, int(coverage or 0),
                        None if blank else _num(numerator, 2), None if blank else _num(denominator, 2),
                        None if blank else _num(value, 4), kpi.unit, None, None, None))
    return out
