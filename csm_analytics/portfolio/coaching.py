"""Coaching insights: which CSM behaviours go with better renewals, stated only when significant.

Each insight compares the renewal outcomes of two groups of contracts that ended (treated vs
control), reporting the churn rates, their difference with a 95 % confidence interval (normal
approximation), Fisher's exact p-value and both sample sizes. Only differences with p < 0.05 are
stated as findings; the rest say there is no significant difference. Correlation, not causation:
the text says so. Analytics adoption is compared across CSMs with Spearman's rank correlation.
"""

from __future__ import annotations

import math

import pandas as pd
from csm_analytics.canonical.ownership import OWNER_PERIODS
from csm_analytics.portfolio.adoption import login_source_sql
from scipy.stats import fisher_exact, spearmanr

ALPHA = 0.05

RENEWALS_SQL = """
WITH ended AS (
    SELECT contract_id, account_id, end_date, (renewal_outcome = 'churned')::INT AS churned
    FROM raw.contracts WHERE renewal_outcome IS NOT NULL
),
drops AS (  -- the first day in the 180..30 days before the end when the score had fallen 10+ points in 30 days
    SELECT e.contract_id, min(h.as_of_date) AS drop_day
    FROM ended e JOIN core.account_health_history h ON h.account_id = e.account_id
     AND h.as_of_date BETWEEN e.end_date - 180 AND e.end_date - 30
    JOIN core.account_health_history p ON p.account_id = h.account_id AND p.as_of_date = h.as_of_date - 30
    WHERE p.health_score - h.health_score >= 10
    GROUP BY e.contract_id
)
SELECT e.*, d.drop_day IS NOT NULL AS had_health_drop,
       EXISTS (SELECT 1 FROM raw.qbrs q WHERE q.account_id = e.account_id
               AND q.qbr_date BETWEEN d.drop_day AND d.drop_day + 14) AS qbr_within_14d_of_drop,
       c.touches_90d, c.roles_90d, t.touches_per_month
FROM ended e
LEFT JOIN drops d USING (contract_id)
JOIN core.account_health_components c ON c.account_id = e.account_id AND c.as_of_date = e.end_date - 60
JOIN tier_targets t ON t.tier = c.tier
"""


def compare(name: str, population: str, treated: pd.Series, churned: pd.Series) -> dict:
    """Churn rate of treated vs control contracts, with CI, Fisher p-value and a finding only if significant."""
    a, b = churned[treated], churned[~treated]
    n1, n0, k1, k0 = len(a), len(b), int(a.sum()), int(b.sum())
    row = {"insight": name, "population": population, "n_treated": n1, "n_control": n0,
           "churn_rate_treated": None, "churn_rate_control": None, "effect_pp": None, "ci_low_pp": None,
           "ci_high_pp": None, "p_value": None, "significant": False}
    if n1 == 0 or n0 == 0:
        row["finding"] = "not enough data: one group is empty"
        return row
    p1, p0 = k1 / n1, k0 / n0
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    p_value = float(fisher_exact([[k1, n1 - k1], [k0, n0 - k0]])[1])
    effect = 100 * (p1 - p0)
    row.update(churn_rate_treated=round(p1, 4), churn_rate_control=round(p0, 4), effect_pp=round(effect, 2),
               ci_low_pp=round(effect - 196 * se, 2), ci_high_pp=round(effect + 196 * se, 2),
               p_value=round(p_value, 5), significant=p_value < ALPHA)
    direction = "lower" if effect < 0 else "higher"
    row["finding"] = (f"{name}: churn {abs(effect):.1f} pp {direction} ({100 * p1:.1f} % vs {100 * p0:.1f} %, "
                      f"n = {n1} vs {n0}, p = {p_value:.3g}); an association, not proof of cause"
                      if row["significant"] else f"{name}: no significant difference (p = {p_value:.2g})")
    return row


