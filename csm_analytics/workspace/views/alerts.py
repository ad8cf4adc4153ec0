"""Alerts and actions: open alerts with their SLA clock and ack / snooze / dismiss; overdue QBR items; stale plans."""

import datetime as dt

import streamlit as st

from csm_analytics.lib.actions_store import InvalidAction
from csm_analytics.workspace import ui
from csm_analytics.workspace.views.common import item_id, open_action_items, open_alerts, side_actions

ws = ui.page_header("Alerts & actions")
alerts = open_alerts(ws)
overdue = open_action_items(ws, overdue_only=True)
stale = ws.query("account_plan_status", "plan_status <> 'current'", order="days_since_update DESC NULLS FIRST, account_id")
_, store_warning = side_actions(ws)
if store_warning:
    st.error(store_warning)
past_sla = int(alerts["sla_clock"].str.endswith("OVERDUE").sum()) if not alerts.empty else 0
ui.headline([("Open alerts", ui.fmt_num(len(alerts))),
             ("Critical", ui.fmt_num(int((alerts["severity"] == "critical").sum()) if not alerts.empty else 0)),
             ("Past SLA", ui.fmt_num(past_sla)),
             ("Overdue QBR actions", ui.fmt_num(len(overdue))), ("Stale account plans", ui.fmt_num(len(stale)))])

st.subheader("Open alerts")
shown = ["alert_key", "severity", "account_id", "event_date", "headline", "sla_clock"]
ui.table(alerts[[c for c in shown if c in alerts.columns]] if not alerts.empty else alerts, "No open alert.")
if not alerts.empty:
    with st.form("alert_action", clear_on_submit=True):
        key = st.selectbox("Alert", alerts["alert_key"].head(ui.TABLE_ROWS).tolist())
        action = st.radio("Action", ["acknowledge", "snooze", "dismiss"], horizontal=True)
        until = st.date_input("Snooze until", value=ws.as_of + dt.timedelta(days=7))
        reason = st.text_input("Reason (required to dismiss)")
        if st.form_submit_button("Save"):
            account = alerts.loc[alerts["alert_key"] == key, "account_id"].iloc[0]
            try:
                ws.record(action, account, alert_key=key, reason=reason,
                          snooze_until=until if action == "snooze" else None)
                st.success(ui.md_escape(f"{action} recorded for {key}."))
                st.rerun()
            except InvalidAction as exc:
                st.error(ui.md_escape(f"Not saved: {exc}."))

st.subheader("Overdue QBR action items")
ui.table(overdue[["account_id", "qbr_date", "action", "due_date"]] if not overdue.empty else overdue,
         "No overdue QBR action item.")
if not overdue.empty:
    with st.form("item_done", clear_on_submit=True):
        labels = {f"{r['account_id']} · {r['action']} (due {r['due_date']:%Y-%m-%d})": (r["account_id"], item_id(r))
                  for _, r in overdue.head(ui.TABLE_ROWS).iterrows()}
        choice = st.selectbox("Action item", list(labels))
        if st.form_submit_button("Mark done"):
            account, item = labels[choice]
            ws.record("action_item_done", account, item_id=item)
            st.rerun()

st.subheader("Stale account plans")
ui.table(stale[["account_id", "tier", "last_updated", "days_since_update", "plan_status"]] if not stale.empty else stale,
         "Every required account plan is current.")
