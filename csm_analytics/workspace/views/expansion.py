"""Expansion: ranked opportunities with the strongest signal and the recommended action."""

import streamlit as st

from csm_analytics.workspace import ui

ws = ui.page_header("Expansion")
signals = ws.query("expansion_signals", order="rank")
has = not signals.empty
ui.headline([("Ranked accounts", ui.fmt_num(len(signals))),
             ("Estimated expansion ARR", ui.fmt_money(signals["estimated_expansion_arr"].sum() if has else None)),
             ("Top readiness", ui.fmt_num(signals["readiness_index"].max() if has else None, 1)),
             ("Most common signal", signals["strongest_signal"].mode().iloc[0] if has and signals["strongest_signal"].notna().any() else "n/a"),
             ("Accounts with a signal", ui.fmt_num(int(signals["strongest_signal"].notna().sum()) if has else 0))])
st.subheader("Ranked opportunities")
shown = ["rank", "account_id", "readiness_index", "estimated_expansion_arr", "strongest_signal", "recommended_action"]
ui.table(signals[[c for c in shown if c in signals.columns]] if has else signals, "No expansion signal.")
with st.expander("All signal details"):
    ui.table(signals)
