"""Definitions from docs/metrics.md that a one-contract book cannot see: renewals mid-month, a downgrade netted
by expansion at the same renewal, a red account not yet renewed, pooled scorecard shares, windows of the
CS-ops KPIs. Every expected value is worked out by hand in the comments."""

from __future__ import annotations

import datetime as dt

import pytest

from csm_analytics.health.config import DEFAULT_CONFIG, load_health_config
from csm_analytics.lib.warehouse import replace_table
from csm_analytics.portfolio.kpis import KPIS, kpi_rows
from csm_analytics.portfolio.metrics import engagement_cadence_sql, retention_cohorts_sql, revenue_retention_sql
from csm_analytics.portfolio.scorecard import SCORECARD_SQL
from csm_analytics_tests.fixtures import empty_raw_warehouse, insert

D = dt.date
LAST = D(2025, 12, 31)


def _account(aid, tier="Enterprise"):
    return dict(account_id=aid, account_name=aid, tier=tier, segment="Large", industry="Media", country="US",
                product="EOR", created_date=D(2024, 1, 1))


def _contract(cid, aid, start, end, arr, outcome, downgrade=0.0, term=12):
    return dict(contract_id=cid, account_id=aid, start_date=start, end_date=end, arr=arr, mrr=arr / 12,
                term_months=term, licensed_seats=10, renewal_outcome=outcome, downgrade_amount=downgrade)


def _call(i, aid, day):
    return dict(activity_id=f"X{aid}{i}", csm_id="CSM01", account_id=aid, activity_type="call", activity_date=day,
                duration_minutes=30, contact_role="Champion")


def _warehouse(tmp_path, accounts, contracts):
    con = empty_raw_warehouse(tmp_path / "wh.duckdb")
    insert(con, "accounts", [_account(a) for a in accounts])
    insert(con, "contracts", contracts)
    insert(con, "csm_assignments", [dict(account_id=a, csm_id="CSM01", valid_from=D(2024, 1, 1), valid_to=None)
                                    for a in accounts])
    insert(con, "product_usage", [dict(account_id=accounts[0], usage_date=d, grain="day", active_users=1.0,
                                       licensed_seats=1, logins=1, key_feature_events=1, worker_count=1)
                                  for d in (D(2024, 1, 1), LAST)])
    return con


@pytest.fixture
def renewals(tmp_path):
    """G: 100k, downgraded by 30k at its 2025-06-30 renewal, which also folds in 40k of expansion: 110k.
    H: 100k renewed flat. K: 50k on a 24-month contract, not renewed yet. Cohort of 2025-12-31: t0 = 2025-01-01."""
    con = _warehouse(tmp_path, ["G", "H", "K"], [
        _contract("G0", "G", D(2024, 7, 1), D(2025, 6, 30), 100_000.0, "downgraded", downgrade=30_000.0),
        _contract("G1", "G", D(2025, 7, 1), D(2026, 6, 30), 110_000.0, None),
        _contract("H0", "H", D(2024, 7, 1), D(2025, 6, 30), 100_000.0, "renewed"),
        _contract("H1", "H", D(2025, 7, 1), D(2026, 6, 30), 100_000.0, None),
        _contract("K0", "K", D(2024, 9, 1), D(2026, 8, 31), 50_000.0, None, term=24)])
    # G and K both go red and get a call within 14 days; only G renews after that
    con.execute("CREATE SCHEMA core")
    con.execute("CREATE TABLE core.health_band_transitions (account_id VARCHAR, transition_date DATE, to_band VARCHAR)")
    con.execute("INSERT INTO core.health_band_transitions VALUES ('G', '2025-03-01', 'At risk'), ('K', '2025-06-01', 'At risk')")
    insert(con, "activities", [_call(1, "G", D(2025, 3, 4)), _call(1, "K", D(2025, 6, 3))])
    replace_table(con, "marts.retention_cohorts", retention_cohorts_sql())
    return con


