"""Coaching statistics on numbers worked out by hand: only significant differences become findings."""

from __future__ import annotations

from math import comb

import pandas as pd
import pytest

from csm_analytics.portfolio.coaching import adoption_insights, compare


def _fisher_two_sided(a, b, c, d):
    """Independent check: sum the hypergeometric probabilities no larger than the observed table's."""
    n1, n2, k = a + b, c + d, a + c

    def p(x):
        return comb(n1, x) * comb(n2, k - x) / comb(n1 + n2, k)

    observed = p(a)
    return sum(p(x) for x in range(max(0, k - n2), min(k, n1) + 1) if p(x) <= observed * (1 + 1e-9))


def test_compare_effect_ci_and_p_value():
    treated = pd.Series([True] * 10 + [False] * 10)
    churned = pd.Series([1] + [0] * 9 + [1] * 6 + [0] * 4)
    row = compare("X", "all", treated, churned)
    assert (row["n_treated"], row["n_control"]) == (10, 10)
    assert (row["churn_rate_treated"], row["churn_rate_control"], row["effect_pp"]) == (0.1, 0.6, -50.0)
    # SE = sqrt(0.1 x 0.9 / 10 + 0.6 x 0.4 / 10) = 0.18166 -> 95 % CI -50 +/- 35.6
    assert (row["ci_low_pp"], row["ci_high_pp"]) == (-85.61, -14.39)
    assert row["p_value"] == pytest.approx(_fisher_two_sided(1, 9, 6, 4), abs=1e-5)
    assert row["p_value"] > 0.05 and not row["significant"]  # a big effect on 20 contracts is not yet a finding
    assert "no significant difference" in row["finding"]


def test_a_significant_difference_is_stated_with_its_numbers():
    treated = pd.Series([True] * 40 + [False] * 40)
    churned = pd.Series([1] * 2 + [0] * 38 + [1] * 16 + [0] * 24)
    row = compare("QBR after a drop", "renewals", treated, churned)
    assert row["significant"] and row["p_value"] < 0.001
    assert row["finding"].startswith("QBR after a drop: churn 35.0 pp lower (5.0 % vs 40.0 %, n = 40 vs 40")


def test_adoption_needs_enough_csms():
    csms = pd.DataFrame({"logins_per_week": [1, 2, 3], "nrr": [1.0, 1.1, 1.2], "logo_retention": [0.9, 0.9, 0.9],
                         "health_change": [1, 2, 3], "login_source": ["simulated", "workspace", "simulated"]})
    rows = adoption_insights(csms)
    assert all(not r["significant"] and r["finding"].endswith(
        "no significant correlation (n = 3 CSMs); logins: simulated for 2 CSMs, workspace for 1 CSM") for r in rows)


def test_adoption_finding_names_the_login_source_of_the_csms_it_compared():
    """Five CSMs, perfectly rank-correlated with NRR (rho = 1, p < 0.05); the one without an NRR is left out."""
    csms = pd.DataFrame({"logins_per_week": [1, 2, 3, 4, 5, 6], "nrr": [0.9, 1.0, 1.1, 1.2, 1.3, None],
                         "logo_retention": [0.9, 0.8, 0.9, 0.7, 0.95, 0.9], "health_change": [1, -1, 2, 0, 3, 1],
                         "login_source": ["workspace", "workspace", "simulated", "mixed", "simulated", "workspace"]})
    [nrr, *_] = adoption_insights(csms)
    assert nrr["significant"] and nrr["n_treated"] == 5
    assert nrr["finding"].endswith("(Spearman rho = 1.00, n = 5, p = 1.4e-24); logins: mixed for 1 CSM, "
                                   "simulated for 2 CSMs, workspace for 2 CSMs")
