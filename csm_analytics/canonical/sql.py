"""The pandera models compiled to SQL: column types, nullability and checks, so files of any size are
validated in DuckDB without passing through pandas; and the Arrow schema a file of each table is written with."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa

from csm_analytics.canonical.schemas import EARLIEST_DATE, ID_PATTERN, LATEST_DATE

# The only text a CSV cell may hold for each typed column. DuckDB's casts are lenient ('3.5' -> 4 in a BIGINT,
# '0x10' -> 16, a '+02:00' offset dropped, a 5-digit year): any other spelling is quarantined, never coerced.
TEXT_FORMS = {
    "BIGINT": r"^[+-]?[0-9]+$",
    "DOUBLE": r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$",
    "BOOLEAN": r"^(?i)(true|false|t|f|1|0)$",
    "DATE": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "TIMESTAMP": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?$",
}
TEXT_FORM_HINTS = {
    "BIGINT": "a whole number in decimal digits", "DOUBLE": "a decimal number", "BOOLEAN": "true or false",
    "DATE": "YYYY-MM-DD", "TIMESTAMP": "YYYY-MM-DD HH:MM[:SS[.ffffff]] in UTC, without an offset",
}


@dataclass(frozen=True)
class SqlColumn:
    name: str
    sql_type: str
    nullable: bool
    checks: tuple[tuple[str, str], ...]  # (SQL predicate over {c}, reason when it is false)


def sql_literal(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, (dt.date, dt.datetime)):
        return f"'{value.isoformat()}'"
    return repr(value)


def _check_sql(check) -> tuple[str, str]:
    s = check.statistics
    name = check.name
    if name == "greater_than_or_equal_to":
        return f"{{c}} >= {sql_literal(s['min_value'])}", f"must be >= {s['min_value']}"
    if name == "greater_than":
        return f"{{c}} > {sql_literal(s['min_value'])}", f"must be > {s['min_value']}"
    if name == "less_than_or_equal_to":
        return f"{{c}} <= {sql_literal(s['max_value'])}", f"must be <= {s['max_value']}"
    if name == "less_than":
        return f"{{c}} < {sql_literal(s['max_value'])}", f"must be < {s['max_value']}"
    if name == "in_range":
        return (f"{{c}} BETWEEN {sql_literal(s['min_value'])} AND {sql_literal(s['max_value'])}",
                f"must be between {s['min_value']} and {s['max_value']}")
    if name == "isin":
        values = ", ".join(sql_literal(v) for v in s["allowed_values"])
        return f"{{c}} IN ({values})", f"must be one of {list(s['allowed_values'])}"
    if name == "str_matches" and s["pattern"] == ID_PATTERN:
        return (f"regexp_matches({{c}}, {sql_literal(ID_PATTERN)})",
                "must be a canonical id: a letter or digit, then letters, digits, '.', '_', ':' or '-' "
                "(no spaces or quotes, at most 64 characters)")
    if name == "str_matches":
        return f"regexp_matches({{c}}, {sql_literal(s['pattern'])})", f"must match {s['pattern']}"
    if name == "str_length":
        return (f"length({{c}}) BETWEEN {s['min_value']} AND {s['max_value']}",
                f"length must be between {s['min_value']} and {s['max_value']}")
    raise NotImplementedError(f"pandera check {name!r} has no SQL translation: add one in {__name__}")


def sql_columns(model) -> list[SqlColumn]:
    """The model's columns with their SQL type, nullability and checks compiled to SQL."""
    schema = model.to_schema()
    out = []
    for name, col in schema.columns.items():
        dtype = str(col.dtype)
        sql_type = (col.metadata or {}).get("sql") or {
            "int64": "BIGINT", "Int64": "BIGINT", "float64": "DOUBLE", "bool": "BOOLEAN", "boolean": "BOOLEAN",
            "str": "VARCHAR", "string": "VARCHAR", "object": "VARCHAR", "datetime64[ns]": "TIMESTAMP",
        }[dtype]
        out.append(SqlColumn(name, sql_type, bool(col.nullable), _generic_checks(sql_type) + tuple(_check_sql(c) for c in col.checks)))
    return out


def _generic_checks(sql_type: str) -> tuple[tuple[str, str], ...]:
    """Rules every column of a type carries. NaN and infinity need their own: in DuckDB `NaN > 0` is true."""
    if sql_type == "DOUBLE":
        return (("isfinite({c})", "must be a finite number (not NaN or infinity)"),)
    if sql_type in ("DATE", "TIMESTAMP"):
        return ((f"CAST({{c}} AS DATE) BETWEEN CAST({sql_literal(EARLIEST_DATE)} AS DATE) "
                 f"AND CAST({sql_literal(LATEST_DATE)} AS DATE)",
                 f"must be between {EARLIEST_DATE} and {LATEST_DATE}"),)
    return ()


SQL_TO_ARROW = {
    "VARCHAR": pa.string(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(), "TIMESTAMP": pa.timestamp("us"),
}


def arrow_schema(model) -> pa.Schema:
    """The Arrow schema of a canonical table, from its SQL types."""
    return pa.schema([(c.name, SQL_TO_ARROW[c.sql_type]) for c in sql_columns(model)])
