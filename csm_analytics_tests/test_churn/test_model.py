"""The blend candidate: an equal-weight average of its members, the same whether fitted or assembled."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone

from csm_analytics.churn.model import BLENDED, SoftBlend, build_candidates, choose, fit_candidates


def _frame(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "noise": rng.normal(size=n), "kind": rng.choice(["a", "b"], size=n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * x))).astype(int)
    return frame, y


def test_blend_is_the_mean_of_its_members():
    frame, y = _frame()
    models = fit_candidates(frame, y, ["x", "noise"], ["kind"])
    assert set(models) == {"logistic_regression", "hist_gradient_boosting", "blend"}
    members = np.column_stack([models[n].predict_proba(frame)[:, 1] for n in BLENDED])
    np.testing.assert_allclose(models["blend"].predict_proba(frame)[:, 1], members.mean(axis=1))


def test_fitting_the_blend_equals_assembling_it_from_fitted_members():
    frame, y = _frame()
    blend = clone(build_candidates(["x", "noise"], ["kind"])["blend"]).fit(frame, y)
    assembled = fit_candidates(frame, y, ["x", "noise"], ["kind"])["blend"]
    assert isinstance(blend, SoftBlend) and list(blend.classes_) == [0, 1]
    np.testing.assert_allclose(blend.predict_proba(frame), assembled.predict_proba(frame))


def test_champion_rule_lowest_brier_then_highest_auc():
    results = {"a": {"brier": 0.10, "roc_auc": 0.80}, "b": {"brier": 0.09, "roc_auc": 0.70},
               "c": {"brier": 0.09, "roc_auc": 0.75}}
    assert choose(results) == "c"


def test_blend_works_as_a_champion(tmp_path):
    """Permutation importance, drivers and the saved model file all accept the blend."""
    from csm_analytics.churn.model import drivers, load, top_features

    frame, y = _frame()
    blend = fit_candidates(frame, y, ["x", "noise"], ["kind"])["blend"]
    ranked = top_features(blend, frame, y, ["x", "noise", "kind"], n=3)
    assert ranked[0][0] == "x" and ranked[0][1] > 0.1
    named = drivers(blend, frame.head(5), ["x", "noise"], ["kind"], frame[["x", "noise"]].median())
    assert len(named) == 5
    import joblib
    joblib.dump({"model": blend, "card": None}, tmp_path / "m.joblib")
    again, _ = load(tmp_path / "m.joblib")
    np.testing.assert_allclose(again.predict_proba(frame), blend.predict_proba(frame))
