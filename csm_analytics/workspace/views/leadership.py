"""Leadership (VP CS, CS ops): KPIs against targets, GRR/NRR by CSM and segment, forecast accuracy, alert quality,
the rebalancing proposal and data adoption."""

import streamlit as st

from csm_analytics.portfolio.coaching import login_sources
from csm_analytics.workspace import ui

ws = ui.page_header("Leadership")
kpis = ws.query("account_management_kpis")
ops = ws.query("cs_ops_kpis")
retention = ws.query("revenue_retention")
adoption = ws.query("adoption", order="csm_id")
sla = ws.query("alert_response_sla")


critical = sla[sla["severity"] == "critical"] if not sla.empty else sla
ui.headline([("Accounts", ui.fmt_num(ws.scalar("accounts", "count(*)"))),
             ("ARR", ui.fmt_money(ws.scalar("accounts", "sum(arr)"))),
             ("Revenue at risk", ui.fmt_money(ws.scalar("accounts", "sum(revenue_at_risk)"))),
             ("Critical alerts within SLA", ui.fmt_pct(critical["pct_within_sla"].iloc[0] if not critical.empty else None)),
             ("CSMs adopting (≥ 3 logins/week)", ui.fmt_num(int(adoption["adopted"].sum()) if not adoption.empty else 0))])
tabs = st.tabs(["KPIs", "Retention", "Forecast accuracy", "Alert quality", "Rebalancing", "Adoption"])
with tabs[0]:
    ui.table(kpis, "No account-management KPI.")
    ui.table(ops, "No CS-ops KPI.")
with tabs[1]:
    ui.table(retention, "No retention figures.")
with tabs[2]:
    st.markdown("**Renewal forecast**")
    ui.table(ws.query("renewal_forecast_accuracy"))
    st.markdown("**Expansion forecast**")
    ui.table(ws.query("expansion_forecast_accuracy"))
with tabs[3]:
    ui.table(ws.query("alert_quality"))
    ui.table(sla)
with tabs[4]:
    ui.table(ws.query("rebalancing_plan"), "No rebalancing proposed.")
with tabs[5]:
    st.caption("Adopted = at least 3 logins in each of the last four weeks (docs/metrics.md). From a CSM's first "
               "workspace login on, the real logins replace the simulated dashboard_logins (login_source: workspace, "
               "simulated, or mixed when the switch fell inside the four weeks).")
    if not adoption.empty:
        st.caption(f"Logins: {login_sources(adoption['login_source'])}.")
    ui.table(adoption)
