"""docs/evaluation.md rendered from two hand-built world results: the pooled figures and verdicts it states."""

from __future__ import annotations

from csm_analytics.evaluation.config import load_evaluation_config
from csm_analytics.evaluation.figures import pooled_figures
from csm_analytics.evaluation.report import render


def _world(seed: int, flip: bool) -> dict:
    # 10 renewals: health risk ranks the 2 churners (and 1 downgrade) first -> AUC 1.0 on churn
    scores = [20, 30, 40, 60, 70, 75, 80, 85, 90, 95]
    churned = [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    lost = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    return {
        "world": {"seed": seed, "accounts": 10, "csms": 2, "generate_seconds": 1.0, "materialize_seconds": 60.0,
                  "measure_seconds": 2.0},
        "health": {"health_score": scores, "churned": churned, "lost_revenue": lost},
        "churn": {"churn_probability": [0.5, 0.4, 0.3, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.02], "churned": churned},
        "cohorts": {"cohort_quarter": ["2025-Q1", "2025-Q2"], "contracts": [5, 5], "actually_churned": [1, 1],
                    "flagged_60d_before_end": [1, 2 if flip else 1], "flagged_churners": [1, 1],
                    "variance_pp": [2.0, -12.0 if flip else 4.0], "variance_noise_pp": [8.0, 8.0],
                    "oracle_variance_pp": [1.0, -3.0]},
        "expansion": {"top_hits": [1.0, 0.0, 0.0], "top_rows": [1.0, 0.0, 0.0], "hits": [1.0, 1.0, 0.0],
                      "rows": [2.0, 4.0, 4.0], "lift": 5.0},
        "forecast": {"quarter_start": ["2025-01-01", "2025-04-01"], "variance": [0.10, -0.30 if flip else 0.05]},
        "alerts": {"rule": ["usage_drop", "all rules"], "alerts_with_outcome_observed": [10, 20],
                   "precision_churn_or_downgrade_180d": [0.2, 0.1], "churned_contracts": [2, 2],
                   "alerted_60d_before": [1, 2]},
        "coaching": {"insight": ["Three or more contact roles", "Analytics adoption vs nrr"], "n_treated": [4, 2],
                     "n_control": [6, 0], "churn_rate_treated": [0.25, float("nan")],
                     "churn_rate_control": [0.1667, float("nan")],  # the adoption rows have no rates (NaN when saved)
                     "effect_pp": [8.33, 0.4], "p_value": [0.6, 0.3], "significant": [False, False]},
        "facts": {"oracle_churn_auc": 0.85, "annual_logo_churn": 0.08, "nrr_trailing_12m": 1.07},
    }


def test_report_states_pooled_figures_and_verdicts():
    results = [_world(101, flip=False), _world(211, flip=True)]
    text = render(results, pooled_figures(results, reps=200), load_evaluation_config(), "csm-analytics evaluate", 130.0,
                  "2026-11-29 21:00 UTC", note="A note.")
    assert "2 generated worlds of 10 accounts and 2 CSMs each (seeds 101, 211)" in text
    assert "A note." in text
    # health AUC on churn: the churners have the lowest scores in both worlds -> 1.000, its interval collapses
    assert "| health AUC at -60 days (churn) | >= 0.80 | 1.000 (1.000-1.000) | met |" in text
    # early warning: 4 of 4 churners flagged (Wilson 51 %-100 %); 5 of 20 renewals flagged = 25 %
    assert "| early-warning rate | >= 75% | 100.0% (51.0%-100.0%) | met (interval crosses the target) |" in text
    assert "| share of renewals flagged | <= 25% | 25.0% (11.2%-46.9%) | met (interval crosses the target) |" in text
    # cohorts: 3 of 4 within 5 pp, one at -12 pp
    assert "| cohorts off by more than 10 pp | none | 1 | missed |" in text
    assert "| cohorts within +/-5 pp | >= 80% | 75.0%" in text
    # forecast absolute variance: mean of 0.10, 0.05, 0.10, 0.30 = 13.75 %
    assert "| expansion forecast mean absolute variance | <= 15% | 13.8%" in text
    assert "| usage_drop | 20.0% (8.1%-41.6%) | 20 | 50.0% (15.0%-85.0%) | 4 |" in text
    assert "| Analytics adoption vs nrr | rho +0.40 |  | 0 of 2 |" in text
    assert "Sum over worlds: 2.1 min; wall time of this command 2.2 min." in text
