"""Risk heatmap: accounts x the five risk dimensions (100 minus the health component). A row opens the drill."""

import streamlit as st

from csm_analytics.workspace import ui

HEATMAP_ROWS = 300
DIMENSIONS = ["payroll_accuracy", "payment_health", "engagement", "growth", "sentiment"]

ws = ui.page_header("Risk heatmap", "Risk = 100 minus the health component; blank = no data. Select a row to open the account.")
risk = ws.query("risk_heatmap", order="overall_risk DESC NULLS LAST, arr DESC, account_id")
dims = [d for d in DIMENSIONS if d in risk.columns]
has = not risk.empty
ui.headline([("Accounts", ui.fmt_num(len(risk))),
             ("Average risk", ui.fmt_num(risk["overall_risk"].mean() if has else None, 1)),
             ("Risk ≥ 50", ui.fmt_num(int((risk["overall_risk"] >= 50).sum()) if has else 0)),
             ("ARR with risk ≥ 50", ui.fmt_money(risk.loc[risk["overall_risk"] >= 50, "arr"].sum() if has else None)),
             ("Highest risk", ui.fmt_num(risk["overall_risk"].max() if has else None, 1))])
if not has:
    st.info("No account scored in this snapshot.")
    st.stop()
columns = ["account_id", "account_name", "csm_id", "arr", *dims, "overall_risk"]
frame = risk[[c for c in columns if c in risk.columns]].head(HEATMAP_ROWS).reset_index(drop=True)
if len(risk) > HEATMAP_ROWS:
    st.caption(f"The {HEATMAP_ROWS} riskiest of {len(risk):,} accounts.")
styled = frame.style.background_gradient(cmap="Reds", subset=[*dims, "overall_risk"], vmin=0, vmax=100).format(
    precision=1, na_rep="").format({"arr": "${:,.0f}"})
picked = st.dataframe(styled, hide_index=True, on_select="rerun", selection_mode="single-row", key="heatmap",
                      height=min(len(frame), 25) * 35 + 40)
rows = picked.selection.rows if picked is not None and hasattr(picked, "selection") else []
if rows:
    st.switch_page("views/account.py", query_params={"account": frame.loc[rows[0], "account_id"]})
choice = st.selectbox("Or pick an account", frame["account_id"], index=None, placeholder="account id")
if choice:
    st.switch_page("views/account.py", query_params={"account": choice})
