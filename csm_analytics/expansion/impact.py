"""Check-In Impact Score: the measured association between check-ins and what followed (retention, expansion).

A check-in is a customer-facing call or meeting; "checked in" means at least CHECK_INS_NEEDED of them in
the 90 days before a reference date.

- Retention: every decided contract, reference date its end date; the score is the retention rate of
  checked-in contracts minus that of the others.
- Expansion: every account with a contract in force on T - horizon (T the last day, horizon the readiness
  backtest's, 180 days), reference date T - horizon; an account expands when an expansion opportunity
  created after that date closes won within the horizon (the readiness backtest's outcome, the same SQL).
  The score is the expansion rate of checked-in accounts minus that of the others. One row per account,
  so the rows are independent.

Both are in percentage points with a 95 % confidence interval (normal approximation) and Fisher's exact
p-value (the same test as the coaching insights). An association, not proof of cause. Definition:
docs/metrics.md.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from csm_analytics.portfolio.coaching import compare

CHECK_INS_NEEDED = 3  # about one a month over the last quarter
NAME = "Check-In Impact Score (retention, all decided renewals)"
EXPANSION_NAME = "Check-In Impact Score (expansion, accounts active at the start of the window)"
CHECK_INS = ("(SELECT count(*) FROM raw.activities x WHERE x.account_id = {account} AND x.activity_type IN "
             "('call', 'meeting') AND x.activity_date BETWEEN {day} - 89 AND {day})")

CHECK_IN_RENEWALS_SQL = f"""
SELECT c.contract_id, (c.renewal_outcome = 'churned') AS churned,
       {CHECK_INS.format(account="c.account_id", day="c.end_date")} AS check_ins_90d
FROM raw.contracts c WHERE c.renewal_outcome IS NOT NULL
ORDER BY c.contract_id
"""


def check_in_accounts_sql(start: dt.date, outcomes_sql: str) -> str:
    """One row per account in force on `start`: check-ins in the 90 days up to it, and whether it expanded after.

    `outcomes_sql` is the readiness backtest's outcome query for [start] (signals.outcomes_sql)."""
    return f"""
SELECT a.account_id, {CHECK_INS.format(account="a.account_id", day=f"DATE '{start}'")} AS check_ins_90d,
       coalesce(o.expanded, false) AS expanded
FROM (SELECT DISTINCT account_id FROM raw.contracts WHERE DATE '{start}' BETWEEN start_date AND end_date) a
LEFT JOIN ({outcomes_sql}) o USING (account_id)
ORDER BY a.account_id
"""


def _blank_row(name: str, coverage: int) -> dict:
    return {"category": "engagement", "kpi": name, "dimension": f">= {CHECK_INS_NEEDED} check-ins vs fewer",
            "coverage": coverage, "numerator": None, "denominator": None, "value": None, "unit": "pp",
            "ci_low": None, "ci_high": None, "p_value": None}


def check_in_impact(renewals: pd.DataFrame) -> dict:
    """The retention KPI row (as a dict of the catalogue columns) and the comparison behind it."""
    checked_in = renewals["check_ins_90d"] >= CHECK_INS_NEEDED
    result = compare("Check-ins in the 90 days before the end", "decided renewals", checked_in,
                     renewals["churned"].astype(int))
    row = _blank_row(NAME, len(renewals))
    if result["effect_pp"] is not None:  # churn difference -> retention difference: the signs flip
        row.update(numerator=round(100 * (1 - result["churn_rate_treated"]), 2),
                   denominator=round(100 * (1 - result["churn_rate_control"]), 2),
                   value=-result["effect_pp"], ci_low=-result["ci_high_pp"], ci_high=-result["ci_low_pp"],
                   p_value=result["p_value"])
    return {"row": row, "comparison": result}


def check_in_expansion_impact(accounts: pd.DataFrame, start: dt.date | None = None, horizon_days: int = 180) -> dict:
    """The expansion KPI row and a one-line finding: expansion rate with >= 3 check-ins minus without, in pp."""
    checked_in = accounts["check_ins_90d"] >= CHECK_INS_NEEDED
    # `compare` names its rates for churn; here the event counted is an expansion
    result = compare("Check-ins in the 90 days before", "active accounts", checked_in, accounts["expanded"].astype(int))
    row = _blank_row(EXPANSION_NAME, len(accounts))
    if result["effect_pp"] is None:
        return {"row": row, "finding": "not enough data: one group is empty"}
    treated, control = 100 * result["churn_rate_treated"], 100 * result["churn_rate_control"]
    row.update(numerator=round(treated, 2), denominator=round(control, 2), value=result["effect_pp"],
               ci_low=result["ci_low_pp"], ci_high=result["ci_high_pp"], p_value=result["p_value"])
    finding = (f"Accounts with >= {CHECK_INS_NEEDED} check-ins in the 90 days to {start} expanded within {horizon_days} "
               f"days {result['effect_pp']:+.1f} pp vs the others ({treated:.1f} % vs {control:.1f} %, n = "
               f"{result['n_treated']} vs {result['n_control']}, 95 % CI {result['ci_low_pp']:+.1f} … "
               f"{result['ci_high_pp']:+.1f}, p = {result['p_value']:.2g}); an association, not proof of cause")
    return {"row": row, "finding": finding}
