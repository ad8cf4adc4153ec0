"""The replay's model check, fallbacks and warm-up baseline, on hand-built rows and hand-built models."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from csm_analytics.churn import replay
from csm_analytics.churn.config import DEFAULT_CONFIG, load_churn_config
from csm_analytics.churn.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES
from csm_analytics.churn.replay import (
    BASELINE_FAMILY,
    TierTenureBaseline,
    check_model,
    decided_renewals,
    plan_replay,
)

CONFIG = dataclasses.replace(load_churn_config(DEFAULT_CONFIG), min_holdout_churned=1, min_holdout_auc=0.6,
                             max_calibration_ratio=2.0, max_book_flag_share=0.25, flag_threshold=0.20)


class ConstantModel:
    """A broken model: the same probability for every row (it cannot rank; at 0.35 it flags the whole book)."""

    def __init__(self, p):
        self.p = p

    def predict_proba(self, X):
        return np.column_stack([np.full(len(X), 1 - self.p), np.full(len(X), self.p)])


class SignalModel:
    """A good model: 0.60 when escalations_90d > 0, else 0.02."""

    def predict_proba(self, X):
        p = np.where(X.escalations_90d.to_numpy() > 0, 0.60, 0.02)
        return np.column_stack([1 - p, p])


def _rows(n, **columns) -> pd.DataFrame:
    frame = pd.DataFrame({c: np.zeros(n) for c in NUMERIC_FEATURES})
    for c in CATEGORICAL_FEATURES:
        frame[c] = "growth"
    frame["days_to_renewal"] = 90.0
    frame["tenure_days"] = 400.0
    for name, values in columns.items():
        frame[name] = values
    return frame


def _baseline(rate_growth=0.10):
    # 10 decided renewals of growth accounts in their second year, 1 churned; prior 0 renewals: rate exactly 0.10
    renewals = pd.DataFrame({"tier": ["growth"] * 10, "tenure_days": [400] * 10, "churned": [1] + [0] * 9})
    return TierTenureBaseline(180, prior_renewals=0).fit(renewals)


def test_baseline_is_the_renewal_churn_rate_by_tier_and_tenure_and_zero_beyond_the_horizon():
    renewals = pd.DataFrame({"tier": ["growth"] * 4 + ["enterprise"] * 4,
                             "tenure_days": [100, 200, 500, 600, 100, 800, 900, 1000],
                             "churned": [1, 1, 0, 0, 0, 1, 0, 0]})
    baseline = TierTenureBaseline(180, prior_renewals=4).fit(renewals)
    # overall 3/8; growth <1y: (2 + 4 x 0.375) / (2 + 4) = 0.5833; enterprise 2y+: (1 + 1.5) / (3 + 4) = 0.3571
    rows = pd.DataFrame({"tier": ["growth", "enterprise", "growth", "starter"], "tenure_days": [50, 750, 50, 50],
                         "days_to_renewal": [30, 100, 200, 30]})
    p = baseline.predict_proba(rows)[:, 1]
    assert p == pytest.approx([3.5 / 6, 2.5 / 7, 0.0, 0.375])  # beyond 180 days: 0; unseen tier: overall rate


def test_a_model_predicting_the_same_high_probability_everywhere_fails_every_check():
    # held-out: 10 rows of 10 contracts, 1 churned (observed 0.10); book: 20 rows, baseline 0.10 each
    holdout = _rows(10, churned=[1] + [0] * 9, contract_id=[f"K{i}" for i in range(10)],
                    escalations_90d=[1] + [0] * 9)
    book = _rows(20)
    check = check_model(ConstantModel(0.35), holdout, book, _baseline(), CONFIG)
    assert not check.passed
    assert check.holdout_auc == 0.5 and check.holdout_mean_predicted == pytest.approx(0.35)
    assert check.holdout_observed == pytest.approx(0.10)
    assert (check.book_mean_predicted, check.baseline_book_mean, check.book_flag_share) == \
        (pytest.approx(0.35), pytest.approx(0.10), 1.0)
    assert check.failures == ["held-out AUC 0.500 < 0.6", "held-out mean p 0.350 vs observed 0.100 (outside x2)",
                              "book mean p 0.350 vs baseline 0.100 (outside x2)",
                              "100.0% of the book at or above 0.2 (> 25%)"]


def test_a_model_that_ranks_and_is_calibrated_passes():
    holdout = _rows(10, churned=[1] + [0] * 9, contract_id=[f"K{i}" for i in range(10)],
                    escalations_90d=[1] + [0] * 9)
    book = _rows(20, escalations_90d=[1] * 4 + [0] * 16)  # mean p (4 x 0.60 + 16 x 0.02) / 20 = 0.136
    check = check_model(SignalModel(), holdout, book, _baseline(), CONFIG)
    assert check.failures == []
    assert check.holdout_auc == 1.0 and check.holdout_mean_predicted == pytest.approx(0.078)  # (0.60 + 9 x 0.02) / 10
    assert check.book_mean_predicted == pytest.approx(0.136) and check.book_flag_share == pytest.approx(0.20)


def _history() -> pd.DataFrame:
    """30 accounts, one growth contract each, ending on the 10th of Jan..Jun 2025 (5 a month); every 5th churns.
    Weekly snapshots from 2024-12-02 until the end; an account's first snapshot of a month is its book row."""
    rows = []
    for i in range(30):
        end = dt.date(2025, 1 + i // 5, 10)
        day = dt.date(2024, 12, 2)
        while day < end:
            days = (end - day).days
            rows.append({"account_id": f"A{i:02d}", "contract_id": f"K{i:02d}", "snapshot_date": pd.Timestamp(day),
                         "days_to_renewal": float(days), "tenure_days": 400.0,
                         "churned": int(i % 5 == 0 and days <= 180), "label_known": True,
                         "label_resolved_on": pd.Timestamp(end), "escalations_90d": float(i % 5 == 0)})
            day += dt.timedelta(days=7)
    frame = pd.DataFrame(rows)
    for c in NUMERIC_FEATURES:
        if c not in frame:
            frame[c] = 0.0
    for c in CATEGORICAL_FEATURES:
        frame[c] = "growth"
    return frame


def test_decided_renewals_are_counted_before_the_month():
    renewals = decided_renewals(_history(), pd.Timestamp("2025-03-01"), 180)
    assert len(renewals) == 10 and renewals.churned.sum() == 2  # January and February: A00, A05 churned


def test_replay_warms_up_on_the_baseline_then_falls_back_on_a_failing_model(monkeypatch):
    """Months Jan..Jun 2025. Jan: no renewal decided yet (not scored). Feb: 5 renewals (< 8 needed to learn):
    baseline (warm-up). Mar: the first learned model, which passes. Apr: its model is broken (0.35 everywhere):
    April's baseline scores April. May: broken again, May's baseline. Jun: a good model again."""
    config = dataclasses.replace(CONFIG, min_baseline_renewals=3, min_learned_renewals=8,
                                 min_training_churned_contracts=1, holdout_every=3, baseline_prior_renewals=0)
    broken_months = {pd.Timestamp("2025-03-10"), pd.Timestamp("2025-04-10")}  # April and May: renewals to 10 Mar, 10 Apr

    def fake_fit(candidate, train, numeric, categorical):
        return ConstantModel(0.35) if train.label_resolved_on.max() in broken_months else SignalModel()

    monkeypatch.setattr(replay.churn_model, "fit", fake_fit)
    months = [pd.Period(f"2025-0{m}", "M") for m in range(1, 7)]
    plans, notes = plan_replay(_history(), months, "blend", config)
    assert notes == ["2025-01: not scored, only 0 renewals decided before it"]
    used = {str(m): p.used for m, p in plans.items()}
    assert used == {"2025-02": "baseline (warm-up)", "2025-03": "learned", "2025-04": "baseline (check failed)",
                    "2025-05": "baseline (check failed)", "2025-06": "learned"}
    assert plans[pd.Period("2025-02", "M")].family == BASELINE_FAMILY
    april = plans[pd.Period("2025-04", "M")]
    assert april.family == BASELINE_FAMILY and april.trained_through == pd.Timestamp("2025-03-31")
    assert april.reason.startswith("check failed: held-out AUC 0.500 < 0.6; held-out mean p 0.350 vs observed 0.100")
    assert not april.check.passed
    # a month re-run alone gets the model the full replay gave it: the choice never depends on the run's range
    for month in months[1:]:
        alone, _ = plan_replay(_history(), [month], "blend", config)
        assert (alone[month].used, alone[month].family, alone[month].trained_through) == \
            (plans[month].used, plans[month].family, plans[month].trained_through)


def test_a_failing_model_gives_way_to_the_baseline(monkeypatch):
    config = dataclasses.replace(CONFIG, min_baseline_renewals=3, min_learned_renewals=8,
                                 min_training_churned_contracts=1, holdout_every=3, baseline_prior_renewals=0)
    monkeypatch.setattr(replay.churn_model, "fit", lambda *a: ConstantModel(0.35))
    plans, _ = plan_replay(_history(), [pd.Period("2025-03", "M")], "blend", config)
    march = plans[pd.Period("2025-03", "M")]
    assert (march.used, march.family) == ("baseline (check failed)", BASELINE_FAMILY)
    # the baseline of March: 10 renewals decided in Jan and Feb, 2 churned -> 0.20 for a growth renewal within 180 days
    row = _history().iloc[:1].assign(days_to_renewal=30.0)
    assert march.model.predict_proba(row)[0, 1] == pytest.approx(0.20)
