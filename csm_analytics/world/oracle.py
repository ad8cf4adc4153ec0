"""The expansion oracle: how well could anyone rank accounts for "expands in the next 180 days"?

For each as-of date and account in force, the expected number of new won expansions in the horizon,
computed from the generator's own latents (ground truth no asset reads): the daily organic opportunity
rate and win probability (the same functions the generator draws from), the close-time distribution,
the churn date, and the QBRs actually held with expansion talk. Ranking by it is the ceiling of the
readiness index's top-decile lift (docs/metrics.md, "How close to the ceiling the index is").
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from csm_analytics.canonical.schemas import SOURCE_SIGNALS
from csm_analytics.world.contracts import opportunity_rate, win_probability
from csm_analytics.world.generator import chunk_state
from csm_analytics.world.latent import make_csms
from csm_analytics.world.spec import CHUNK_ACCOUNTS, WorldSpec

QBR_SIGNAL = SOURCE_SIGNALS.index("qbr_discussion")  # sparked by a QBR, not by the organic rate


def _seats_by_day(book, n: int, d: int) -> np.ndarray:
    """Licensed seats of the contract in force on each day (the first contract's before it starts)."""
    days = np.arange(d)
    seats = np.repeat(book.seats[:, :1].astype(float), d, axis=1)
    for j in range(1, book.start.shape[1]):
        later = book.valid[:, j, None] & (days[None, :] >= book.start[:, j, None])
        seats = np.where(later, book.seats[:, j, None], seats)
    return np.maximum(seats, 1.0)


def _busy_until(opps, n: int, a: int) -> np.ndarray:
    """Close day of each account's organic opportunity open on day a (-1 if none): no new one opens before it."""
    open_now = (opps["signal"] != QBR_SIGNAL) & (opps["day"] <= a) & (opps["close_day"] > a)
    busy = np.full(n, -1, np.int64)
    np.maximum.at(busy, opps["acc"][open_now], opps["close_day"][open_now])
    return busy[:, None]


def _close_cdf(x, lag: np.ndarray) -> np.ndarray:
    """P(close delay <= lag) for the uniform close delay."""
    width = x.close_days_max - x.close_days_min
    return np.clip((lag - x.close_days_min + 1) / width, 0.0, 1.0)


def expansion_oracle(spec: WorldSpec, as_of_dates: list[dt.date], horizon: int) -> pd.DataFrame:
    """(as_of_date, account_id, oracle): expected new expansions created after the date and won within `horizon`."""
    csms, x, d = make_csms(spec), spec.expansion, spec.history_days
    out = []
    for chunk, offset in enumerate(range(0, spec.accounts, CHUNK_ACCOUNTS)):
        n = min(CHUNK_ACCOUNTS, spec.accounts - offset)
        acc, health, _, ev, book = chunk_state(spec, csms, chunk, offset, n)
        rows, days = np.arange(n)[:, None], np.arange(d)[None, :]
        seats = _seats_by_day(book, n, d)
        alive = (days >= acc.active_from[:, None]) & (days <= book.active_to[:, None])
        rate = np.where(alive, opportunity_rate(x, acc, health, seats, rows, days), 0.0) / 365.0
        p_win = win_probability(x, acc, csms, health, seats, rows, days)
        density = rate * p_win
        q = ev["qbrs"]
        talk = q["held"] & q["expansion_discussed"]
        for as_of in as_of_dates:
            a = (as_of - spec.start).days
            stop = np.minimum(a + horizon, book.active_to)  # open at churn: lost
            in_force = (book.valid & (book.start <= a) & (book.end >= a)).any(axis=1) & (book.active_to >= a)
            t = np.arange(a + 1, min(a + horizon, d - 1) + 1)
            free = t[None, :] > _busy_until(ev["opportunities"], n, a) if x.one_open_at_a_time else True
            expected = (np.where(free, density[:, t], 0.0) * _close_cdf(x, stop[:, None] - t[None, :])).sum(axis=1)
            lags = range(x.qbr_lag_days_min, x.qbr_lag_days_max)
            for lag in lags:  # QBR-sparked: x.qbr_followup of talk QBRs, an opportunity `lag` days later (uniform)
                s = q["day"][talk] + lag
                keep = (s > a) & (s < d)
                acc_q, s = q["acc"][talk][keep], s[keep]
                gain = x.qbr_followup / len(lags) * p_win[acc_q, s] * _close_cdf(x, stop[acc_q] - s)
                expected += np.bincount(acc_q, weights=gain, minlength=n)
            ids = acc.ids[in_force]
            out.append(pd.DataFrame({"as_of_date": as_of, "account_id": ids, "oracle": expected[in_force]}))
    return pd.concat(out, ignore_index=True)
