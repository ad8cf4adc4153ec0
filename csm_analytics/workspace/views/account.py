"""Account drill: points lost by component, 90-day history with band thresholds, what changed, churn, trends,
tickets, renewal, expansion, QBR history, notes, and the QBR pack / meeting brief."""

import datetime as dt
from pathlib import Path

import pandas as pd
import streamlit as st

from csm_analytics.health.config import COMPONENTS
from csm_analytics.lib.actions_store import InvalidAction
from csm_analytics.workspace import charts, ui
from csm_analytics.workspace.views.common import side_actions

ws = ui.page_header("Account drill")
wanted = st.query_params.get("account", "")
if not wanted:
    choices = ws.query("accounts", columns="account_id, account_name", order="account_id", limit=ui.TABLE_ROWS + 1)
    if choices.empty:
        st.info("No account in your book.")
        st.stop()
    if len(choices) > ui.TABLE_ROWS:  # a whole company's accounts: type the id rather than scroll a list
        wanted = st.text_input("Account id", placeholder="e.g. ACC0000001").strip()
        if not wanted:
            st.stop()
    else:
        names = dict(zip(choices["account_id"], choices["account_name"]))
        wanted = st.selectbox("Account", choices["account_id"], format_func=lambda a: f"{a} · {names[a]}")
acc = ws.account(wanted)  # NotFound for unknown ids and for accounts outside the user's book
account_id = acc["account_id"]
st.subheader(ui.md_escape(f"{account_id} · {acc['account_name']}"))
st.caption(ui.md_escape(f"{acc['tier']} · {acc['segment']} · CSM {acc['csm_name'] or acc['csm_id']}"))
ui.headline([(f"Health ({acc['band']})", ui.fmt_num(acc["health_score"], 1)),
             ("Churn probability", ui.fmt_pct(acc["churn_probability"])),
             ("Revenue at risk", ui.fmt_money(acc["revenue_at_risk"])), ("ARR", ui.fmt_money(acc["arr"])),
             ("Renews in", f"{ui.fmt_num(acc['days_to_renewal'])} days")])

history = ws.query("health_history", "account_id = ?", [account_id], order="as_of_date")
now = history[history["as_of_date"].dt.date == ws.as_of] if not history.empty else history
left, right = st.columns(2)
with left:
    st.markdown("**Points lost by component**")
    if not now.empty:
        row = now.iloc[0]
        lost = pd.DataFrame({"component": list(COMPONENTS), "points": [row[f"pts_{c}"] for c in COMPONENTS],
                             "points_lost": [row[f"lost_{c}"] for c in COMPONENTS]})
        lost = lost.dropna(subset=["points_lost"]).sort_values(["points_lost", "component"], ascending=[False, True])
        ui.table(lost)
with right:
    st.markdown("**Health, last 90 days, with the band thresholds**")
    bands = ws.query("health_bands")
    if not history.empty:
        first = history["as_of_date"].min()
        changed = ws.query("health_config_changes", "as_of_date >= ?", [first.date()], order="as_of_date")
        change_days = [] if changed.empty else [d.date() for d in changed["as_of_date"]]
        st.altair_chart(charts.health_history(
            history, None if bands.empty else float(bands["healthy_from"].iloc[0]),
            None if bands.empty else float(bands["watch_from"].iloc[0]), change_days), width="stretch")
        if change_days:
            st.caption("Grey line: the health config changed on " + ", ".join(map(str, change_days))
                       + " (scores from that day on use the new config; the threshold lines are the current config's).")

st.markdown("**What changed in 30 days**")
then = history[history["as_of_date"].dt.date == ws.as_of - dt.timedelta(days=30)] if not history.empty else history
if now.empty or then.empty:
    st.info("No score 30 days ago: the account was not active then.")
else:
    a, b = then.iloc[0], now.iloc[0]
    moved = pd.DataFrame({"component": list(COMPONENTS),
                          "points_30d_ago": [a[f"pts_{c}"] for c in COMPONENTS],
                          "points_now": [b[f"pts_{c}"] for c in COMPONENTS]})
    moved["change"] = (moved["points_now"].fillna(0) - moved["points_30d_ago"].fillna(0)).round(2)
    st.text(f"Health {a['health_score']:.1f} → {b['health_score']:.1f} ({b['health_score'] - a['health_score']:+.1f})")
    ui.table(moved.reindex(moved["change"].abs().sort_values(ascending=False).index))