def test_grr_counts_a_downgrade_before_the_expansion_folded_into_the_same_renewal(renewals):
    book = renewals.execute(revenue_retention_sql()).df()
    book = book[(book.dimension == "all") & (book.quarter_end == "2025-12-31")].iloc[0]
    # start 100k + 100k + 50k = 250k; end 110k + 100k + 50k = 260k
    assert (book.start_arr, book.end_arr, book.churned_arr) == (250_000, 260_000, 0)
    # G lost 30k at renewal (counted) and gained 40k (expansion, not netted): 250k - 30k + 40k = 260k
    assert (book.contraction_arr, book.expansion_arr) == (30_000, 40_000)
    assert (book.grr, book.nrr) == (0.88, 1.04)  # (250k - 30k) / 250k; 260k / 250k
    # the net-ARR-down rate is a different measure: no account ends below its start ARR
    assert (book.accounts_net_arr_down, book.net_arr_down_rate) == (0, 0)


def test_churn_prevented_arr_requires_a_renewal_after_the_red_day(renewals):
    cohort = renewals.execute("SELECT account_id, churn_prevented_arr FROM marts.retention_cohorts "
                              "WHERE quarter_end = '2025-12-31'").fetchall()
    # G renewed (downgraded) on 2025-06-30 after going red on 2025-03-01: its start ARR counts.
    # K is still under contract but has not renewed: nothing prevented yet.
    assert dict(cohort) == {"G": 100_000, "H": 0, "K": 0}


def test_engagement_cadence_keeps_renewal_months(tmp_path):
    """M renews mid-June; N churns mid-March; P has a two-day gap between contracts in May."""
    con = _warehouse(tmp_path, ["M", "N", "P"], [
        _contract("M0", "M", D(2024, 6, 15), D(2025, 6, 14), 10_000.0, "renewed"),
        _contract("M1", "M", D(2025, 6, 15), D(2026, 6, 14), 10_000.0, None),
        _contract("N0", "N", D(2024, 3, 15), D(2025, 3, 14), 10_000.0, "churned"),
        _contract("P0", "P", D(2024, 5, 1), D(2025, 4, 30), 10_000.0, "renewed"),
        _contract("P1", "P", D(2025, 5, 3), D(2026, 5, 2), 10_000.0, None)])
    insert(con, "activities", [_call(i, "M", D(2025, 6, 2 + 7 * i)) for i in range(4)])
    rows = con.execute(engagement_cadence_sql(load_health_config(DEFAULT_CONFIG))).df()
    months = {a: sorted(g.month.dt.strftime("%m")) for a, g in rows.groupby("account_id")}
    everything = [f"{m:02d}" for m in range(1, 13)]  # the last 12 complete months: 2025-01 .. 2025-12
    assert months["M"] == everything  # June is a renewal month, under contract every day
    assert months["N"] == ["01", "02"]  # March is only half under contract
    assert months["P"] == [m for m in everything if m != "05"]  # 1 and 2 May are not under contract
    june = rows[(rows.account_id == "M") & (rows.month == "2025-06-01")].iloc[0]
    assert (june.touches, june.on_target) == (4, True)  # Enterprise target: 4 a month


def test_scorecard_activity_is_pooled_nps_covers_the_calendar_quarter_and_expansion_is_gross(tmp_path):
    con = empty_raw_warehouse(tmp_path / "wh.duckdb")
    q, t0 = D(2025, 12, 31), D(2025, 1, 1)
    con.execute("INSERT INTO raw.csms VALUES ('S', 'S', 10, DATE '2020-01-01', 'M', 'UX')")
    con.execute("INSERT INTO raw.csm_assignments VALUES ('A1', 'S', DATE '2020-01-01', NULL)")
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA core")
    con.execute("CREATE TABLE marts.retention_cohorts (quarter_end DATE, cohort_date DATE, account_id VARCHAR, "
                "csm_id VARCHAR, segment VARCHAR, tier VARCHAR, start_arr DOUBLE, end_arr DOUBLE, contraction_arr DOUBLE)")
    # A2 was cut by 30 at renewal and gained 40 of expansion: gross expansion 40 of a 200 start = 20 % -> 100 points
    # (netting would give 10 / 200 = 5 % -> 25)
    con.execute("INSERT INTO marts.retention_cohorts VALUES (?, ?, 'A1', 'S', 'Large', 'Core', 100, 100, 0), "
                "(?, ?, 'A2', 'S', 'Large', 'Core', 100, 110, 30)", [q, t0, q, t0])
    con.execute("CREATE TABLE core.account_health_history (account_id VARCHAR, as_of_date DATE, health_score DOUBLE, "
                "band VARCHAR)")
    con.execute("INSERT INTO core.account_health_history VALUES ('A1', ?, 80, 'Healthy'), ('A1', ?, 80, 'Healthy')", [t0, q])
    # October: 1 of 1 account-month on target; November: 0 of 3; December: 1 of 3.
    # Pooled: 2 of 7 = 28.6; the mean of the monthly shares would be (1 + 0 + 1/3) / 3 = 44.4.
    cadence = [("A1", D(2025, 10, 1), True)] + [(f"A{i}", D(2025, 11, 1), False) for i in range(3)] + \
              [(f"A{i}", D(2025, 12, 1), i == 0) for i in range(3)]
    con.execute("CREATE TABLE marts.engagement_cadence (account_id VARCHAR, month DATE, csm_id VARCHAR, on_target BOOLEAN)")
    con.executemany("INSERT INTO marts.engagement_cadence VALUES (?, ?, 'S', ?)", cadence)
    # NPS: 30 Sep is outside the calendar quarter; 1 Oct and 2 Oct are inside (1 Oct is 91 days before the end,
    # which a "last 91 days" window would miss). Mean of 8 and 6 = 7 -> 70.
    insert(con, "survey_responses", [
        dict(response_id=f"R{i}", account_id="A1", survey_type="NPS", response_date=day, score=score,
             respondent_role="Champion")
        for i, (day, score) in enumerate([(D(2025, 9, 30), 0), (D(2025, 10, 1), 8), (D(2025, 10, 2), 6)])])
    card = con.execute(SCORECARD_SQL).df().set_index("csm_id").loc["S"]
    assert card.activity_engagement == 28.6
    assert card.customer_satisfaction == 70.0
    assert card.expansion == 100.0


