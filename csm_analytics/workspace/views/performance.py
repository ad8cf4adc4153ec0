"""My performance (a CSM) / Team (a manager, a leader): the scorecard, its 4-quarter trend, the peer benchmark
and the coaching findings."""

import streamlit as st

from csm_analytics.workspace import ui

ws = ui.data()
mine = ws.user.role == "csm"
ws = ui.page_header("My performance" if mine else "Team")
cards = ws.query("csm_scorecard", order="quarter_end, csm_id")
if cards.empty:
    st.info("No scorecard in this snapshot yet.")
    st.stop()
quarters = sorted(cards["quarter_end"].unique())[-4:]
latest = cards[cards["quarter_end"] == quarters[-1]]
if mine:
    row = latest.iloc[0]
    ui.headline([("Overall score", ui.fmt_num(row["overall_score"], 1)), ("Team average", ui.fmt_num(row["team_average"], 1)),
                 ("Peer rank", ui.fmt_num(row["peer_rank"])), ("Change vs last quarter", ui.fmt_num(row["change_vs_last_quarter"], 1)),
                 ("Portfolio health", ui.fmt_num(row["portfolio_health"], 1))])
else:
    ui.headline([("CSMs", ui.fmt_num(latest["csm_id"].nunique())), ("Average score", ui.fmt_num(latest["overall_score"].mean(), 1)),
                 ("Best score", ui.fmt_num(latest["overall_score"].max(), 1)), ("Lowest score", ui.fmt_num(latest["overall_score"].min(), 1)),
                 ("Average portfolio health", ui.fmt_num(latest["portfolio_health"].mean(), 1))])
st.subheader(f"Scorecard, quarter ending {quarters[-1]:%Y-%m-%d}")
shown = ["csm_id", "overall_score", "team_average", "peer_rank", "portfolio_health", "retention", "expansion",
         "activity_engagement", "customer_satisfaction", "efficiency"]
ui.table(latest[[c for c in shown if c in latest.columns]])
st.subheader("Trend over 4 quarters")
trend = cards[cards["quarter_end"].isin(quarters)].assign(
    quarter_end=lambda f: f["quarter_end"].dt.strftime("%Y-%m-%d"))  # one point per quarter on the axis
st.line_chart(trend.pivot_table(index="quarter_end", columns="csm_id", values="overall_score").assign(
    team_average=trend.groupby("quarter_end")["team_average"].first()))
st.subheader("Coaching findings")
ui.table(ws.query("coaching_insights"), "No coaching finding.")
