"""Every workspace page on the tiny hand-built snapshot (tiny_world.py), with hand-computed numbers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from csm_analytics.lib.actions_store import ActionsStore
from csm_analytics.workspace.charts import CHANGE_COLOUR
from csm_analytics_tests.test_workspace.conftest import APP, PASSWORD, metrics, texts

AS_OF_LINE = "Data as of 2026-06-30"

# (user, page) -> the page's lead numbers. C1 owns A1, A2; Mona manages C1 and C2 (A1-A3); the VP sees A1-A4.
EXPECTED = {
    ("c1", "my_day"): {"Accounts in book": "2", "Need attention today": "1", "At risk, renewing ≤ 90 days": "1",
                       "Open action items": "2", "Open alerts": "1"},
    ("c1", "portfolio"): {"Clients": "2", "Total workers": "70", "ARR": "$180,000", "MRR": "$15,000",
                          "Average health": "61.8"},  # (42.5 + 81) / 2
    ("c1", "alerts"): {"Open alerts": "1", "Critical": "1", "Past SLA": "1", "Overdue QBR actions": "1",
                       "Stale account plans": "1"},
    ("c1", "expansion"): {"Ranked accounts": "1", "Estimated expansion ARR": "$15,000", "Top readiness": "88.0",
                          "Most common signal": "seat_utilization", "Accounts with a signal": "1"},
    ("c1", "qbr_pipeline"): {"Overdue": "1", "Due this quarter": "1", "Due next quarter": "0", "Packs ready": "1",
                             "Packs missing": "1"},
    ("c1", "risk_heatmap"): {"Accounts": "2", "Average risk": "35.0", "Risk ≥ 50": "1", "ARR with risk ≥ 50": "$120,000",
                             "Highest risk": "50.0"},
    ("c1", "performance"): {"Overall score": "72.5", "Team average": "66.0", "Peer rank": "1",
                            "Change vs last quarter": "2.5", "Portfolio health": "61.8"},
    ("mona", "my_day"): {"Accounts in book": "3", "Need attention today": "2", "At risk, renewing ≤ 90 days": "1",
                         "Open action items": "2", "Open alerts": "2"},
    ("mona", "portfolio"): {"Clients": "3", "Total workers": "80", "ARR": "$204,000", "MRR": "$17,000",
                            "Average health": "62.8"},  # (42.5 + 81 + 65) / 3 = 62.83
    ("mona", "performance"): {"CSMs": "2", "Average score": "66.0", "Best score": "72.5", "Lowest score": "59.5",
                              "Average portfolio health": "63.4"},  # (61.8 + 65) / 2
    ("vp", "portfolio"): {"Clients": "4", "Total workers": "110", "ARR": "$240,000", "MRR": "$20,000",
                          "Average health": "60.9"},  # 243.5 / 4 = 60.875
    ("vp", "leadership"): {"Accounts": "4", "ARR": "$240,000", "Revenue at risk": "$59,400",  # 48,000 + 3,000 + 4,800 + 3,600
                           "Critical alerts within SLA": "70.0 %", "CSMs adopting (≥ 3 logins/week)": "1"},
}


@pytest.mark.parametrize("user,page", list(EXPECTED))
def test_page_leads_with_its_numbers_and_the_as_of_date(app_as, user, page):
    at = app_as(user, page)
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    assert metrics(at) == EXPECTED[(user, page)]
    assert any(c.value.startswith(AS_OF_LINE) and "snapshot published" in c.value for c in at.caption)


def test_account_drill_shows_points_lost_sorted_and_what_changed(app_as):
    at = app_as("c1", "account", account="A1")
    assert not at.exception and not at.error
    assert metrics(at) == {"Health (At risk)": "42.5", "Churn probability": "40.0 %", "Revenue at risk": "$48,000",
                           "ARR": "$120,000", "Renews in": "46 days"}
    lost = at.dataframe[0].value
    assert lost["component"].tolist()[:2] == ["usage", "payment"]  # 100 - 42.5 - 10 = 47.5 lost, then 10
    assert lost["points_lost"].tolist()[:2] == [47.5, 10.0]
    assert "Health 60.0 → 42.5 (-17.5)" in [t.value for t in at.text]
    assert ("Probability 40.0 % (as of 2026-06-30)\nRevenue at risk $48,000 = probability x ARR $120,000\n"
            "Top drivers: usage_trend") in [t.value for t in at.text]
    # the account name is data: escaped, never rendered as HTML or Markdown
    assert at.subheader[0].value == r"A1 · Acme \<b\>Corp\</b\>"


def _chart_layers(at) -> list[tuple[dict, pd.DataFrame]]:
    """The health chart's layers: (vega-lite layer spec, its data)."""
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    chart = at.get("vega_lite_chart")[0].proto
    data = {d.name: convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.datasets}
    return [(layer, data[layer["data"]["name"]]) for layer in json.loads(chart.spec)["layer"]]