def _kpi(prefix):
    return [k for k in KPIS if k.name.startswith(prefix)]


def test_escalations_count_and_divide_by_the_same_clients(tmp_path):
    """A under contract all quarter, B churned mid-November, C left in June (before the 91 days)."""
    con = _warehouse(tmp_path, ["A", "B", "C"], [
        _contract("A0", "A", D(2025, 1, 1), D(2025, 12, 31), 10_000.0, None),
        _contract("B0", "B", D(2024, 11, 16), D(2025, 11, 15), 10_000.0, "churned"),
        _contract("C0", "C", D(2024, 7, 1), D(2025, 6, 30), 10_000.0, "churned")])
    insert(con, "support_tickets", [
        dict(ticket_id=f"T{i}", account_id=a, opened_at=dt.datetime(2025, 11, 1, 9), resolved_at=None,
             priority="high", escalated=esc, csat=None)
        for i, (a, esc) in enumerate([("A", True), ("A", False), ("B", True), ("C", True)])])
    [(_, coverage, numerator, denominator, value, _, _, _)] = kpi_rows(con, _kpi("Escalations per 100"))
    # managed in (2025-10-01, 2025-12-31]: A and B; their escalations: 2 -> 100 per 100 clients
    assert (coverage, numerator, denominator, value) == (2, 2, 2, 100.0)


def test_data_adoption_needs_three_logins_in_each_of_the_last_four_weeks(tmp_path):
    con = _warehouse(tmp_path, ["A"], [_contract("A0", "A", D(2025, 1, 1), D(2025, 12, 31), 10_000.0, None)])
    for csm in ("S1", "S2", "S3"):
        con.execute("INSERT INTO raw.csms VALUES (?, ?, 10, DATE '2020-01-01', 'M', 'UX')", [csm, csm])
    weeks_end = [LAST - dt.timedelta(days=7 * w) for w in range(4)]  # 31, 24, 17 and 10 December
    logins = [("S1", end - dt.timedelta(days=d)) for end in weeks_end for d in (0, 2, 4)]  # 3 every week
    logins += [("S2", LAST - dt.timedelta(days=d % 7)) for d in range(12)]  # 12, all in the last week
    logins += [("S3", end) for end in weeks_end for _ in range(2)]  # 2 a week
    insert(con, "dashboard_logins", [dict(csm_id=c, login_at=dt.datetime.combine(day, dt.time(9)), page="home")
                                     for c, day in logins])
    [(_, coverage, numerator, denominator, value, _, _, source)] = kpi_rows(con, _kpi("Data adoption"))
    assert (coverage, numerator, denominator, value) == (3, 1, 3, pytest.approx(1 / 3, abs=1e-4))  # S1 only
    assert source == "simulated for 3 CSMs"  # no workspace has been used: no raw.workspace_events


