"""The evaluation's pooling and intervals on hand-built numbers (no world is generated)."""

import math

import numpy as np
import pytest

from csm_analytics.evaluation import pooling
from csm_analytics.evaluation.config import EvaluationConfigError, check_seeds, load_evaluation_config
from csm_analytics.evaluation.figures import (
    alert_figures,
    cohort_figures,
    coaching_figures,
    early_warning_figures,
    share_within_if_exact,
)
from csm_analytics.evaluation.pooling import Pooled, pooled_rate, stratified_bootstrap


def test_pooled_rate_sums_counts_over_worlds_and_gives_wilson():
    # 6 of 8 and 9 of 12 -> 15 of 20 = 0.75; Wilson 95 %: centre (0.75 + 1.96^2/40) / (1 + 1.96^2/20)
    p = pooled_rate([6, 9], [8, 12])
    z = 1.96
    centre = (0.75 + z * z / 40) / (1 + z * z / 20)
    half = z * math.sqrt(0.75 * 0.25 / 20 + z * z / 1600) / (1 + z * z / 20)
    assert p.value == 0.75 and p.n == 20
    assert p.low == pytest.approx(centre - half) and p.high == pytest.approx(centre + half)
    assert p.low == pytest.approx(0.5313, abs=1e-4) and p.high == pytest.approx(0.8881, abs=1e-4)
    assert pooled_rate([0], [0]) == Pooled(None, None, None, 0)


def test_bootstrap_of_a_constant_has_a_zero_width_interval_and_the_pooled_point():
    worlds = [{"x": np.array([2.0, 2.0, 2.0])}, {"x": np.array([2.0])}]
    p = stratified_bootstrap(worlds, pooling.mean_of("x"), reps=50)
    assert (p.value, p.low, p.high, p.n) == (2.0, 2.0, 2.0, 4)


def test_bootstrap_resamples_inside_each_world():
    # world A is all 0, world B all 1, sizes 3 and 1: every replicate keeps the sizes, so the mean is always 1/4.
    worlds = [{"x": np.zeros(3)}, {"x": np.ones(1)}]
    p = stratified_bootstrap(worlds, pooling.mean_of("x"), reps=200)
    assert (p.value, p.low, p.high) == (0.25, 0.25, 0.25)


def test_bootstrap_interval_covers_the_point_and_is_reproducible():
    rng = np.random.default_rng(1)
    worlds = [{"x": rng.normal(0, 1, 200)} for _ in range(3)]
    a = stratified_bootstrap(worlds, pooling.mean_of("x"), reps=300)
    b = stratified_bootstrap(worlds, pooling.mean_of("x"), reps=300)
    assert a == b
    assert a.low < a.value < a.high
    # the standard error of a mean of 600 N(0,1) is 1/sqrt(600) ~ 0.041, so the interval is about +/-0.08 wide
    assert 0.12 < a.high - a.low < 0.20


def test_auc_pooled_over_worlds_on_concatenated_units():
    # scores 0.1..0.4 with labels 0,0,1,1 (world 1) and 0.2, 0.3 with labels 1, 0 (world 2):
    # pairs (pos, neg) over 3 positives x 3 negatives: 0.3>0.1,0.3>0.2,0.3>0.3(tie .5); 0.4 beats all three;
    # 0.2 vs 0.1 win, vs 0.2 tie, vs 0.3 loss -> (2.5 + 3 + 1.5) / 9 = 7/9
    worlds = [{"s": np.array([0.1, 0.2, 0.3, 0.4]), "y": np.array([0, 0, 1, 1])},
              {"s": np.array([0.2, 0.3]), "y": np.array([1, 0])}]
    assert pooling.auc("s", "y")(worlds) == pytest.approx(7 / 9)
    assert math.isnan(pooling.auc("s", "y")([{"s": np.array([0.5]), "y": np.array([1])}]))
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    s, y = rng.integers(0, 20, 300).astype(float), rng.integers(0, 2, 300)  # many ties
    assert pooling.auc("s", "y")([{"s": s, "y": y}]) == pytest.approx(roc_auc_score(y, s))
    assert pooling.brier("s", "y")(worlds[:1]) == pytest.approx((0.01 + 0.04 + 0.49 + 0.36) / 4)


def test_lift_pools_per_account_sums():
    # top decile: 2 rows, 1 hit; all: 20 rows, 2 hits -> (1/2) / (2/20) = 5
    worlds = [{"top_hits": np.array([1.0, 0.0]), "top_rows": np.array([1.0, 1.0]),
               "hits": np.array([1.0, 0.0]), "rows": np.array([5.0, 5.0])},
              {"top_hits": np.array([0.0]), "top_rows": np.array([0.0]), "hits": np.array([1.0]),
               "rows": np.array([10.0])}]
    assert pooling.lift(worlds) == pytest.approx(5.0)


def test_meets_uses_the_point_and_qualifies_with_the_interval():
    assert Pooled(0.85, 0.81, 0.89, 100).meets(0.80) == "met"
    assert Pooled(0.82, 0.78, 0.86, 100).meets(0.80) == "met (interval crosses the target)"
    assert Pooled(0.70, 0.65, 0.74, 100).meets(0.75) == "missed"
    assert Pooled(0.20, 0.17, 0.23, 100).meets(0.25, higher_is_better=False) == "met"
    assert Pooled(0.30, 0.27, 0.33, 100).meets(0.25, higher_is_better=False) == "missed"


