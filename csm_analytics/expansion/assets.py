"""Dagster wiring of the expansion domain: readiness signals, calibrated forecast, its backtest, the KPI catalogue."""

import datetime as dt

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)
from dagster_duckdb import DuckDBResource

from csm_analytics.canonical.calendar import LAST_DATA_DAY
from csm_analytics.expansion import charts, forecast, signals
from csm_analytics.expansion.config import (
    COMPONENTS,
)
from csm_analytics.expansion.impact import (
    CHECK_IN_RENEWALS_SQL,
    check_in_accounts_sql,
    check_in_expansion_impact,
    check_in_impact,
)
from csm_analytics.expansion.kpis import COLUMNS, catalogue_rows
from csm_analytics.expansion.resources import ExpansionConfigResource
from csm_analytics.health.resources import HealthConfigResource
from csm_analytics.lib.metadata import png_md, preview, table_md
from csm_analytics.lib.warehouse import WAREHOUSE_POOL, replace_table

SIGNALS_KEY = AssetKey(["marts", "expansion_signals"])
FORECAST_KEY = AssetKey(["marts", "expansion_forecast"])
CALIBRATION_KEY = AssetKey(["marts", "expansion_stage_calibration"])
ACCURACY_KEY = AssetKey(["marts", "expansion_forecast_accuracy"])
KPIS_KEY = AssetKey(["marts", "account_management_kpis"])
HISTORY = AssetKey(["core", "account_health_history"])


def raw(*tables: str) -> list[AssetKey]:
    return [AssetKey(["raw", t]) for t in tables]



@asset(pool=WAREHOUSE_POOL, key=SIGNALS_KEY, group_name="expansion", kinds={"duckdb"},
       deps=[*raw("accounts", "contracts", "product_usage", "intent_signals", "qbrs", "expansion_opportunities",
                  "csm_assignments"), HISTORY],
       description="Accounts ranked by the Expansion Readiness Index (0-100) with its six components, the strongest "
                   "signal, an estimated expansion ARR and a recommended CSM action. A prioritisation for CSMs.",
       check_specs=[AssetCheckSpec("top_decile_lift", asset=SIGNALS_KEY,
                                   description="Top-decile accounts expand in the next 180 days at >= 3x the base rate.")])
def expansion_signals(duckdb: DuckDBResource, expansion_config: ExpansionConfigResource) -> MaterializeResult:
    config = expansion_config.load()
    with duckdb.get_connection() as con:
        rows = replace_table(con, "marts.expansion_signals", signals.signals_sql(config))
        top = preview(con, "SELECT rank, account_id, csm_id, readiness_index, strongest_signal, estimated_expansion_arr, "
                           "recommended_action FROM marts.expansion_signals", 15)
        by_signal = preview(con, "SELECT strongest_signal, count(*) AS accounts, round(avg(readiness_index), 1) AS "
                                 "avg_index FROM marts.expansion_signals GROUP BY 1 ORDER BY 2 DESC", 10)
        summary, per_date, ablations = signals.validate_readiness(con, config)
    lift = summary["lift"]
    return MaterializeResult(
        metadata={
            "dagster/row_count": rows, "top_accounts": top, "strongest_signals": by_signal,
            "weights": table_md([(n, config.weights[n]) for n in COMPONENTS], ["component", "points"]),
            "top_decile_lift": lift if lift is not None else "n/a",
            "validation": table_md(list(summary.items()), ["measure", "value"]),
            "lift_by_as_of_date": MetadataValue.md(per_date.to_markdown(index=False) if len(per_date) else "_none_"),
            "lift_chart": png_md(charts.lift_by_date(per_date, config.min_lift), "lift") if len(per_date) else "n/a",
            "ablations": table_md([(k, v["lift"], v["base_rate"], v["top_decile_rate"]) for k, v in ablations.items()],
                                  ["variant", "lift", "base_rate", "top_decile_rate"]),
        },
        check_results=[AssetCheckResult(
            check_name="top_decile_lift", severity=AssetCheckSeverity.WARN,
            passed=lift is not None and lift >= config.min_lift,
            description=f"pooled top-decile lift {lift} over {summary['as_of_dates']} as-of dates (target >= {config.min_lift:g})",
            metadata={"lift": lift or 0.0, "base_rate": summary["base_rate"] or 0.0})],
    )


@multi_asset(name="marts__expansion_forecast", pool=WAREHOUSE_POOL, specs=[
    AssetSpec(CALIBRATION_KEY, group_name="expansion", kinds={"duckdb"},
              deps=raw("expansion_opportunities", "opportunity_stage_history", "accounts", "csm_assignments",
                       "product_usage"),
              description="Per quarter and stage: the stage's close probability recalibrated from earlier close "
                          "rates (predicted) against what closed in the quarter (actual)."),
    AssetSpec(FORECAST_KEY, group_name="expansion", kinds={"duckdb"},
              deps=[CALIBRATION_KEY, *raw("expansion_opportunities", "opportunity_stage_history", "accounts",
                                          "csm_assignments", "product_usage")],
              description="Weighted expansion forecast (amount x stage probability) per quarter, CSM and segment, "
                          "with the stage probabilities of marts.expansion_stage_calibration.")])
