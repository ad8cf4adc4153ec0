"""One asset per canonical raw table, validated in DuckDB SQL against its pandera model.

Valid rows are staged; the rest go to `raw.rejected_rows`. A feed blocks when the quarantined share
exceeds `RawDataResource.max_rejected_share`, or a required table is empty: the staged rows are then
discarded, `raw.<table>` keeps its last good load, the check fails with ERROR and the step fails, so
nothing downstream runs on it. Below the limit the check warns and the staged rows replace the table.
"""

from __future__ import annotations

import datetime as dt
import warnings

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)
from dagster_duckdb import DuckDBResource

from csm_analytics.canonical.descriptions import column_description
from csm_analytics.canonical.schemas import CANONICAL_TABLES
from csm_analytics.lib.metadata import preview, table_md
from csm_analytics.lib.warehouse import WAREHOUSE_POOL
from csm_analytics.sources.resources import RawDataResource
from csm_analytics.sources.validation import (
    SourceDataError,
    load_table,
    quarantine_summary,
    refresh_rejected_view,
)

QUARANTINE_CHECK = "rows_quarantined"


def _table_schema(model, table: str):
    """The model's columns, types and constraints (via dagster-pandera), each with its description."""
    from dagster import TableColumn, TableSchema
    from dagster_pandera import pandera_schema_to_dagster_type

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = pandera_schema_to_dagster_type(model).metadata["schema"].schema
    return TableSchema(columns=[
        TableColumn(name=c.name, type=c.type, constraints=c.constraints, tags=c.tags,
                    description=column_description(table, c.name) or c.description)
        for c in schema.columns], constraints=schema.constraints)


def quarantine_check_result(rows_read: int, rows_rejected: int, max_share: float, reasons,
                            blocked: str | None = None) -> AssetCheckResult:
    share = rows_rejected / rows_read if rows_read else 0.0
    return AssetCheckResult(
        check_name=QUARANTINE_CHECK,
        passed=rows_rejected == 0 and not blocked,
        severity=AssetCheckSeverity.ERROR if blocked else AssetCheckSeverity.WARN,
        description=blocked or (f"{rows_rejected} of {rows_read} rows quarantined ({share:.2%}); "
                                f"within the {max_share:.2%} limit"),
        metadata={"rows_rejected": rows_rejected, "rejected_share": share,
                  "top_reasons": table_md(reasons, ["reason", "rows"])},
    )


def build_source_asset(table: str) -> AssetsDefinition:
    """raw.<table> and raw.rejected_<table>, written together by one step: the valid rows and the rejected ones."""
    model, keys, parents = CANONICAL_TABLES[table]
    key = AssetKey(["raw", table])
    quarantine_key = AssetKey(["raw", f"rejected_{table}"])
    first_line = (model.__doc__ or f"Canonical raw table `{table}`.").strip().splitlines()[0]

    @multi_asset(
        name=f"raw__{table}",
        pool=WAREHOUSE_POOL,
        specs=[
            AssetSpec(key, group_name="sources", kinds={"duckdb", "parquet"},
                      deps=[AssetKey(["raw", p]) for p in sorted(set(parents.values()))],
                      description=first_line + f" Key: {', '.join(keys)}. Bad rows go to raw.rejected_{table}.",
                      metadata={"dagster/table_name": f"raw.{table}",
                                "dagster/column_schema": _table_schema(model, table)}),
            AssetSpec(quarantine_key, group_name="sources", kinds={"duckdb"},
                      description=f"The rows of the latest {table} file that failed validation: payload, reasons, "
                                  "file and row number (raw.rejected_rows unions every feed's).",
                      metadata={"dagster/table_name": f"raw.rejected_{table}"}),
        ],
        check_specs=[AssetCheckSpec(QUARANTINE_CHECK, asset=key, blocking=True,
                                    description="Rows that failed validation and were quarantined.")],
    )
    def _source(duckdb: DuckDBResource, raw_data: RawDataResource):
        loaded_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        with duckdb.get_connection() as con:
            try:
                result = load_table(con, table, raw_data.path, loaded_at, raw_data.max_rejected_share)
            except SourceDataError as exc:
                raise Failure(description=str(exc), metadata={"table": table}) from exc
            sample = None if result.blocked else preview(con, f"SELECT * FROM raw.{table}", 5)
        check = quarantine_check_result(result.rows_read, result.rows_rejected, raw_data.max_rejected_share,
                                        result.top_reasons, result.blocked)
        # The quarantine is written in both cases: a blocked feed's rejected rows say why it was blocked.
        quarantined = MaterializeResult(asset_key=quarantine_key, metadata={
            "dagster/row_count": result.rows_rejected, "source_file": MetadataValue.path(result.source_file)})
        if result.blocked:
            yield quarantined
            # The staged rows were discarded: raw.<table> still holds its last good load. Report the check,
            # then fail the step, so no materialization claims a table that did not change.
            yield check
            raise Failure(description=result.blocked, metadata={"table": table, "rows_read": result.rows_read,
                                                                "rows_rejected": result.rows_rejected})
        yield MaterializeResult(
            asset_key=key,
            metadata={
                "dagster/row_count": result.rows_loaded,
                "dagster/column_schema": _table_schema(model, table),
                "source_file": MetadataValue.path(result.source_file),
                "rows_read": result.rows_read,
                "rows_rejected": result.rows_rejected,
                "ignored_columns": ", ".join(result.ignored_columns) or "none",
                "preview": sample,
            },
            check_results=[check],
        )
        yield quarantined

    return _source


REJECTED_KEY = AssetKey(["raw", "rejected_rows"])


@asset(key=REJECTED_KEY, pool=WAREHOUSE_POOL, group_name="sources", kinds={"duckdb"},
       deps=[AssetKey(["raw", f"rejected_{t}"]) for t in CANONICAL_TABLES],
       description="Every quarantined row of every feed, with its table, reasons, file and row number: a view over "
                   "the raw.rejected_<table> tables, so one query answers 'what was rejected, and why'.",
       metadata={"dagster/table_name": "raw.rejected_rows"})
def rejected_rows(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        feeds = refresh_rejected_view(con)
        counts = quarantine_summary(con) if feeds else []
    return MaterializeResult(metadata={
        "dagster/row_count": sum(n for _, _, n in counts), "feeds": feeds,
        "by_file": table_md(counts, ["table", "file", "rows quarantined"])})


source_assets = [build_source_asset(table) for table in CANONICAL_TABLES] + [rejected_rows]
