"""QBR pipeline: due this quarter, prep status, pack readiness."""

import streamlit as st

from csm_analytics.workspace import ui

ws = ui.page_header("QBR pipeline")
pipeline = ws.query("qbr_pipeline", order="next_qbr_due, account_id")
has = not pipeline.empty


def count(column, value) -> str:
    return ui.fmt_num(int((pipeline[column] == value).sum()) if has else 0)


ui.headline([("Overdue", count("due_window", "overdue")), ("Due this quarter", count("due_window", "this quarter")),
             ("Due next quarter", count("due_window", "next quarter")), ("Packs ready", count("pack_status", "ready")),
             ("Packs missing", count("pack_status", "missing"))])
st.subheader("Due this quarter and overdue")
shown = ["account_id", "csm_id", "tier", "last_qbr_date", "next_qbr_due", "due_window", "pack_status", "pack_as_of"]
due = pipeline[pipeline["due_window"].isin(["overdue", "this quarter"])] if has else pipeline
ui.table(due[[c for c in shown if c in due.columns]] if has else due, "No QBR due this quarter.")
with st.expander("Next quarter"):
    later = pipeline[pipeline["due_window"] == "next quarter"] if has else pipeline
    ui.table(later[[c for c in shown if c in later.columns]] if has else later)
