"""Check-In Impact Score: the measured association between check-ins and the renewal that followed.

A check-in is a customer-facing call or meeting. A decided contract counts as "checked in" when it had at
least CHECK_INS_NEEDED of them in the 90 days before its end date. The score is the retention rate of
checked-in contracts minus that of the others, in percentage points, with a 95 % confidence interval
(normal approximation) and Fisher's exact p-value (the same test as the coaching insights). An
association, not proof of cause. Definition: docs/metrics.md.
"""

from __future__ import annotations

import pandas as pd

from csm_analytics.portfolio.coaching import compare

CHECK_INS_NEEDED = 3  # about one a month over the last quarter of the term
NAME = "Check-In Impact Score (retention, all decided renewals)"

CHECK_IN_RENEWALS_SQL = """
SELECT c.contract_id, (c.renewal_outcome = 'churned') AS churned,
       (SELECT count(*) FROM raw.activities x WHERE x.account_id = c.account_id
          AND x.activity_type IN ('call', 'meeting') AND x.activity_date BETWEEN c.end_date - 89 AND c.end_date)
           AS check_ins_90d
FROM raw.contracts c WHERE c.renewal_outcome IS NOT NULL
ORDER BY c.contract_id
"""


def check_in_impact(renewals: pd.DataFrame) -> dict:
    """The KPI row (as a dict of the catalogue columns) and the comparison behind it."""
    checked_in = renewals["check_ins_90d"] >= CHECK_INS_NEEDED
    result = compare("Check-ins in the 90 days before the end", "decided renewals", checked_in,
                     renewals["churned"].astype(int))
    row = {"category": "engagement", "kpi": NAME, "dimension": f">= {CHECK_INS_NEEDED} check-ins vs fewer",
           "coverage": len(renewals), "numerator": None, "denominator": None, "value": None, "unit": "pp",
           "ci_low": None, "ci_high": None, "p_value": None}
    if result["effect_pp"] is not None:  # churn difference -> retention difference: the signs flip
        row.update(numerator=round(100 * (1 - result["churn_rate_treated"]), 2),
                   denominator=round(100 * (1 - result["churn_rate_control"]), 2),
                   value=-result["effect_pp"], ci_low=-result["ci_high_pp"], ci_high=-result["ci_low_pp"],
                   p_value=result["p_value"])
    return {"row": row, "comparison": result}
