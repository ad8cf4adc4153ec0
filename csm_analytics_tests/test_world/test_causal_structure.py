"""The world carries the documented causal signal, with plausible B2B SaaS base rates."""

from __future__ import annotations

import duckdb
import pytest
from scipy.stats import spearmanr

from csm_analytics.bench.diagnostics import world_facts


@pytest.fixture(scope="module")
def facts(large_world):
    return world_facts(large_world)


@pytest.fixture(scope="module")
def con(large_world):
    con = duckdb.connect()
    for name in ["contracts", "invoices", "qbrs", "expansion_opportunities", "csm_assignments", "accounts", "csms"]:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{large_world / (name + '.parquet')}')")
    for name in ["account_truth", "contract_truth", "csm_truth"]:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{large_world / '_truth' / (name + '.parquet')}')")
    return con


def test_base_rates_are_plausible(facts):
    assert 0.08 <= facts["annual_logo_churn"] <= 0.15
    assert 1.00 <= facts["nrr_trailing_12m"] <= 1.15


def test_oracle_auc_is_high_but_not_perfect(facts):
    """An oracle knowing every renewal's true churn probability reaches 0.85-0.90, not 1.0."""
    assert 0.85 <= facts["oracle_churn_auc"] <= 0.90


def _churn_rate(con, where: str) -> float:
    return con.execute(
        f"""SELECT avg((renewal_outcome = 'churned')::INT) FROM contracts c
            JOIN account_truth t USING (account_id) WHERE renewal_outcome IS NOT NULL AND {where}"""
    ).fetchall()[0][0]


def test_deteriorating_accounts_churn_more(con):
    deteriorating = _churn_rate(con, "trajectory = 'deteriorating' AND onset_date < c.end_date - 60")
    stable = _churn_rate(con, "trajectory = 'stable'")
    assert deteriorating > 2 * stable


def test_failed_payments_raise_churn(con):
    failed = """EXISTS (SELECT 1 FROM invoices i WHERE i.account_id = c.account_id AND i.failed_payment
                AND i.due_date BETWEEN c.end_date - 180 AND c.end_date - 1)"""
    assert _churn_rate(con, failed) > 1.5 * _churn_rate(con, "NOT " + failed)


def test_csm_skill_lowers_churn(con):
    rows = con.execute(
        """WITH owner AS (SELECT account_id, arg_max(csm_id, valid_from) AS csm_id FROM csm_assignments GROUP BY 1)
           SELECT any_value(t.skill), avg((renewal_outcome = 'churned')::INT)
           FROM owner o JOIN csm_truth t USING (csm_id) JOIN contracts c USING (account_id)
           WHERE renewal_outcome IS NOT NULL GROUP BY t.csm_id"""
    ).fetchall()
    skill, churn = zip(*rows)
    assert spearmanr(skill, churn).statistic <= -0.6


def test_csm_activity_drives_qbr_completion(con):
    """QBRs held in the last year per QBR due (4/2/1 a year by tier), for CSMs who owned their book all year."""
    rows = con.execute(
        """WITH owner AS (SELECT account_id, arg_max(csm_id, valid_from) AS csm_id FROM csm_assignments GROUP BY 1),
                due AS (SELECT o.csm_id, sum(CASE a.tier WHEN 'Growth' THEN 2 WHEN 'Core' THEN 1 ELSE 4 END) AS due
                        FROM owner o JOIN accounts a USING (account_id)
                        WHERE a.created_date <= DATE '2025-09-30'
                          AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.account_id = o.account_id
                                          AND c.renewal_outcome = 'churned')
                        GROUP BY 1),
                held AS (SELECT q.csm_id, count(*) AS held FROM qbrs q JOIN accounts a USING (account_id)
                         WHERE q.qbr_date > DATE '2025-09-30' AND a.created_date <= DATE '2025-09-30' GROUP BY 1)
           SELECT t.activity, held / due FROM due JOIN held USING (csm_id) JOIN csm_truth t USING (csm_id)
           JOIN csms s USING (csm_id) WHERE s.start_date < DATE '2024-10-01'"""
    ).fetchall()
    activity, completion = zip(*rows)
    assert spearmanr(activity, completion).statistic >= 0.6


def test_growth_drives_expansion(con):
    won = con.execute(
        """SELECT t.growth_rate > 0.2 AS growing, count(o.opportunity_id) FILTER (o.status = 'won') / count(DISTINCT t.account_id)
           FROM account_truth t LEFT JOIN expansion_opportunities o USING (account_id) GROUP BY 1"""
    ).fetchall()
    rate = dict(won)
    assert rate[True] > 2 * rate[False]


def test_one_organic_opportunity_open_at_a_time(con):
    """A need already being worked opens no second opportunity: organic ones never overlap on an account."""
    overlaps = con.execute(
        """SELECT count(*) FILTER (created_date <= previous_close), count(*) FROM (
               SELECT created_date, lag(coalesce(close_date, DATE '9999-12-31'))
                      OVER (PARTITION BY account_id ORDER BY created_date, opportunity_id) AS previous_close
               FROM expansion_opportunities WHERE source_signal <> 'qbr_discussion')"""
    ).fetchall()[0]
    assert overlaps[0] == 0 and overlaps[1] > 1000