def test_data_adoption_counts_real_workspace_logins_from_a_csms_first_one(tmp_path):
    """Simulated: every CSM logs in daily (7 a week, all adopted). Real workspace logins (10:00 UTC):
    S1 none -> simulated, adopted. S2 first on 2025-11-01, then 2 a week in the window (31 Dec - 7w - 0 and - 3 days)
    -> its simulated logins are replaced: 2, 2, 2, 2, not adopted, source workspace. S3 first on 24 December 10:00
    -> simulated up to 24 December 09:00 count (weeks 3, 2: 7 each; week 1 = 18..24 Dec: 7), the real one too
    (week 1: 8), week 0 (25..31 Dec) nothing: not adopted, source mixed. Adopted: S1 only -> 1 / 3."""
    con = _warehouse(tmp_path, ["A"], [_contract("A0", "A", D(2025, 1, 1), D(2025, 12, 31), 10_000.0, None)])
    for csm in ("S1", "S2", "S3"):
        con.execute("INSERT INTO raw.csms VALUES (?, ?, 10, DATE '2020-01-01', 'M', 'UX')", [csm, csm])
    insert(con, "dashboard_logins", [dict(csm_id=c, login_at=dt.datetime.combine(LAST - dt.timedelta(days=d), dt.time(9)),
                                          page="home") for c in ("S1", "S2", "S3") for d in range(60)])
    real = [("S2", D(2025, 11, 1))] + [("S2", LAST - dt.timedelta(days=7 * w + d)) for w in range(4) for d in (0, 3)]
    real += [("S3", D(2025, 12, 24))]
    con.execute("CREATE TABLE raw.workspace_events (event_id BIGINT, recorded_at TIMESTAMPTZ, username VARCHAR, "
                "csm_id VARCHAR, role VARCHAR, event VARCHAR, page VARCHAR)")
    con.executemany("INSERT INTO raw.workspace_events VALUES (?, ?, ?, ?, 'csm', 'login', NULL)",
                    [(i, f"{day}T10:00:00+00:00", c.lower(), c) for i, (c, day) in enumerate(real)])
    con.execute("INSERT INTO raw.workspace_events VALUES (99, '2025-12-30T10:00:00+00:00', 'c1', 'S1', 'csm', 'page_view', "
                "'my_day')")  # a page view is not a login
    [(_, coverage, numerator, denominator, value, _, _, source)] = kpi_rows(con, _kpi("Data adoption"))
    assert (coverage, numerator, denominator, value) == (3, 1, 3, pytest.approx(1 / 3, abs=1e-4))
    assert source == "mixed for 1 CSM, simulated for 1 CSM, workspace for 1 CSM"
    from csm_analytics.portfolio.adoption import csm_adoption_sql, with_csm_logins

    per_csm = con.execute(with_csm_logins(csm_adoption_sql("$as_of::DATE"), True), {"as_of": LAST}).fetchall()
    assert per_csm == [("S1", 7, 7, 7, 7, 7.0, True, "simulated"), ("S2", 2, 2, 2, 2, 2.0, False, "workspace"),
                       ("S3", 0, 8, 7, 7, 5.5, False, "mixed")]


def test_ttm_kpis_without_a_finished_quarter_are_empty_not_an_error(tmp_path):
    """A history shorter than a year (a new deployment, CSM_HISTORY_START on recent days) leaves
    marts.revenue_retention without a row; its KPIs then have coverage 0 and no value (the marts.cs_ops_kpis
    step failed with IndexError on such a warehouse)."""
    con = _warehouse(tmp_path, ["A"], [_contract("A0", "A", D(2025, 1, 1), D(2025, 12, 31), 10_000.0, None)])
    con.execute("CREATE SCHEMA marts")  # the mart's columns, no quarter yet
    con.execute("CREATE TABLE marts.revenue_retention (dimension VARCHAR, quarter_end DATE, accounts_at_start INT, "
                "accounts_retained INT, start_arr DOUBLE, end_arr DOUBLE, churned_arr DOUBLE, contraction_arr DOUBLE, "
                "nrr DOUBLE, grr DOUBLE, logo_retention DOUBLE)")
    rows = kpi_rows(con, _kpi("CSM portfolio NRR") + _kpi("Logo retention") + _kpi("GRR"))
    assert [(coverage, numerator, denominator, value, verdict) for _, coverage, numerator, denominator, value, _, verdict, _
            in rows] == [(0, None, None, None, "n/a")] * 3
