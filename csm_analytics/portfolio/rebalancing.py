"""Portfolio rebalancing: a few account moves that even out ARR, account count and at-risk ARR
against each CSM's capacity. Greedy and honest: each move is the single best improvement of the
objective available; it stops when no move improves it by at least `min_gain`, or after
`max_moves`. Constraints are never broken:

- an account that renews within 60 days does not move;
- a Strategic account never moves to a CSM in their first 8 weeks;
- an account only moves to a CSM who stays within capacity.

Objective = CV(ARR / capacity) + CV(accounts / capacity) + CV(at-risk ARR / capacity), where CV is
the coefficient of variation across CSMs: 0 means every CSM carries the same load per unit of
capacity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from csm_analytics.canonical.ownership import OWNER_PERIODS

MEASURES = ("arr", "accounts", "at_risk_arr")


def _cv(values: np.ndarray) -> float:
    mean = values.mean()
    return float(values.std() / mean) if mean > 0 else 0.0


def balance(load: np.ndarray, capacity: np.ndarray) -> dict[str, float]:
    """CV of each measure per unit of capacity; `load` is (csms x 3): ARR, accounts, at-risk ARR."""
    per_capacity = load / capacity[:, None]
    out = {f"cv_{m}_per_capacity": round(_cv(per_capacity[:, j]), 4) for j, m in enumerate(MEASURES)}
    out["objective"] = round(sum(out.values()), 4)
    return out


def _objective(load: np.ndarray, capacity: np.ndarray) -> float:
    per_capacity = load / capacity[:, None]
    return sum(_cv(per_capacity[:, j]) for j in range(per_capacity.shape[1]))


def _objective_after_each_move(load: np.ndarray, capacity: np.ndarray, values: np.ndarray,
                               owner: np.ndarray) -> np.ndarray:
    """Objective after moving account a to CSM d, for every (a, d), in closed form (sums and sums of squares)."""
    k = len(capacity)
    x = load / capacity[:, None]  # csms x measures
    s1, s2 = x.sum(axis=0), (x ** 2).sum(axis=0)
    total = np.zeros((len(owner), k))
    for j in range(x.shape[1]):
        out_src = values[:, j] / capacity[owner]  # what leaves the source, per unit of its capacity
        xs_after = x[owner, j] - out_src
        into = values[:, j][:, None] / capacity[None, :]  # what arrives at each destination
        xd_after = x[None, :, j] + into
        s1_after = s1[j] - out_src[:, None] + into
        s2_after = s2[j] - x[owner, j][:, None] ** 2 + xs_after[:, None] ** 2 - x[None, :, j] ** 2 + xd_after ** 2
        mean = s1_after / k
        var = np.maximum(s2_after / k - mean ** 2, 0)
        total += np.where(mean > 0, np.sqrt(var) / np.where(mean > 0, mean, 1), 0)
    return total


def plan_moves(accounts: pd.DataFrame, csms: pd.DataFrame, max_moves: int = 10, min_gain: float = 0.02):
    """accounts: account_id, csm_id, tier, arr, at_risk_arr, days_to_renewal.
    csms: csm_id, capacity, days_in_role. Returns (moves, balance before, balance after)."""
    ids = list(csms.csm_id)
    index = {c: i for i, c in enumerate(ids)}
    capacity = csms.capacity.to_numpy(dtype=float)
    new_csm = csms.days_in_role.to_numpy() < 56
    owner = accounts.csm_id.map(index).to_numpy()
    values = np.column_stack([accounts.arr.to_numpy(float), np.ones(len(accounts)),
                              accounts.at_risk_arr.to_numpy(float)])
    load = np.zeros((len(ids), 3))
    np.add.at(load, owner, values)
    before = balance(load, capacity)
    movable = (accounts.days_to_renewal.to_numpy() > 60)
    strategic = (accounts.tier == "Strategic").to_numpy()
    moved = np.zeros(len(accounts), bool)
    moves = []
    current = _objective(load, capacity)
    for _ in range(max_moves):
        after = _objective_after_each_move(load, capacity, values, owner)  # (accounts x csms)
        allowed = (movable & ~moved)[:, None] & (np.arange(len(ids))[None, :] != owner[:, None])
        allowed &= (load[:, 1] + 1 <= capacity)[None, :]
        allowed &= ~(strategic[:, None] & new_csm[None, :])
        gain = np.where(allowed, current - after, -np.inf)
        a, dst = np.unravel_index(np.argmax(gain), gain.shape)
        if not gain[a, dst] >= min_gain:
            break
        src = owner[a]
        share = lambda i: load[i, 0] / load[:, 0].sum() / (capacity[i] / capacity.sum())  # noqa: E731
        reason = (f"{ids[src]} carries {share(src):.2f}x its capacity share of ARR, {ids[dst]} {share(dst):.2f}x; "
                  f"{'at-risk ' if values[a, 2] > 0 else ''}account renews in {int(accounts.days_to_renewal.iloc[a])} days")
        load[src] -= values[a]
        load[dst] += values[a]
        owner[a], moved[a] = dst, True
        new_current = _objective(load, capacity)
        moves.append({"move": len(moves) + 1, "account_id": accounts.account_id.iloc[a], "from_csm": ids[src],
                      "to_csm": ids[dst], "tier": accounts.tier.iloc[a], "arr": round(float(values[a, 0]), 2),
                      "at_risk_arr": round(float(values[a, 2]), 2), "objective_gain": round(current - new_current, 4),
                      "reason": reason})
        current = new_current
    return pd.DataFrame(moves, columns=["move", "account_id", "from_csm", "to_csm", "tier", "arr", "at_risk_arr",
                                        "objective_gain", "reason"]), before, balance(load, capacity)


ACCOUNTS_SQL = f"""
WITH last AS (SELECT max(as_of_date) AS d FROM core.account_health_score)
SELECT s.account_id, o.csm_id, s.tier, k.arr, CASE WHEN s.band = 'At risk' THEN k.arr ELSE 0 END AS at_risk_arr,
       k.end_date - last.d AS days_to_renewal
FROM core.account_health_score s, last
JOIN {OWNER_PERIODS} o ON o.account_id = s.account_id AND last.d BETWEEN o.valid_from AND coalesce(o.valid_to, DATE '9999-12-31')
JOIN raw.contracts k ON k.account_id = s.account_id AND last.d BETWEEN k.start_date AND k.end_date
ORDER BY s.account_id
"""
CSMS_SQL = """
SELECT csm_id, capacity, (SELECT max(as_of_date) FROM core.account_health_score) - start_date AS days_in_role
FROM raw.csms ORDER BY csm_id
"""
