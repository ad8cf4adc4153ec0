"""Rebalancing never breaks a constraint and never makes balance worse (property test over random books)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csm_analytics.portfolio.rebalancing import balance, plan_moves


def _random_book(seed: int):
    rng = np.random.default_rng(seed)
    n_csms, n_accounts = rng.integers(2, 7), rng.integers(5, 60)
    csms = pd.DataFrame({"csm_id": [f"C{i}" for i in range(n_csms)],
                         "capacity": rng.integers(n_accounts // n_csms + 2, n_accounts // n_csms + 15, n_csms),
                         "days_in_role": np.where(rng.random(n_csms) < 0.3, rng.integers(0, 56, n_csms), 400)})
    arr = np.round(np.exp(rng.normal(10, 1.2, n_accounts)), 2)
    accounts = pd.DataFrame({
        "account_id": [f"A{i}" for i in range(n_accounts)],
        "csm_id": rng.choice(csms.csm_id, n_accounts, p=rng.dirichlet(np.ones(n_csms))),
        "tier": rng.choice(["Strategic", "Enterprise", "Growth", "Core"], n_accounts),
        "arr": arr, "at_risk_arr": np.where(rng.random(n_accounts) < 0.15, arr, 0.0),
        "days_to_renewal": rng.integers(0, 400, n_accounts)})
    return accounts, csms


@pytest.mark.parametrize("seed", range(40))
def test_constraints_hold_and_balance_never_worsens(seed):
    accounts, csms = _random_book(seed)
    moves, before, after = plan_moves(accounts, csms, max_moves=8)
    assert len(moves) <= 8 and after["objective"] <= before["objective"] + 1e-9
    new_csms = set(csms.csm_id[csms.days_in_role < 56])
    by_id = accounts.set_index("account_id")
    for move in moves.itertuples():
        assert by_id.loc[move.account_id, "days_to_renewal"] > 60
        assert not (move.tier == "Strategic" and move.to_csm in new_csms)
    assert moves.account_id.is_unique  # an account moves at most once
    final = accounts.set_index("account_id").csm_id.copy()
    final.update(moves.set_index("account_id").to_csm)
    counts = final.value_counts()
    for csm in csms.itertuples():  # nobody ends above capacity unless they started there
        start = (accounts.csm_id == csm.csm_id).sum()
        assert counts.get(csm.csm_id, 0) <= max(csm.capacity, start)


def test_a_lopsided_book_gets_evened_out():
    csms = pd.DataFrame({"csm_id": ["BUSY", "IDLE"], "capacity": [10, 10], "days_in_role": [400, 400]})
    accounts = pd.DataFrame({"account_id": [f"A{i}" for i in range(8)], "csm_id": ["BUSY"] * 7 + ["IDLE"],
                             "tier": ["Core"] * 8, "arr": [100.0] * 8, "at_risk_arr": [0.0] * 8,
                             "days_to_renewal": [200] * 8})
    moves, before, after = plan_moves(accounts, csms)
    assert len(moves) == 3 and set(moves.from_csm) == {"BUSY"} and after["objective"] == 0.0
    assert before["cv_accounts_per_capacity"] == 0.75  # loads 7 and 1: std 3 / mean 4
    assert balance(np.array([[1.0, 1, 0], [1.0, 1, 0]]), np.array([1.0, 1.0]))["objective"] == 0.0