st.markdown("**Churn: probability, drivers, revenue at risk**")
churn = ws.query("churn_predictions", "account_id = ?", [account_id], order="as_of_date DESC", limit=1)
if churn.empty:
    st.info("No churn prediction for this account.")
else:
    c = churn.iloc[0]
    lines = [f"Probability {ui.fmt_pct(c['churn_probability'])} (as of {c['as_of_date']:%Y-%m-%d})",
             f"Revenue at risk {ui.fmt_money(acc['revenue_at_risk'])} = probability x ARR {ui.fmt_money(acc['arr'])}"]
    for field, label in (("risk_level", "Risk level"), ("early_warning", "Early warning"), ("top_drivers", "Top drivers")):
        if field in churn.columns and pd.notna(c[field]):
            lines.append(f"{label}: {c[field]}")
    st.text("\n".join(lines))

trends = ws.query("account_trends", "account_id = ?", [account_id], order="month")
if not trends.empty:
    t1, t2 = st.columns(2)
    t1.markdown("**Workers, monthly**")
    t1.line_chart(trends.set_index("month")[["worker_count"]])
    t2.markdown("**ARR, month end**")
    t2.line_chart(trends.set_index("month")[["arr"]])

tabs = st.tabs(["Interactions", "Tickets", "Renewal", "Expansion", "QBRs", "Notes", "Files"])
with tabs[0]:
    ui.table(ws.query("interactions", "account_id = ?", [account_id], order="activity_date DESC"), "No interaction.")
with tabs[1]:
    ui.table(ws.query("tickets", "account_id = ? AND resolved_at IS NULL", [account_id], order="opened_at DESC"),
             "No open ticket.")
with tabs[2]:
    st.text(f"Renewal date: {acc['renewal_date']:%Y-%m-%d}" if pd.notna(acc["renewal_date"]) else "No contract in force.")
    st.text(f"Licensed seats: {ui.fmt_num(acc['licensed_seats'])} · workers: {ui.fmt_num(acc['worker_count'])}")
with tabs[3]:
    ui.table(ws.query("expansion_signals", "account_id = ?", [account_id]), "No expansion signal.")
with tabs[4]:
    ui.table(ws.query("qbrs", "account_id = ?", [account_id], order="qbr_date DESC",
                      columns="qbr_id, qbr_date, topics, action_items, attendee_roles, nps_at_qbr"), "No QBR held.")
    ui.table(ws.query("qbr_action_items", "account_id = ?", [account_id], order="due_date DESC",
                      columns="qbr_date, action, due_date, status"), "No QBR action item.")
with tabs[5]:
    actions, warning = side_actions(ws)
    if warning:
        st.error(warning)
    notes = actions[(actions["account_id"] == account_id)] if not actions.empty else actions
    ui.table(notes[["recorded_at", "username", "action", "alert_key", "reason", "note"]] if not notes.empty else notes,
             "No note or action yet.")
    with st.form("note", clear_on_submit=True):
        text = st.text_area("Add a note")
        if st.form_submit_button("Save note"):
            try:
                ws.record("note", account_id, note=text)
                st.rerun()
            except InvalidAction:
                st.error("A note needs some text.")
with tabs[6]:
    pipeline = ws.query("qbr_pipeline", "account_id = ?", [account_id])
    pack = pipeline["pack_path"].iloc[0] if not pipeline.empty and "pack_path" in pipeline else None
    if pack and pd.notna(pack) and Path(pack).is_file():
        st.download_button("Download the QBR pack (HTML)", Path(pack).read_bytes(), file_name=Path(pack).name,
                           mime="text/html")
    else:
        st.write("No QBR pack yet. Build one with:")
        st.code(f"csm-analytics qbr pack {account_id}", language="bash")
    st.write("Meeting brief (one page before a client meeting):")
    st.code(f"csm-analytics brief {account_id}", language="bash")
