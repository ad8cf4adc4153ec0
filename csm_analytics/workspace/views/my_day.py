"""My day: which accounts need attention today, which are at risk and renewing, which actions are open."""

import streamlit as st

from csm_analytics.workspace import ui
from csm_analytics.workspace.views.common import open_action_items, open_alerts

ws = ui.page_header("My day")
brief = ws.query("daily_brief", order="priority")
at_risk = ws.query("accounts", "band = 'At risk' AND days_to_renewal BETWEEN 0 AND 90", order="renewal_date, account_id",
                   columns="account_id, account_name, health_score, arr, renewal_date, churn_probability, revenue_at_risk")
actions = open_action_items(ws)
alerts = open_alerts(ws)
ui.headline([("Accounts in book", ui.fmt_num(ws.scalar("accounts", "count(*)"))),
             ("Need attention today", ui.fmt_num(len(brief))),
             ("At risk, renewing ≤ 90 days", ui.fmt_num(len(at_risk))),
             ("Open action items", ui.fmt_num(len(actions))),
             ("Open alerts", ui.fmt_num(len(alerts)))])

st.subheader("Which of my accounts need attention today?")
brief_columns = ["account", "health_band", "arr", "renewal_date", "last_activity_date", "open_actions", "reason"]
if ws.user.role != "csm":  # a manager sees whose account it is; still seven columns
    brief_columns = ["csm_id", "account", "health_band", "arr", "renewal_date", "open_actions", "reason"]
ui.table(brief[[c for c in brief_columns if c in brief.columns]] if not brief.empty else brief,
         "No account needs attention today.")

st.subheader("Which are at risk of churning?")
st.caption("Band At risk and renewing within 90 days, soonest renewal first.")
ui.table(at_risk, "No At-risk account renews within 90 days.")

st.subheader("What actions do I have open?")
ui.table(actions[["account_id", "action", "qbr_date", "due_date", "status"]] if not actions.empty else actions,
         "No open QBR action items.")
