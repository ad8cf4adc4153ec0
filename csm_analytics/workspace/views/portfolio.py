"""Portfolio overview: clients, workers, ARR/MRR, average health; clients by band and the 12-week trend."""

import streamlit as st

from csm_analytics.workspace import ui

BAND_COLORS = {"At risk": "#d62728", "Healthy": "#2ca02c", "Watch": "#f5a623"}

ws = ui.page_header("Portfolio")
totals = ws.query("accounts", columns="count(*) AS clients, sum(worker_count) AS workers, sum(arr) AS arr, "
                                      "sum(mrr) AS mrr, avg(health_score) AS avg_health").iloc[0]
ui.headline([("Clients", ui.fmt_num(totals["clients"])), ("Total workers", ui.fmt_num(totals["workers"])),
             ("ARR", ui.fmt_money(totals["arr"])), ("MRR", ui.fmt_money(totals["mrr"])),
             ("Average health", ui.fmt_num(totals["avg_health"], 1))])

left, right = st.columns(2)
with left:
    st.subheader("Clients by band")
    bands = ws.query("accounts", columns="band, count(*) AS clients, round(sum(arr), 0) AS arr",
                     where="band IS NOT NULL", group="band",
                     order="CASE band WHEN 'Healthy' THEN 1 WHEN 'Watch' THEN 2 ELSE 3 END")
    ui.table(bands)
with right:
    st.subheader("Clients by band, last 12 weeks")
    weeks = ws.query("band_weeks", columns="week_end, band, sum(accounts) AS clients", group="week_end, band",
                     order="week_end, band")
    if not weeks.empty:
        lines = weeks.pivot(index="week_end", columns="band", values="clients")
        st.line_chart(lines, color=[BAND_COLORS.get(b, "#888888") for b in lines.columns])
    else:
        st.info("No band history in this snapshot.")

with st.expander("All clients"):
    ui.table(ws.query("accounts", columns="account_id, account_name, tier, segment, csm_id, health_score, band, arr, "
                                          "worker_count, renewal_date", order="health_score NULLS LAST, account_id"))
