"""Shared page furniture: the current user's data handle, the freshness line, the headline numbers.

Text from the data is only ever passed to Streamlit as data (st.dataframe, st.metric, st.text) or escaped
Markdown; no page lets raw HTML through.
"""

from __future__ import annotations

import math
import re

import pandas as pd
import streamlit as st

from csm_analytics.workspace.data_access import WorkspaceData

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def md_escape(text) -> str:
    """Data text safe inside Markdown: every Markdown/HTML special character backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def data() -> WorkspaceData:
    return st.session_state["_workspace_data"]


def page_header(title: str, caption: str | None = None) -> WorkspaceData:
    ws = data()
    st.title(title)
    fresh = ws.freshness()
    st.caption(fresh.label())
    if fresh.stale:
        st.warning(f"This snapshot is {fresh.age_hours:.0f} hours old: the nightly refresh may have failed. "
                   "Check the Dagster UI, or run `csm-analytics materialize`.")
    if caption:
        st.caption(caption)
    return ws


def fmt_money(value) -> str:
    """Whole dollars; millions as $1.23M so a headline number fits its column."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return "n/a"
    return f"${value / 1e6:,.2f}M" if abs(value) >= 1e6 else f"${value:,.0f}"


def fmt_num(value, digits: int = 0) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    return f"{value:,.{digits}f}"


def fmt_pct(value, digits: int = 1) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    return f"{100 * value:.{digits}f} %"


def headline(numbers: list[tuple[str, str]]) -> None:
    """About five numbers that lead the page."""
    for col, (label, value) in zip(st.columns(len(numbers)), numbers):
        col.metric(label, value)


MONEY = re.compile(r"(^|_)(arr|mrr|amount|revenue_at_risk)$|_arr_|^(pipeline|weighted)_|forecast$")


def column_config(frame: pd.DataFrame) -> dict:
    """Dates without a time shown as dates, money columns in dollars."""
    config = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column):
            values = column.dropna()
            if values.empty or (values.dt.normalize() == values).all():
                config[name] = st.column_config.DateColumn(format="YYYY-MM-DD")
        elif pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column) and MONEY.search(str(name)):
            config[name] = st.column_config.NumberColumn(format="dollar")
    return config


TABLE_ROWS = 1000


def table(frame: pd.DataFrame, empty: str = "Nothing to show.", limit: int = TABLE_ROWS, **kwargs) -> None:
    """A data table; at most `limit` rows reach the browser (the headline numbers count them all)."""
    if frame is None or frame.empty:
        st.info(empty)
    else:
        if len(frame) > limit:
            st.caption(f"Showing the first {limit:,} of {len(frame):,} rows.")
            frame = frame.head(limit)
        st.dataframe(frame, hide_index=True, column_config=kwargs.pop("column_config", None) or column_config(frame),
                     **kwargs)


def account_link(account_id: str, label: str | None = None) -> None:
    st.page_link("views/account.py", label=label or f"Open {account_id}", query_params={"account": account_id})