def renewal_insights(renewals: pd.DataFrame) -> list[dict]:
    churned = renewals.churned.astype(int)
    dropped = renewals[renewals.had_health_drop.astype(bool)]
    return [
        compare("QBR held within 2 weeks of a health drop", "renewals that had a 10-point drop 180..30 days before the end",
                dropped.qbr_within_14d_of_drop.astype(bool), dropped.churned.astype(int)),
        compare("Touches at or above the tier target in the 90 days before renewal (measured 60 days out)",
                "all renewals", renewals.touches_90d >= 3 * renewals.touches_per_month, churned),
        compare("Three or more contact roles engaged (90 days, measured 60 days out)", "all renewals",
                renewals.roles_90d >= 3, churned),
    ]


def login_sources(sources: pd.Series) -> str:
    """How many CSMs each login source served, as `source_summary_sql` words it: `simulated for 5 CSMs, ...`."""
    counts = sources.value_counts().sort_index()
    return ", ".join(f"{source} for {n} CSM{'' if n == 1 else 's'}" for source, n in counts.items())


def adoption_insights(csms: pd.DataFrame) -> list[dict]:
    """CSMs' analytics usage (logins from 52 weeks before the last quarter end on, per 52 weeks; real workspace logins
    where they exist, `portfolio/adoption.py`) against NRR, logo retention and health change (Spearman, across
    CSMs). Each finding names the login source of the CSMs it compared."""
    out = []
    for outcome in ("nrr", "logo_retention", "health_change"):
        data = csms[["logins_per_week", outcome, "login_source"]].dropna(subset=["logins_per_week", outcome])
        n = len(data)
        rho, p = (spearmanr(data.logins_per_week, data[outcome]) if n >= 4 else (float("nan"), float("nan")))
        significant = bool(n >= 4 and p < ALPHA)
        out.append({"insight": f"Analytics adoption vs {outcome}", "population": "CSMs", "n_treated": n, "n_control": 0,
                    "churn_rate_treated": None, "churn_rate_control": None,
                    "effect_pp": None if math.isnan(rho) else round(float(rho), 3), "ci_low_pp": None, "ci_high_pp": None,
                    "p_value": None if math.isnan(p) else round(float(p), 5), "significant": significant,
                    "finding": (f"CSMs who use the analytics more have {'higher' if rho > 0 else 'lower'} {outcome} "
                                f"(Spearman rho = {rho:.2f}, n = {n}, p = {p:.3g})" if significant else
                                f"Analytics adoption vs {outcome}: no significant correlation (n = {n} CSMs)")
                               + (f"; logins: {login_sources(data.login_source)}" if n else "")})
    return out


CSM_ADOPTION_SQL = f"""
WITH last AS (SELECT max(quarter_end) AS q FROM marts.revenue_retention),
logins AS (SELECT csm_id, count(*) / 52.0 AS logins_per_week FROM csm_logins, last
           WHERE login_at::DATE > q - 364 GROUP BY csm_id),  -- logins after q count too (docs/metrics.md)
health AS (SELECT csm_id, avg(health_score) FILTER (as_of_date = (SELECT q FROM last))
                        - avg(health_score) FILTER (as_of_date = (SELECT q - 364 FROM last)) AS health_change
           FROM core.account_health_history h JOIN {OWNER_PERIODS} o ON o.account_id = h.account_id
            AND h.as_of_date BETWEEN o.valid_from AND coalesce(o.valid_to, DATE '9999-12-31')
           GROUP BY csm_id)
SELECT s.csm_id, coalesce(l.logins_per_week, 0) AS logins_per_week, r.nrr, r.logo_retention, h.health_change,
       {login_source_sql("(SELECT q FROM last) - 363", "DATE '9999-12-31'")} AS login_source
FROM raw.csms s LEFT JOIN logins l USING (csm_id) LEFT JOIN health h USING (csm_id)
LEFT JOIN csm_login_switch sw USING (csm_id)
LEFT JOIN marts.revenue_retention r ON r.dimension = 'csm' AND r.dimension_value = s.csm_id
 AND r.quarter_end = (SELECT q FROM last)
"""
