"""Dagster wiring of portfolio metrics: revenue retention, account-plan currency, QBR records and compliance."""

from dagster import AssetKey, AssetSpec, MaterializeResult, MetadataValue, asset, multi_asset
from dagster_duckdb import DuckDBResource

from csm_analytics.health.resources import HealthConfigResource
from csm_analytics.lib.metadata import preview, rows_md, table_md
from csm_analytics.lib.warehouse import WAREHOUSE_POOL, replace_table, table_exists
from csm_analytics.portfolio.adoption import with_csm_logins
from csm_analytics.portfolio.coaching import (
    CSM_ADOPTION_SQL,
    RENEWALS_SQL,
    adoption_insights,
    renewal_insights,
)
from csm_analytics.portfolio.kpis import CSM_PORTFOLIO_SQL, display_rows, kpi_rows
from csm_analytics.portfolio.metrics import (
    QBR_COMPLIANCE_BY_CSM,
    account_plan_status_sql,
    engagement_cadence_sql,
    qbr_records_sql,
    retention_cohorts_sql,
    revenue_retention_sql,
)
from csm_analytics.portfolio.rebalancing import ACCOUNTS_SQL as REBALANCE_ACCOUNTS_SQL
from csm_analytics.portfolio.rebalancing import CSMS_SQL as REBALANCE_CSMS_SQL
from csm_analytics.portfolio.rebalancing import plan_moves
from csm_analytics.portfolio.scorecard import (
    CATEGORIES,
    SCORECARD_SQL,
    strengths_and_gaps,
)

RAW = {t: AssetKey(["raw", t]) for t in ("accounts", "contracts", "csm_assignments", "account_plans", "qbrs",
                                         "product_usage")}


RETENTION_KEY = AssetKey(["marts", "revenue_retention"])
COHORTS_KEY = AssetKey(["marts", "retention_cohorts"])
RETENTION_DEPS = [RAW["contracts"], RAW["accounts"], RAW["csm_assignments"], RAW["product_usage"],
                  AssetKey(["core", "health_band_transitions"]), AssetKey(["raw", "activities"]),
                  AssetKey(["raw", "expansion_opportunities"])]


@multi_asset(name="marts__revenue_retention", pool=WAREHOUSE_POOL, specs=[
    AssetSpec(COHORTS_KEY, group_name="portfolio", kinds={"duckdb"}, deps=RETENTION_DEPS,
              description="One row per account and quarter end: the ARR at the start and end of the trailing 12 "
                          "months behind marts.revenue_retention (and the CSM scorecard)."),
    AssetSpec(RETENTION_KEY, group_name="portfolio", kinds={"duckdb"}, deps=[COHORTS_KEY],
              description="Trailing-12-month GRR, NRR, logo retention and net-ARR-down rate per quarter end, by CSM, "
                          "segment and tier, from marts.retention_cohorts.")])
def revenue_retention(duckdb: DuckDBResource):
    with duckdb.get_connection() as con:
        cohorts = replace_table(con, "marts.retention_cohorts", retention_cohorts_sql())
        rows = replace_table(con, "marts.revenue_retention", revenue_retention_sql())
        book = preview(con, "SELECT quarter_end, accounts_at_start, start_arr, end_arr, grr, nrr, logo_retention, "
                            "net_arr_down_rate FROM marts.revenue_retention WHERE dimension = 'all'", 12)
    yield MaterializeResult(asset_key=COHORTS_KEY, metadata={"dagster/row_count": cohorts})
    yield MaterializeResult(asset_key=RETENTION_KEY, metadata={"dagster/row_count": rows, "cohort_rows": cohorts,
                                                               "whole_book": book})


@asset(pool=WAREHOUSE_POOL, key=["marts", "account_plan_status"], group_name="portfolio", kinds={"duckdb"},
       deps=[RAW["contracts"], RAW["accounts"], RAW["account_plans"], RAW["product_usage"]],
       description="Account-plan currency: Enterprise and Strategic accounts need a plan updated within 90 days.")
