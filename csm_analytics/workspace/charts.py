"""Charts drawn with Altair (shipped with Streamlit) where `st.line_chart` cannot show what a page needs."""

from __future__ import annotations

import altair as alt
import pandas as pd

THRESHOLD_COLOURS = {"Healthy from": "#2ca02c", "Watch from": "#f5a623"}
CHANGE_COLOUR = "#7f7f7f"


def health_history(history: pd.DataFrame, healthy_from: float | None, watch_from: float | None,
                   change_days: list) -> alt.LayerChart:
    """The score over the window, the band thresholds as dashed horizontal lines, and each day the health config
    changed as a grey vertical line: a jump on such a day may be the new weights, not the account."""
    days = pd.DataFrame({"as_of_date": pd.to_datetime(history["as_of_date"]), "health_score": history["health_score"]})
    x = alt.X("as_of_date:T", title=None)
    layers = [alt.Chart(days).mark_line(color="#1f77b4").encode(
        x, alt.Y("health_score:Q", title="health", scale=alt.Scale(domain=[0, 100])),
        tooltip=[alt.Tooltip("as_of_date:T", title="day"), alt.Tooltip("health_score:Q", title="health")])]
    thresholds = pd.DataFrame([(name, value) for name, value in
                               (("Healthy from", healthy_from), ("Watch from", watch_from)) if value is not None],
                              columns=["threshold", "value"])
    if not thresholds.empty:
        layers.append(alt.Chart(thresholds).mark_rule(strokeDash=[6, 4]).encode(
            y="value:Q", color=alt.Color("threshold:N", scale=alt.Scale(domain=list(THRESHOLD_COLOURS),
                                                                         range=list(THRESHOLD_COLOURS.values())),
                                         legend=alt.Legend(title=None, orient="bottom")),
            tooltip=["threshold:N", "value:Q"]))
    if change_days:
        changes = pd.DataFrame({"as_of_date": pd.to_datetime(pd.Series(change_days)),
                                "event": "health config changed"})
        layers.append(alt.Chart(changes).mark_rule(color=CHANGE_COLOUR, strokeDash=[2, 2], size=2).encode(
            x="as_of_date:T", tooltip=[alt.Tooltip("as_of_date:T", title="health config changed")]))
    return alt.layer(*layers).properties(height=260)