def expansion_forecast(duckdb: DuckDBResource, expansion_config: ExpansionConfigResource):
    config = expansion_config.load()
    with duckdb.get_connection() as con:
        calibration = replace_table(con, "marts.expansion_stage_calibration",
                                    forecast.calibration_sql(config.calibration_prior_weight))
        rows = replace_table(con, "marts.expansion_forecast", forecast.forecast_sql())
        table = preview(con, "SELECT quarter_start, stage, history_observed, history_won, probability AS predicted, "
                             "open_at_start, won_in_quarter, actual_rate AS actual FROM marts.expansion_stage_calibration "
                             "WHERE probability IS NOT NULL ORDER BY quarter_start DESC, stage_order", 40)
        by_quarter = preview(con, "SELECT quarter_start, quarter_complete, sum(open_opportunities) AS open_opportunities, "
                                  "sum(pipeline_amount) AS pipeline, sum(weighted_forecast) AS weighted_forecast, "
                                  "sum(won_from_pipeline) AS won_from_pipeline FROM marts.expansion_forecast "
                                  "GROUP BY ALL ORDER BY quarter_start", 20)
    yield MaterializeResult(asset_key=CALIBRATION_KEY, metadata={"dagster/row_count": calibration,
                                                                 "predicted_vs_actual": table})
    yield MaterializeResult(asset_key=FORECAST_KEY, metadata={"dagster/row_count": rows, "calibration_rows": calibration,
                                                              "calibration_predicted_vs_actual": table,
                                                              "by_quarter": by_quarter})


@asset(pool=WAREHOUSE_POOL, key=ACCURACY_KEY, group_name="expansion", kinds={"duckdb"},
       deps=[FORECAST_KEY, CALIBRATION_KEY],
       description="Each past quarter's 90-day forecast (weighted pipeline + new-business run rate) against what "
                   "actually closed won, with the variance in % (target +-15 %, under 20 % strong).",
       check_specs=[AssetCheckSpec("variance_within_target", asset=ACCURACY_KEY,
                                   description="Mean absolute variance over the backtested quarters within +-15 %.")])
def expansion_forecast_accuracy(duckdb: DuckDBResource, expansion_config: ExpansionConfigResource) -> MaterializeResult:
    config = expansion_config.load()
    with duckdb.get_connection() as con:
        rows = replace_table(con, "marts.expansion_forecast_accuracy",
                             forecast.accuracy_sql(target=config.target_variance, strong=config.strong_variance))
        table = preview(con, "SELECT * FROM marts.expansion_forecast_accuracy", 20)
        mean_abs = con.execute("SELECT avg(abs(variance)) FROM marts.expansion_forecast_accuracy").fetchall()[0][0]
        accuracy = con.execute("SELECT quarter_start, forecast, actual FROM marts.expansion_forecast_accuracy").df()
    return MaterializeResult(
        metadata={"dagster/row_count": rows, "quarters": table,
                  "forecast_vs_actual": png_md(charts.forecast_vs_actual(accuracy), "forecast") if rows else "n/a",
                  "mean_absolute_variance": round(mean_abs, 4) if mean_abs is not None else "n/a"},
        check_results=[AssetCheckResult(
            check_name="variance_within_target", severity=AssetCheckSeverity.WARN,
            passed=mean_abs is not None and mean_abs <= config.target_variance,
            metadata={"mean_absolute_variance": mean_abs if mean_abs is not None else 0.0, "quarters": rows})],
    )


@asset(pool=WAREHOUSE_POOL, key=KPIS_KEY, group_name="expansion", kinds={"duckdb"},
       deps=raw("accounts", "contracts", "product_usage", "activities", "qbrs", "survey_responses", "support_tickets",
                "expansion_opportunities", "intent_signals", "referrals", "exit_reasons"),
       description="The account-management KPI catalogue (retention, expansion, engagement, relationship, advocacy), "
                   "each defined in docs/metrics.md; the Check-In Impact Score (retention and expansion) carries its "
                   "CI and p-value.")
def account_management_kpis(duckdb: DuckDBResource, health_config: HealthConfigResource,
                            expansion_config: ExpansionConfigResource) -> MaterializeResult:
    config = expansion_config.load()
    horizon = config.validation_horizon_days
    with duckdb.get_connection() as con:
        rows = catalogue_rows(con, health=health_config.load())
        renewals = con.execute(CHECK_IN_RENEWALS_SQL).df()
        impact = check_in_impact(renewals)
        as_of = con.execute(f"SELECT {LAST_DATA_DAY}").fetchall()[0][0]
        start = as_of - dt.timedelta(days=horizon) if as_of else None
        accounts = (con.execute(check_in_accounts_sql(start, signals.outcomes_sql(config, [start]))).df()
                    if start else pd.DataFrame(columns=["account_id", "check_ins_90d", "expanded"]))
        expansion = check_in_expansion_impact(accounts, start, horizon)
        impact_rows = [tuple(r[c] for c in COLUMNS) for r in (impact["row"], expansion["row"])]
        frame = pd.DataFrame([*rows, *impact_rows], columns=COLUMNS)
        count = replace_table(con, "marts.account_management_kpis", "SELECT * FROM frame", frame=frame)
    return MaterializeResult(metadata={
        "dagster/row_count": count, "as_of": str(as_of),
        "kpis": MetadataValue.md(frame.to_markdown(index=False)),
        "check_in_impact": MetadataValue.md(impact["comparison"]["finding"]),
        "check_in_impact_expansion": MetadataValue.md(expansion["finding"]),
    })


expansion_assets = [expansion_signals, expansion_forecast, expansion_forecast_accuracy, account_management_kpis]
