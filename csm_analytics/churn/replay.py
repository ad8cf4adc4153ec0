"""Which model scores each replayed month, and why: a check per monthly model, fallbacks, a warm-up baseline.

A monthly replay model learns from the labels resolved before its month. Early in the history those labels
are few and skewed (the snapshots whose outcome is already known are mostly those close to a renewal), and a
model fitted on them can rank reasonably yet predict several times the true churn rate for the whole book:
every renewal would be flagged. So before a learned model scores its month it is checked:

- on its own held-out rows: one account in `holdout_every` (a fixed hash of the account id) is left out of
  its training; on those accounts' resolved rows its ROC AUC must reach `min_holdout_auc` (when they hold at
  least `min_holdout_churned` churned contracts), and its calibration in the large (mean predicted / observed
  rate) must lie within [1 / max_calibration_ratio, max_calibration_ratio];
- on the book it is about to score (the month's first weekly snapshot of every account): its mean probability
  must lie within the same ratio of the baseline's (below), and the share of the book at or above the fixed
  early-warning `threshold` must not exceed `max_book_flag_share`.

A model that fails is not used: the month is scored by the last model that passed, or, if none has, by the
baseline. Before `min_learned_renewals` renewals are resolved no model is learned (warm-up) and the baseline
scores the month. The baseline is calibrated by construction: a snapshot's label is "the contract in force
ends within the horizon and churns", so its probability is 0 when the end is further than the horizon, and
otherwise the churn rate per renewal of its tier and tenure band among the renewals decided before the month
(shrunk towards the overall rate by `baseline_prior_renewals` renewals). Months before `min_baseline_renewals`
renewals are decided are not scored at all.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from csm_analytics.churn import model as churn_model
from csm_analytics.churn.config import ChurnConfig
from csm_analytics.churn.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES

FIT_THREADS = 2
BASELINE_FAMILY = "baseline_tier_tenure"
TENURE_BANDS = (365, 730)  # tenure in days: under 1 year, 1-2 years, 2 years and more


def tenure_band(tenure_days) -> np.ndarray:
    return np.digitize(pd.to_numeric(tenure_days, errors="coerce").fillna(0).to_numpy(float), TENURE_BANDS)


class TierTenureBaseline:
    """P(label) = 0 beyond the horizon, else the shrunk churn rate per renewal of the row's (tier, tenure band)."""

    def __init__(self, horizon_days: int, prior_renewals: int):
        self.horizon_days, self.prior_renewals = horizon_days, prior_renewals

    def fit(self, renewals: pd.DataFrame) -> "TierTenureBaseline":
        """`renewals`: one row per decided renewal, with tier, tenure_days (at the renewal) and churned (0/1)."""
        self.overall_ = float(renewals.churned.mean())
        cells = renewals.assign(band=tenure_band(renewals.tenure_days)).groupby(["tier", "band"]).churned.agg(["sum", "count"])
        self.rates_ = ((cells["sum"] + self.prior_renewals * self.overall_) / (cells["count"] + self.prior_renewals)).to_dict()
        self.renewals_ = len(renewals)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        bands = tenure_band(X.tenure_days)
        rate = np.array([self.rates_.get((t, b), self.overall_) for t, b in zip(X.tier, bands)], dtype=float)
        within = pd.to_numeric(X.days_to_renewal, errors="coerce").fillna(np.inf).to_numpy(float) <= self.horizon_days
        p = np.where(within, rate, 0.0)
        return np.column_stack([1 - p, p])


def decided_renewals(training: pd.DataFrame, before: pd.Timestamp, horizon_days: int) -> pd.DataFrame:
    """One row per renewal decided before `before`: its tier, tenure and outcome at the latest snapshot before its end."""
    near = training[training.label_known & (training.label_resolved_on < before)
                    & (pd.to_numeric(training.days_to_renewal, errors="coerce") <= horizon_days)]
    if near.empty:
        return pd.DataFrame(columns=["contract_id", "tier", "tenure_days", "churned"])
    last = near.sort_values("snapshot_date").groupby("contract_id").tail(1)
    return last[["contract_id", "tier", "tenure_days", "churned"]].reset_index(drop=True)


