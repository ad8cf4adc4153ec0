"""Pooling a figure over several worlds, with a 95 % interval. Pure numpy; tested on hand-built numbers.

Two kinds of interval:
- a rate (churners flagged, renewals flagged, alerts followed by churn): counts are summed over the worlds and
  the Wilson interval of the pooled proportion is given (`pooled_rate`);
- anything else (an AUC, a Brier score, a lift, a mean |variance|): a stratified bootstrap that resamples the
  units (renewals, accounts, quarters) with replacement inside each world, so every replicate keeps each world's
  size, and recomputes the pooled figure on the replicates (`stratified_bootstrap`). The percentile interval of
  the replicates is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from csm_analytics.lib.stats import wilson_interval

REPS = 1000
SEED = 20261129


@dataclass(frozen=True)
class Pooled:
    """A pooled figure, its 95 % interval (None when it cannot be computed) and how many units it rests on."""

    value: float | None
    low: float | None
    high: float | None
    n: int

    def meets(self, target: float, higher_is_better: bool = True) -> str:
        """'met', 'missed', or 'met (interval crosses the target)': the point estimate decides, the interval qualifies."""
        if self.value is None:
            return "n/a"
        ok = self.value >= target if higher_is_better else self.value <= target
        bound = self.low if higher_is_better else self.high
        other = self.high if higher_is_better else self.low
        if bound is None:
            return "met" if ok else "missed"
        if ok:
            surely = bound >= target if higher_is_better else bound <= target
            return "met" if surely else "met (interval crosses the target)"
        surely_missed = other < target if higher_is_better else other > target
        return "missed" if surely_missed else "missed (interval crosses the target)"


def pooled_rate(successes: Sequence[int], totals: Sequence[int]) -> Pooled:
    """Sum of successes over sum of totals across worlds, with the Wilson interval of that proportion."""
    k, n = int(sum(successes)), int(sum(totals))
    if n == 0:
        return Pooled(None, None, None, 0)
    low, high = wilson_interval(k, n)
    return Pooled(k / n, low, high, n)


def stratified_bootstrap(worlds: Sequence[dict[str, np.ndarray]], statistic: Callable[[list[dict]], float],
                         reps: int = REPS, seed: int = SEED) -> Pooled:
    """`statistic` of the worlds' units, and its 95 % percentile interval from resampling the units inside each world.

    Each world is a dict of equal-length arrays (one row per unit); `statistic` takes the list of worlds and
    returns a float (NaN when undefined on a replicate, e.g. an AUC without positives; such replicates are
    skipped). Deterministic for a given seed.
    """
    worlds = [{k: np.asarray(v) for k, v in w.items()} for w in worlds]
    sizes = [len(next(iter(w.values()))) if w else 0 for w in worlds]
    if sum(sizes) == 0:
        return Pooled(None, None, None, 0)
    value = float(statistic(worlds))
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(reps):
        replicate = []
        for w, size in zip(worlds, sizes):
            idx = rng.integers(0, size, size) if size else np.array([], dtype=int)
            replicate.append({k: v[idx] for k, v in w.items()})
        draws.append(float(statistic(replicate)))
    draws = np.array(draws)
    draws = draws[np.isfinite(draws)]
    if np.isnan(value):
        return Pooled(None, None, None, sum(sizes))
    if len(draws) < reps // 2:
        return Pooled(value, None, None, sum(sizes))
    low, high = np.percentile(draws, [2.5, 97.5])
    return Pooled(value, float(low), float(high), sum(sizes))


def concatenated(worlds: list[dict], key: str) -> np.ndarray:
    return np.concatenate([np.asarray(w[key]) for w in worlds]) if worlds else np.array([])


def ratio_of_sums(numerator: str, denominator: str) -> Callable[[list[dict]], float]:
    """A statistic: sum of one column over the sum of another, over every world's units."""
    def statistic(worlds: list[dict]) -> float:
        den = concatenated(worlds, denominator).sum()
        return float(concatenated(worlds, numerator).sum() / den) if den else float("nan")
    return statistic


def mean_of(key: str, transform: Callable[[np.ndarray], np.ndarray] = lambda x: x) -> Callable[[list[dict]], float]:
    """A statistic: the mean of `transform(column)` over every world's units."""
    def statistic(worlds: list[dict]) -> float:
        values = transform(concatenated(worlds, key).astype(float))
        return float(values.mean()) if len(values) else float("nan")
    return statistic


def lift(worlds: list[dict]) -> float:
    """Top-decile lift pooled over worlds from per-account sums: (top hits / top rows) / (hits / rows)."""
    top_hits, top_rows = concatenated(worlds, "top_hits").sum(), concatenated(worlds, "top_rows").sum()
    hits, rows = concatenated(worlds, "hits").sum(), concatenated(worlds, "rows").sum()
    if not top_rows or not rows or not hits:
        return float("nan")
    return float((top_hits / top_rows) / (hits / rows))


def auc(score: str, label: str) -> Callable[[list[dict]], float]:
    """A statistic: ROC AUC of `score` against `label` over every world's units (NaN with one class only).

    The Mann-Whitney form (mean rank of the positives, ties at their average rank): the same value as
    sklearn's roc_auc_score, without its checks, since it runs once per bootstrap replicate."""
    from scipy.stats import rankdata

    def statistic(worlds: list[dict]) -> float:
        y = concatenated(worlds, label).astype(bool)
        positives, n = int(y.sum()), len(y)
        if not 0 < positives < n:
            return float("nan")
        ranks = rankdata(concatenated(worlds, score))
        return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * (n - positives)))
    return statistic


def pr_auc(score: str, label: str) -> Callable[[list[dict]], float]:
    """A statistic: average precision (PR AUC) of `score` against `label`."""
    from sklearn.metrics import average_precision_score

    def statistic(worlds: list[dict]) -> float:
        y = concatenated(worlds, label).astype(int)
        return float(average_precision_score(y, concatenated(worlds, score))) if 0 < y.sum() else float("nan")
    return statistic


def brier(score: str, label: str) -> Callable[[list[dict]], float]:
    """A statistic: mean squared error of the probability `score` against the 0/1 `label`."""
    def statistic(worlds: list[dict]) -> float:
        p, y = concatenated(worlds, score).astype(float), concatenated(worlds, label).astype(float)
        return float(np.mean((p - y) ** 2)) if len(y) else float("nan")
    return statistic
