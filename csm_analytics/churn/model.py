"""Churn model: three calibrated candidates, a time-based split, a champion, a model card.

Pure scikit-learn and pandas on small frames (one row per account snapshot);
no Dagster here. The same builders serve the demo world and the Telco data set.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import ThreadpoolController

RANDOM_STATE = 0
_THREADPOOLS = ThreadpoolController()


class OneThreadBoosting(HistGradientBoostingClassifier):
    """Histogram gradient boosting whose OpenMP loops run on the calling thread alone.

    Why: our frames are small (a few thousand rows per fit, one day's book per prediction) and the replay
    fits two monthly models at once, so OpenMP's worker threads cost more than they give: fits took about
    2x and predictions about 3.5x longer with them on a 2-core machine. The limit is per calling thread
    (OpenMP's thread count is a per-thread setting), so concurrent fits each get one thread. The results do
    not depend on the thread count: each feature's histogram is summed in the same order either way.
    """

    def fit(self, X, y, sample_weight=None):
        with _THREADPOOLS.limit(limits=1, user_api="openmp"):
            return super().fit(X, y, sample_weight=sample_weight)

    def predict(self, X):
        with _THREADPOOLS.limit(limits=1, user_api="openmp"):
            return super().predict(X)

    def predict_proba(self, X):
        with _THREADPOOLS.limit(limits=1, user_api="openmp"):
            return super().predict_proba(X)

    def decision_function(self, X):
        with _THREADPOOLS.limit(limits=1, user_api="openmp"):
            return super().decision_function(X)


class SoftBlend(ClassifierMixin, BaseEstimator):
    """Equal-weight average of calibrated probabilities.

    The weights are fixed in advance (equal), never tuned on validation or test data: a blend of a
    linear and a tree model tends to beat either alone, and equal weights leave nothing to overfit.
    """

    def __init__(self, estimators: list):
        self.estimators = estimators

    def fit(self, X, y):
        return self._fitted([clone(e).fit(X, y) for e in self.estimators])

    @classmethod
    def of_fitted(cls, fitted: list) -> "SoftBlend":
        """The blend of models already fitted on the same rows (identical to fitting it: the fits are deterministic)."""
        return cls(fitted)._fitted(fitted)

    def _fitted(self, fitted: list) -> "SoftBlend":
        self.fitted_ = fitted
        self.classes_ = fitted[0].classes_
        return self

    def predict_proba(self, X) -> np.ndarray:
        return np.mean([m.predict_proba(X) for m in self.fitted_], axis=0)

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


BLENDED = ("logistic_regression", "hist_gradient_boosting")


def build_candidates(numeric: list[str], categorical: list[str]) -> dict:
    """Logistic regression, gradient boosting (each a calibrated ColumnTransformer pipeline) and their blend.

    The boosting is deliberately small and strongly regularised (4-leaf trees, 80 rows per leaf):
    on the IBM Telco data it generalises better than deeper trees, and the blend needs it smooth.
    """
    def pipeline(model) -> Pipeline:
        prep = ColumnTransformer([
            ("numeric", Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)),
                                  ("scale", StandardScaler())]), numeric),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
        ])
        return Pipeline([("prep", prep), ("model", model)])

    candidates = {
        "logistic_regression": CalibratedClassifierCV(
            pipeline(LogisticRegression(C=1.0, max_iter=3000)), method="sigmoid", cv=3),
        "hist_gradient_boosting": CalibratedClassifierCV(
            pipeline(OneThreadBoosting(learning_rate=0.05, max_iter=200, max_leaf_nodes=4,
                                                    min_samples_leaf=80, l2_regularization=5.0,
                                                    random_state=RANDOM_STATE)),
            method="sigmoid", cv=3),
    }
    candidates["blend"] = SoftBlend([candidates[n] for n in BLENDED])
    return candidates


def fit_candidates(X: pd.DataFrame, y, numeric: list[str], categorical: list[str]) -> dict:
    """Every candidate fitted on (X, y); the blend reuses its two fitted members instead of fitting them again."""
    models = {}
    for name, model in build_candidates(numeric, categorical).items():
        models[name] = (SoftBlend.of_fitted([models[n] for n in BLENDED]) if isinstance(model, SoftBlend)
                        else model.fit(X, y))
    return models


def choose(results: dict[str, dict]) -> str:
    """The champion rule, shared by the demo world and the Telco evaluation: lowest Brier, then highest ROC AUC."""
    return min(results, key=lambda n: (results[n]["brier"], -results[n]["roc_auc"]))


def scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    both = 0 < y.sum() < len(y)
    return {"roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
            "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
            "brier": float(brier_score_loss(y, p)), "rows": int(len(y)), "positives": int(y.sum())}


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[tuple]:
    """Per decile of predicted probability: rows, mean predicted, observed rate."""
    order = np.argsort(p, kind="stable")
    out = []
    for i, chunk in enumerate(np.array_split(order, bins), start=1):
        if len(chunk):
            out.append((i, len(chunk), round(float(p[chunk].mean()), 4), round(float(y[chunk].mean()), 4)))
    return out


def top_features(model, frame: pd.DataFrame, y: np.ndarray, features: list[str], n: int = 10) -> list[tuple]:
    """Permutation importance (drop in ROC AUC) on a sample of the validation rows."""
    from sklearn.inspection import permutation_importance

    sample = frame.sample(min(len(frame), 2000), random_state=RANDOM_STATE)
    ys = y[frame.index.get_indexer(sample.index)]
    if not 0 < ys.sum() < len(ys):
        return []
    result = permutation_importance(model, sample[features], ys, scoring="roc_auc", n_repeats=2,
                                    random_state=RANDOM_STATE)
    ranked = sorted(zip(features, result.importances_mean), key=lambda x: -x[1])[:n]
    return [(name, round(float(v), 4)) for name, v in ranked]


@dataclass
class ModelCard:
    version: str
    champion: str
    trained_at: str
    train_window: tuple[str, str]
    validation_window: tuple[str, str]
    validation: dict[str, dict]  # candidate -> scores
    calibration: list[tuple]
    top_features: list[tuple]
    features: list[str]
    horizon_days: int
    sklearn_version: str = sklearn.__version__
    extra: dict = field(default_factory=dict)


def time_split(frame: pd.DataFrame, validation_start: dt.date):
    """Train on snapshots whose label was resolved before the validation period; validate after it."""
    start = pd.Timestamp(validation_start)
    known = frame[frame.label_known]
    train = known[known.label_resolved_on < start]
    valid = known[known.snapshot_date >= start]
    return train, valid


@dataclass
class Selection:
    champion: str
    results: dict[str, dict]  # candidate -> validation scores
    predictions: dict[str, np.ndarray]  # candidate -> validation probabilities
    models: dict  # candidate -> model fitted on the training window
    train: pd.DataFrame
    valid: pd.DataFrame


def select_champion(frame: pd.DataFrame, numeric: list[str], categorical: list[str], validation_start: dt.date,
                    label: str = "churned") -> Selection:
    """Fit every candidate on the training window; the champion has the lowest validation Brier score."""
    train, valid = time_split(frame, validation_start)
    features = numeric + categorical
    models = fit_candidates(train[features], train[label], numeric, categorical)
    predictions = {name: m.predict_proba(valid[features])[:, 1] for name, m in models.items()}
    results = {name: scores(valid[label].to_numpy(), p) for name, p in predictions.items()}
    return Selection(choose(results), results, predictions, models, train, valid)


def fit(candidate: str, frame: pd.DataFrame, numeric: list[str], categorical: list[str], label: str = "churned"):
    model = build_candidates(numeric, categorical)[candidate]
    model.fit(frame[numeric + categorical], frame[label])
    return model


def version_of(frame: pd.DataFrame, candidate: str) -> str:
    digest = hashlib.sha1(pd.util.hash_pandas_object(frame, index=False).values.tobytes()).hexdigest()[:8]
    return f"{frame.snapshot_date.max():%Y%m%d}-{candidate}-{digest}"


def save(model, card: ModelCard, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"churn_{card.version}.joblib"
    joblib.dump({"model": model, "card": card}, path)
    (folder / f"churn_{card.version}.json").write_text(json.dumps(card.__dict__, indent=2, default=str))
    return path


def load(path: Path):
    bundle = joblib.load(path)
    return bundle["model"], bundle["card"]


def risk_level(p: np.ndarray, high: float, medium: float) -> np.ndarray:
    return np.where(p >= high, "High", np.where(p >= medium, "Medium", "Low"))


def drivers(model, frame: pd.DataFrame, numeric: list[str], categorical: list[str], reference: pd.Series,
            n: int = 3, exclude: set[str] = frozenset()) -> list[str]:
    """Per row, the features whose value raises the probability most relative to the population median.

    For each numeric feature, the row's value is replaced by the reference (median) and the drop in
    probability is the feature's contribution; the top-n positive contributions are named.
    """
    features = numeric + categorical
    base = model.predict_proba(frame[features])[:, 1]
    contributions = np.zeros((len(frame), len(numeric)))
    for j, col in enumerate(numeric):
        if col in exclude:
            continue
        swapped = frame[features].copy()
        swapped[col] = reference[col]
        contributions[:, j] = base - model.predict_proba(swapped)[:, 1]
    out = []
    for row in contributions:
        top = [numeric[j] for j in np.argsort(-row)[:n] if row[j] > 0.005]
        out.append(", ".join(top))
    return out