def held_out(account_ids: pd.Series, every: int) -> np.ndarray:
    """True for one account in `every`, chosen by a hash of its id (stable across runs, months and worlds)."""
    return np.array([int(hashlib.md5(str(a).encode()).hexdigest()[:8], 16) % every == 0 for a in account_ids])


@dataclass
class ModelCheck:
    """What a monthly model scored on its held-out rows and on the book, and the verdict."""

    holdout_rows: int = 0
    holdout_churned_contracts: int = 0
    holdout_auc: float | None = None
    holdout_mean_predicted: float | None = None
    holdout_observed: float | None = None
    book_rows: int = 0
    book_mean_predicted: float | None = None
    baseline_book_mean: float | None = None
    book_flag_share: float | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        def f(v, fmt):
            return "n/a" if v is None else format(v, fmt)
        return (f"held-out AUC {f(self.holdout_auc, '.3f')}, mean p {f(self.holdout_mean_predicted, '.3f')} vs "
                f"observed {f(self.holdout_observed, '.3f')}; book mean p {f(self.book_mean_predicted, '.3f')} vs "
                f"baseline {f(self.baseline_book_mean, '.3f')}, {f(self.book_flag_share, '.1%')} of the book at or "
                f"above the flag threshold")


def check_model(model, holdout: pd.DataFrame, book: pd.DataFrame, baseline: TierTenureBaseline,
                config: ChurnConfig) -> ModelCheck:
    """Run every check of a monthly model (see the module docstring); the failures name what failed."""
    features = NUMERIC_FEATURES + CATEGORICAL_FEATURES
    check, ratio = ModelCheck(), config.max_calibration_ratio
    if len(holdout):
        p, y = model.predict_proba(holdout[features])[:, 1], holdout.churned.to_numpy()
        check.holdout_rows = len(holdout)
        check.holdout_churned_contracts = int(holdout.loc[holdout.churned == 1, "contract_id"].nunique())
        check.holdout_mean_predicted, check.holdout_observed = float(p.mean()), float(y.mean())
        if 0 < y.sum() < len(y):
            check.holdout_auc = float(roc_auc_score(y, p))
        if check.holdout_churned_contracts >= config.min_holdout_churned:
            if check.holdout_auc is not None and check.holdout_auc < config.min_holdout_auc:
                check.failures.append(f"held-out AUC {check.holdout_auc:.3f} < {config.min_holdout_auc}")
            if not _within(check.holdout_mean_predicted, check.holdout_observed, ratio):
                check.failures.append(f"held-out mean p {check.holdout_mean_predicted:.3f} vs observed "
                                      f"{check.holdout_observed:.3f} (outside x{ratio:g})")
    if len(book):
        p = model.predict_proba(book[features])[:, 1]
        check.book_rows = len(book)
        check.book_mean_predicted = float(p.mean())
        check.baseline_book_mean = float(baseline.predict_proba(book)[:, 1].mean())
        check.book_flag_share = float((p >= config.flag_threshold).mean())
        if not _within(check.book_mean_predicted, check.baseline_book_mean, ratio):
            check.failures.append(f"book mean p {check.book_mean_predicted:.3f} vs baseline "
                                  f"{check.baseline_book_mean:.3f} (outside x{ratio:g})")
        if check.book_flag_share > config.max_book_flag_share:
            check.failures.append(f"{check.book_flag_share:.1%} of the book at or above {config.flag_threshold} "
                                  f"(> {config.max_book_flag_share:.0%})")
    return check