def test_account_drill_marks_the_days_the_health_config_changed(app_as):
    """tiny_world: days before 2026-04-20 have no recorded version, cfg-a until 2026-06-09, cfg-b from 2026-06-10:
    one change day (the unknown-to-cfg-a step is not a change)."""
    at = app_as("c1", "account", account="A1")
    assert not at.exception and not at.error
    layers = _chart_layers(at)
    line, thresholds, changes = layers
    assert line[0]["mark"]["type"] == "line" and len(line[1]) == 90
    assert sorted(thresholds[1]["value"].tolist()) == [50.0, 75.0]
    assert changes[0]["mark"]["color"] == CHANGE_COLOUR
    assert [d.date() for d in pd.to_datetime(changes[1]["as_of_date"])] == [dt.date(2026, 6, 10)]
    assert any(c.value.startswith("Grey line: the health config changed on 2026-06-10 (") for c in at.caption)


def test_the_snapshot_publishes_only_real_config_changes(workspace_env):
    """From unknown (NULL) to cfg-a is not a change; cfg-a to cfg-b on 2026-06-10 is, once for all accounts."""
    import duckdb

    with duckdb.connect(str(workspace_env["serving"]), read_only=True) as con:
        assert con.execute("SELECT as_of_date, config_version, previous_version FROM health_config_changes").fetchall() == [
            (dt.date(2026, 6, 10), "cfg-b", "cfg-a")]


def test_adoption_uses_real_workspace_logins_where_they_exist(app_as, workspace_env):
    """tiny_world.REAL_LOGINS: C1 simulated 7 a week (adopted); C2 real from 05-20: 3, 3, 3, 2 (2.75 a week, not
    adopted although its simulated logins would be 7 a week); C3 switched on 06-20: weeks 0, 5, 7, 7 (mixed)."""
    import duckdb

    with duckdb.connect(str(workspace_env["serving"]), read_only=True) as con:
        rows = con.execute("SELECT csm_id, logins_week_0, logins_week_1, logins_week_2, logins_week_3, "
                           "logins_per_week_28d, adopted, login_source FROM adoption ORDER BY csm_id").fetchall()
    assert rows == [("C1", 7, 7, 7, 7, 7.0, True, "simulated"), ("C2", 3, 3, 3, 2, 2.75, False, "workspace"),
                    ("C3", 0, 5, 7, 7, 4.75, False, "mixed")]
    at = app_as("vp", "leadership")
    assert metrics(at)["CSMs adopting (≥ 3 logins/week)"] == "1"
    assert "Logins: mixed for 1 CSM, simulated for 1 CSM, workspace for 1 CSM." in [c.value for c in at.caption]


def test_a_csm_cannot_open_another_csms_account_by_query_parameter(app_as):
    at = app_as("c2", "account", account="A1")
    assert not at.exception
    assert not at.metric  # nothing of A1 is shown
    assert any("not found" in t for t in texts(at))
    assert "Acme" not in " ".join(t.value for t in at.subheader)