def _world(seed, **parts):
    return {"world": {"seed": seed}, **parts}


def test_early_warning_figures_sum_cohorts_and_worlds():
    results = [_world(1, cohorts={"contracts": [40, 60], "actually_churned": [4, 6], "flagged_60d_before_end": [8, 12],
                                  "flagged_churners": [3, 5]}),
               _world(2, cohorts={"contracts": [100], "actually_churned": [10], "flagged_60d_before_end": [20],
                                  "flagged_churners": [7]})]
    f = early_warning_figures(results)
    assert f["early_warning_rate"]["pooled"].value == pytest.approx(15 / 20)
    assert f["share_flagged"]["pooled"].value == pytest.approx(40 / 200)
    assert f["false_alarm_rate"]["pooled"].value == pytest.approx(25 / 180)
    assert f["precision"]["pooled"].value == pytest.approx(15 / 40)
    assert f["base_rate"]["pooled"].value == pytest.approx(20 / 200)
    assert f["early_warning_rate"]["per_world"] == [pytest.approx(0.8), pytest.approx(0.7)]


def test_cohort_figures_count_within_band_and_the_noise_floor():
    results = [_world(1, cohorts={"cohort_quarter": ["2025-Q1", "2025-Q2"], "contracts": [50, 50],
                                  "variance_pp": [3.0, -12.0], "variance_noise_pp": [5.0, 5.0],
                                  "oracle_variance_pp": [1.0, -4.0]}),
               _world(2, cohorts={"cohort_quarter": ["2025-Q1"], "contracts": [50], "variance_pp": [5.0],
                                  "variance_noise_pp": [2.5], "oracle_variance_pp": [6.0]})]
    f = cohort_figures(results)
    assert f["within"].value == pytest.approx(2 / 3)
    assert f["oracle_within"].value == pytest.approx(2 / 3)
    assert f["beyond_worst"] == 1 and f["max_abs_pp"] == 12.0
    # P(|N(0, 5)| <= 5) = 0.6827; P(|N(0, 2.5)| <= 5) = 0.9545
    assert share_within_if_exact(5.0, 5.0) == pytest.approx(0.6827, abs=1e-4)
    assert f["expected_within_if_exact"] == pytest.approx((0.6827 * 2 + 0.9545) / 3, abs=1e-4)


def test_alert_and_coaching_figures_pool_counts():
    a = {"rule": ["usage_drop", "all rules"], "alerts_with_outcome_observed": [10, 30],
         "precision_churn_or_downgrade_180d": [0.3, 0.2], "churned_contracts": [8, 8], "alerted_60d_before": [2, 6]}
    b = {"rule": ["usage_drop", "all rules"], "alerts_with_outcome_observed": [20, 50],
         "precision_churn_or_downgrade_180d": [0.15, 0.1], "churned_contracts": [12, 12], "alerted_60d_before": [4, 9]}
    rules = alert_figures([_world(1, alerts=a), _world(2, alerts=b)])
    assert [r["rule"] for r in rules] == ["usage_drop", "all rules"]
    assert rules[0]["precision"].value == pytest.approx((3 + 3) / 30)
    assert rules[1]["recall"].value == pytest.approx(15 / 20)
    insight = {"insight": ["QBR"], "n_treated": [20], "n_control": [80], "churn_rate_treated": [0.05],
               "churn_rate_control": [0.1], "effect_pp": [-5.0], "p_value": [0.6], "significant": [False]}
    other = {**insight, "n_treated": [30], "n_control": [70], "churn_rate_treated": [0.1],
             "churn_rate_control": [0.1], "significant": [True]}
    row = coaching_figures([_world(1, coaching=insight), _world(2, coaching=other)])[0]
    # treated: 1 + 3 of 50 = 8 %; control: 8 + 7 of 150 = 10 % -> -2 pp
    assert row["value"] == pytest.approx(-2.0)
    se = math.sqrt(0.08 * 0.92 / 50 + 0.1 * 0.9 / 150)
    assert row["low"] == pytest.approx(-2.0 - 196 * se) and row["significant_worlds"] == 1


def test_evaluation_seeds_are_kept_apart_from_dev_seeds():
    config = load_evaluation_config()
    assert not set(config.seeds) & set(config.dev_seeds)
    assert {11, 13, 23, 31, 7, 21} <= set(config.dev_seeds)
    with pytest.raises(EvaluationConfigError, match=r"\[11\]"):
        check_seeds([101, 11], config.dev_seeds)


def test_the_command_refuses_a_dev_seed_and_a_render_without_results(tmp_path, capsys):
    from csm_analytics.evaluation.__main__ import main

    assert main(["--seeds", "101,13", "--work-dir", str(tmp_path), "--out", str(tmp_path / "e.md")]) == 2
    assert "[13] were used to choose or check settings" in capsys.readouterr().err
    assert main(["--seeds", "101", "--render-only", "--work-dir", str(tmp_path), "--out", str(tmp_path / "e.md")]) == 1
    assert "no saved result for seed(s) [101]" in capsys.readouterr().err
    assert not (tmp_path / "e.md").exists()