def _within(value: float, reference: float, ratio: float) -> bool:
    if reference <= 0:
        return value <= 0.01  # nothing churned: a model predicting near zero is consistent with it
    return reference / ratio <= value <= reference * ratio


@dataclass
class MonthModel:
    """The model that scores one replayed month, and why it was chosen."""

    model: object
    family: str
    used: str  # learned | baseline (warm-up) | baseline (check failed)
    trained_through: pd.Timestamp
    training_rows: int
    reason: str
    check: ModelCheck | None = None


def plan_replay(training: pd.DataFrame, months: list[pd.Period], candidate: str,
                config: ChurnConfig) -> tuple[dict[pd.Period, MonthModel], list[str]]:
    """Per month, the model that scores it (learned and checked, or the baseline); notes on unscored months."""
    plans, notes, to_fit = {}, [], {}
    holdout_mask = held_out(training.account_id, config.holdout_every)
    for month in months:
        start = month.start_time
        renewals = decided_renewals(training, start, config.horizon_days)
        churned = int(renewals.churned.sum()) if len(renewals) else 0
        if len(renewals) < config.min_baseline_renewals:
            notes.append(f"{month}: not scored, only {len(renewals)} renewals decided before it")
            continue
        baseline = TierTenureBaseline(config.horizon_days, config.baseline_prior_renewals).fit(renewals)
        trained_through = start - pd.Timedelta(days=1)
        plans[month] = MonthModel(baseline, BASELINE_FAMILY, "baseline (warm-up)", trained_through, len(renewals),
                                  f"warm-up: {len(renewals)} renewals ({churned} churned) decided before it, a learned "
                                  f"model needs {config.min_learned_renewals} and "
                                  f"{config.min_training_churned_contracts} churned")
        if len(renewals) >= config.min_learned_renewals and churned >= config.min_training_churned_contracts:
            resolved = training.label_known & (training.label_resolved_on < start)
            to_fit[month] = (training[resolved & ~holdout_mask], training[resolved & holdout_mask])
    with ThreadPoolExecutor(max_workers=FIT_THREADS) as pool:
        fitted = dict(zip(to_fit, pool.map(
            lambda t: churn_model.fit(candidate, t[0], NUMERIC_FEATURES, CATEGORICAL_FEATURES), to_fit.values())))
    # A month whose model fails its check is scored by the month's baseline, never by "the last good model":
    # which model that is would depend on the months a run happens to cover, and a day re-run alone must
    # reproduce the day scored in a full replay.
    for month in sorted(plans):
        if month not in fitted:
            continue
        baseline = plans[month].model
        train, holdout = to_fit[month]
        book = _book(training, month)
        check = check_model(fitted[month], holdout, book, baseline, config)
        if check.passed:
            plans[month] = MonthModel(fitted[month], candidate, "learned", month.start_time - pd.Timedelta(days=1),
                                      len(train), "passed: " + check.summary(), check)
        else:
            plans[month].used, plans[month].check = "baseline (check failed)", check
            plans[month].reason = "check failed: " + "; ".join(check.failures)
    return plans, notes


def _book(training: pd.DataFrame, month: pd.Period) -> pd.DataFrame:
    """The month's first weekly snapshot of every account (what the month's model is about to score)."""
    in_month = training[training.snapshot_date.dt.to_period("M") == month]
    if in_month.empty:
        return in_month
    return in_month[in_month.snapshot_date == in_month.snapshot_date.min()]


def replay_table(plans: dict[pd.Period, MonthModel]) -> str:
    """Markdown: per replayed month, the model used, what it was trained through, and why."""
    lines = ["| month | model used | family | trained through | training rows | why |", "|---|---|---|---|---|---|"]
    for month in sorted(plans):
        p = plans[month]
        lines.append(f"| {month} | {p.used} | {p.family} | {p.trained_through.date()} | {p.training_rows:,} | "
                     f"{p.reason} |")
    return "\n".join(lines) if plans else "_no month scored_"