def test_unknown_account_is_not_found_and_the_manager_sees_the_team_only(app_as):
    assert any("not found" in t for t in texts(app_as("vp", "account", account="NOPE")))
    assert metrics(app_as("mona", "account", account="A3"))["ARR"] == "$24,000"
    assert any("not found" in t for t in texts(app_as("mona", "account", account="A4")))
    assert metrics(app_as("vp", "account", account="A4"))["ARR"] == "$36,000"


def test_leadership_page_is_not_in_a_csms_navigation(app_as):
    at = app_as("c1")
    with pytest.raises(ValueError):
        at.switch_page("views/leadership.py")


def test_acknowledge_an_alert_records_it_in_the_side_store(app_as, workspace_env):
    at = app_as("c1", "alerts")
    at.radio[0].set_value("acknowledge")
    at.button[0].click().run()
    assert not at.exception
    rows = ActionsStore(workspace_env["actions"]).actions()
    assert [(r["username"], r["action"], r["account_id"], r["alert_key"]) for r in rows] == [
        ("c1", "acknowledge", "A1", "health_drop:A1:2026-06-29")]
    assert metrics(at)["Open alerts"] == "0"


def test_dismiss_needs_a_reason(app_as, workspace_env):
    at = app_as("c1", "alerts")
    at.radio[0].set_value("dismiss")
    at.button[0].click().run()
    assert any("needs a reason" in e.value for e in at.error)
    assert ActionsStore(workspace_env["actions"]).actions() == []
    at.radio[0].set_value("dismiss")
    at.text_input[0].input("duplicate of a ticket")
    at.button[0].click().run()
    assert [r["reason"] for r in ActionsStore(workspace_env["actions"]).actions()] == ["duplicate of a ticket"]


def test_mark_an_overdue_action_item_done(app_as, workspace_env):
    at = app_as("c1", "alerts")
    at.button[1].click().run()
    assert [r["item_id"] for r in ActionsStore(workspace_env["actions"]).actions()] == ["Q1|fix payroll export"]
    assert metrics(at)["Overdue QBR actions"] == "0"


def test_login_is_required_and_recorded(workspace_env):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert [t.value for t in at.title] == ["CSM workspace"] and not at.metric
    at.text_input[0].input("c1")
    at.text_input[1].input("wrong")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["Unknown user or wrong password."]
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert [t.value for t in at.title] == ["My day"]
    events = ActionsStore(workspace_env["actions"]).events()
    assert [(e["username"], e["event"], e["page"]) for e in events] == [("c1", "login", None), ("c1", "page_view", "My day")]


def test_no_snapshot_says_which_command_to_run(app_as, monkeypatch, tmp_path):
    monkeypatch.setenv("CSM_SERVING_DB", str(tmp_path / "none.duckdb"))
    at = app_as("c1")
    assert not at.exception
    assert any("No serving snapshot yet" in e.value for e in at.error)
    assert [c.value for c in at.code] == ["csm-analytics materialize"]


def test_corrupt_snapshot_gives_a_clear_message(app_as, monkeypatch, tmp_path):
    broken = tmp_path / "serving.duckdb"
    broken.write_bytes(b"not a database" * 100)
    monkeypatch.setenv("CSM_SERVING_DB", str(broken))
    at = app_as("c1")
    assert not at.exception
    assert any("cannot be read" in e.value for e in at.error)


def test_unreachable_side_store_keeps_the_pages_up(app_as, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("CSM_WORKSPACE_ACTIONS", str(blocker / "actions.sqlite"))
    at = app_as("c1", "alerts")
    assert not at.exception
    assert metrics(at)["Open alerts"] == "1"
    assert any("cannot be read or saved" in e.value for e in at.error)


def test_no_page_renders_html_from_data():
    code = "\n".join(p.read_text() for p in (Path(APP).parent).rglob("*.py"))
    assert "unsafe_allow_html" not in code and "st.html" not in code