def account_plan_status(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        rows = replace_table(con, "marts.account_plan_status", account_plan_status_sql())
        summary = preview(con, "SELECT plan_status, count(*) AS accounts FROM marts.account_plan_status "
                               "WHERE plan_required GROUP BY 1 ORDER BY 1")
        currency = con.execute("SELECT avg((plan_status = 'current')::INT) FROM marts.account_plan_status "
                               "WHERE plan_required").fetchall()[0][0]
    return MaterializeResult(metadata={"dagster/row_count": rows, "required_plans": summary,
                                       "plan_currency": round(currency or 0.0, 4)})


@asset(pool=WAREHOUSE_POOL, key=["marts", "qbr_records"], group_name="portfolio", kinds={"duckdb"},
       deps=[RAW["contracts"], RAW["accounts"], RAW["qbrs"], RAW["csm_assignments"], RAW["product_usage"]],
       description="Per active account: QBRs required by the tier's cadence over 365 days, held, missed, engagement.")
def qbr_records(duckdb: DuckDBResource, health_config: HealthConfigResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        rows = replace_table(con, "marts.qbr_records", qbr_records_sql(health_config.load()))
        missed = preview(con, "SELECT * FROM marts.qbr_records WHERE qbrs_missed > 0", 10)
    return MaterializeResult(metadata={"dagster/row_count": rows, "most_missed": missed})


@asset(pool=WAREHOUSE_POOL, key=["marts", "qbr_compliance"], group_name="portfolio", kinds={"duckdb"}, deps=[AssetKey(["marts", "qbr_records"])],
       description="QBR completion rate per CSM, with the accounts whose missed QBRs go to the CSM's manager.")
def qbr_compliance(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        rows = replace_table(con, "marts.qbr_compliance", QBR_COMPLIANCE_BY_CSM)
        table = preview(con, "SELECT csm_id, qbrs_required, qbrs_held_against_required, qbr_completion_rate, qbrs_missed "
                             "FROM marts.qbr_compliance", 20)
    return MaterializeResult(metadata={"dagster/row_count": rows, "by_csm": table})


@asset(pool=WAREHOUSE_POOL, key=["marts", "engagement_cadence"], group_name="portfolio", kinds={"duckdb"},
       deps=[RAW["contracts"], RAW["accounts"], RAW["csm_assignments"], RAW["product_usage"], AssetKey(["raw", "activities"])],
       description="Touchpoints per account per month against the tier's target, and multi-role engagement.")
def engagement_cadence(duckdb: DuckDBResource, health_config: HealthConfigResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        rows = replace_table(con, "marts.engagement_cadence", engagement_cadence_sql(health_config.load()))
        by_csm = preview(con, "SELECT csm_id, round(avg(on_target::INT), 3) AS share_months_on_target, "
                              "round(avg(multi_role::INT), 3) AS share_months_multi_role FROM marts.engagement_cadence "
                              "GROUP BY csm_id ORDER BY csm_id", 20)
    return MaterializeResult(metadata={"dagster/row_count": rows, "by_csm": by_csm})


@asset(pool=WAREHOUSE_POOL, key=["marts", "csm_portfolio"], group_name="portfolio", kinds={"duckdb"},
       deps=[AssetKey(["core", "account_health_score"]), AssetKey(["alerts", "alert_events"]), RAW["contracts"],
             RAW["csm_assignments"], RAW["product_usage"], AssetKey(["raw", "expansion_opportunities"]), AssetKey(["raw", "csms"])],
       description="Each CSM's book on the last day: clients, workers, ARR, health mix, at-risk ARR, alerts, pipeline, utilization.")
def csm_portfolio(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        rows = replace_table(con, "marts.csm_portfolio", CSM_PORTFOLIO_SQL)
        table = preview(con, "SELECT csm_id, client_count, total_arr, avg_health_score, green_accounts, yellow_accounts, "
                             "red_accounts, at_risk_arr, alert_count, utilization FROM marts.csm_portfolio", 20)
    return MaterializeResult(metadata={"dagster/row_count": rows, "portfolios": table})


@asset(pool=WAREHOUSE_POOL, key=["marts", "csm_scorecard"], group_name="portfolio", kinds={"duckdb"},
       deps=[AssetKey(["marts", "revenue_retention"]), COHORTS_KEY, AssetKey(["marts", "engagement_cadence"]),
             AssetKey(["core", "account_health_history"]), AssetKey(["raw", "survey_responses"]), RAW["csm_assignments"]],
       description="One row per CSM per quarter: six category scores, overall, team average, peer rank, trend, "
                   "with retention judged against the book's expected churn.")
def csm_scorecard(duckdb: DuckDBResource) -> MaterializeResult:
    import pandas as pd

    with duckdb.get_connection() as con:
        frame = con.execute(SCORECARD_SQL).df()
    notes = []
    for quarter, rows in frame.groupby("quarter_end"):
        team = {c: rows[c].mean() for c in CATEGORIES}
        for _, row in rows.iterrows():
            strengths, gaps = strengths_and_gaps(row.to_dict(), team)
            notes.append((quarter, row.csm_id, ", ".join(strengths) or "none", ", ".join(gaps) or "none"))
    notes = pd.DataFrame(notes, columns=["quarter_end", "csm_id", "strengths", "development_areas"])
    if len(frame):
        frame = frame.merge(notes, on=["quarter_end", "csm_id"])
    else:  # no quarter with a full year of history yet (e.g. a one-day backfill): an empty table, on purpose
        frame = frame.assign(strengths=pd.Series(dtype=str), development_areas=pd.Series(dtype=str))
    frame["quarter_end"] = pd.to_datetime(frame.quarter_end).dt.date
    with duckdb.get_connection() as con:
        rows = replace_table(con, "marts.csm_scorecard", "SELECT * FROM frame", frame=frame)
        latest = preview(con, "SELECT csm_id, overall_score, peer_rank, retention, actual_lost, expected_lost, strengths, "
                              "development_areas FROM marts.csm_scorecard "
                              "WHERE quarter_end = (SELECT max(quarter_end) FROM marts.csm_scorecard) ORDER BY peer_rank", 20)
    return MaterializeResult(metadata={"dagster/row_count": rows, "latest_quarter": latest})


@asset(pool=WAREHOUSE_POOL, key=["marts", "coaching_insights"], group_name="portfolio", kinds={"duckdb", "scipy"},
       deps=[AssetKey(["core", "account_health_history"]), AssetKey(["core", "account_health_components"]),
             AssetKey(["marts", "revenue_retention"]), RAW["contracts"], RAW["qbrs"], AssetKey(["raw", "dashboard_logins"]),
             AssetKey(["raw", "workspace_events"])],
       description="Activity patterns against renewal outcomes, and analytics adoption against results: effect size, "
                   "95 % CI or p-value and sample size; only significant differences are stated as findings.")
def coaching_insights(duckdb: DuckDBResource, health_config: HealthConfigResource) -> MaterializeResult:
    import pandas as pd

    with duckdb.get_connection() as con:
        renewals = con.execute(health_config.load().with_tier_targets(RENEWALS_SQL)).df()
        csms = con.execute(with_csm_logins(CSM_ADOPTION_SQL, table_exists(con, "raw.workspace_events"))).df()
    frame = pd.DataFrame(renewal_insights(renewals) + adoption_insights(csms))
    with duckdb.get_connection() as con:
        rows = replace_table(con, "marts.coaching_insights", "SELECT * FROM frame", frame=frame)
    findings = "\n".join(f"- {f}" for f in frame.finding)
    return MaterializeResult(metadata={"dagster/row_count": rows, "findings": MetadataValue.md(findings),
                                       "renewals_analysed": len(renewals)})


@asset(pool=WAREHOUSE_POOL, key=["marts", "rebalancing_plan"], group_name="portfolio", kinds={"duckdb"},
       deps=[AssetKey(["core", "account_health_score"]), RAW["contracts"], RAW["csm_assignments"], AssetKey(["raw", "csms"])],
       description="A few account moves between CSMs that even out ARR, accounts and at-risk ARR against capacity, "
                   "within the constraints; before and after balance in metadata.")
def rebalancing_plan(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        accounts = con.execute(REBALANCE_ACCOUNTS_SQL).df()
        csms = con.execute(REBALANCE_CSMS_SQL).df()
    moves, before, after = plan_moves(accounts, csms)
    with duckdb.get_connection() as con:
        rows = replace_table(con, "marts.rebalancing_plan", "SELECT * FROM frame", frame=moves)
    figures = [(k, before[k], after[k]) for k in before]
    return MaterializeResult(metadata={"dagster/row_count": rows, "balance": table_md(figures, ["measure", "before", "after"]),
                                       "moves": MetadataValue.md(moves.to_markdown(index=False) if len(moves) else "no move")})


KPI_DEPS = [AssetKey(["marts", t]) for t in ("revenue_retention", "alert_response_sla", "qbr_records", "account_plan_status",
                                             "csm_portfolio")] + [
    AssetKey(["core", "account_health_components"]), AssetKey(["core", "account_health_history"])] + [
    AssetKey(["raw", t]) for t in ("expansion_opportunities", "support_tickets", "dashboard_logins", "workspace_events", "csms",
                                   "csm_assignments")]


@asset(pool=WAREHOUSE_POOL, key=["marts", "cs_ops_kpis"], group_name="portfolio", kinds={"duckdb"}, deps=KPI_DEPS,
       description="The CS-ops KPI table: KPI, coverage, numerator, denominator, value, target, vs target, and the "
                   "source where it can differ (data adoption: workspace or simulated logins per CSM).")
def cs_ops_kpis(duckdb: DuckDBResource, health_config: HealthConfigResource) -> MaterializeResult:
    import pandas as pd

    with duckdb.get_connection() as con:
        values = kpi_rows(con, health=health_config.load())
        frame = pd.DataFrame(values, columns=["kpi", "coverage", "numerator", "denominator", "value", "target", "vs_target",
                                              "source"])
        rows = replace_table(con, "marts.cs_ops_kpis", "SELECT * FROM frame", frame=frame)
    return MaterializeResult(metadata={"dagster/row_count": rows,
                                       "kpis": MetadataValue.md(rows_md(display_rows(values), list(frame.columns)))})


portfolio_assets = [revenue_retention, account_plan_status, qbr_records, qbr_compliance, engagement_cadence, csm_portfolio,
                    csm_scorecard, coaching_insights, rebalancing_plan, cs_ops_kpis]
