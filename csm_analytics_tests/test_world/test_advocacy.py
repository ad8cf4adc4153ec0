"""Stage history, intent signals, referrals and exit reasons follow their documented causes (docs/world.md)."""

import duckdb
import pytest

from csm_analytics.canonical.schemas import OPPORTUNITY_STAGES

TABLES = ["contracts", "qbrs", "invoices", "expansion_opportunities", "opportunity_stage_history", "intent_signals",
          "referrals", "exit_reasons"]


@pytest.fixture(scope="module")
def con(large_world):
    con = duckdb.connect()
    for name in TABLES:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{large_world / (name + '.parquet')}')")
    return con


def test_stage_history_agrees_with_each_opportunity(con):
    bad = con.execute("""
        WITH ordered AS (SELECT h.*, list_position(?, stage) AS stage_order FROM opportunity_stage_history h),
        h AS (SELECT opportunity_id, list(stage ORDER BY stage_order) AS stages,
                     bool_and(entered_date >= lag_day) AS dates_rise,
                     min(entered_date) AS first_day, max(entered_date) AS last_day, arg_max(stage, stage_order) AS last_stage
              FROM (SELECT *, coalesce(lag(entered_date) OVER (PARTITION BY opportunity_id ORDER BY stage_order),
                                       entered_date) AS lag_day FROM ordered) GROUP BY 1)
        SELECT count(*) FILTER (h.opportunity_id IS NULL),
               count(*) FILTER (h.stages[1] <> 'signal identified' OR h.first_day <> o.created_date),
               count(*) FILTER (o.status <> 'open' AND (h.last_stage <> o.stage OR h.last_day <> o.close_date)),
               count(*) FILTER (o.status = 'won' AND len(h.stages) <> 5), count(*) FILTER (NOT h.dates_rise)
        FROM expansion_opportunities o LEFT JOIN h USING (opportunity_id)""", [OPPORTUNITY_STAGES]).fetchall()
    assert bad == [(0, 0, 0, 0, 0)]
    # lost opportunities stop at various stages; won ones pass every stage, so later stages close won more often
    rates = con.execute("""
        SELECT h.stage, avg((o.status = 'won')::INT) FROM opportunity_stage_history h
        JOIN expansion_opportunities o USING (opportunity_id)
        WHERE o.status <> 'open' AND h.stage NOT LIKE 'closed%' GROUP BY 1""").fetchall()
    rate = dict(rates)
    assert rate["signal identified"] < rate["conversation initiated"] < rate["proposal sent"] < rate["committed"]


def test_every_churned_contract_has_one_exit_reason_driven_by_its_churn(con):
    counts = con.execute("""SELECT count(*), count(x.contract_id) FROM contracts c LEFT JOIN exit_reasons x USING (contract_id)
                            WHERE c.renewal_outcome = 'churned'""").fetchall()[0]
    assert counts[0] > 300 and counts[0] == counts[1]
    share = dict(con.execute("""
        SELECT failed >= 2, avg((x.exit_reason = 'financial distress')::INT)
        FROM (SELECT x.*, (SELECT count(*) FROM invoices i WHERE i.account_id = x.account_id AND i.failed_payment
                           AND i.due_date BETWEEN c.end_date - 180 AND c.end_date) AS failed
              FROM exit_reasons x JOIN contracts c USING (contract_id)) x GROUP BY 1""").fetchall())
    assert share[True] > 3 * share[False]


def test_intent_signals_announce_opportunities(con):
    rate = dict(con.execute("""
        SELECT s.signal_type, avg(EXISTS (SELECT 1 FROM expansion_opportunities o WHERE o.account_id = s.account_id
               AND o.created_date BETWEEN s.signal_date AND s.signal_date + 120
               AND o.source_signal = CASE s.signal_type WHEN 'new_country_interest' THEN 'new_country' ELSE 'cor_to_eor' END)::INT)
        FROM intent_signals s GROUP BY 1""").fetchall())
    # against the chance of such an opportunity in any 120 days: opportunities per account-year x 120 / 365
    base = dict(con.execute("""SELECT source_signal, count(*) * 120 / 365.0 / (SELECT sum(least(end_date, DATE '2026-09-30')
                                      - greatest(start_date, DATE '2024-10-01') + 1) / 365.0 FROM contracts
                                      WHERE end_date >= DATE '2024-10-01')
                               FROM expansion_opportunities GROUP BY 1""").fetchall())
    assert rate["new_country_interest"] > 4 * base["new_country"]
    assert rate["eor_pattern"] > 4 * base["cor_to_eor"]


def test_referral_intent_at_a_qbr_leads_to_referrals(con):
    rate = dict(con.execute("""
        SELECT q.referral_intent, avg(EXISTS (SELECT 1 FROM referrals r WHERE r.account_id = q.account_id
               AND r.referral_date BETWEEN q.qbr_date + 7 AND q.qbr_date + 60)::INT)
        FROM qbrs q WHERE q.qbr_date < DATE '2026-07-01' GROUP BY 1""").fetchall())
    assert rate[True] > 0.35 and rate[False] < 0.1
