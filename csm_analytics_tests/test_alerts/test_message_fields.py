"""Every field of an alert message is filled or left out: never "n/a"; money carries the currency."""

from __future__ import annotations

from csm_analytics.alerts.messages import alert_message


def _alert(**overrides) -> dict:
    alert = {"rule": "at_risk_renewal", "severity": "critical", "account_id": "ACC0000203", "account_name": "Acme",
             "csm_name": "Dana Reyes", "tier": "Enterprise", "band_from": "At risk", "band_to": "At risk",
             "score_before": None, "score_after": 40.06, "moved_by": None, "arr": 118648.0, "revenue_at_risk": 41527.3,
             "renewal_date": "2026-10-01", "event_date": "2026-07-01", "headline": "At risk for 14 days and renewing on 2026-10-01",
             "alert_key": "at_risk_renewal:CON1", "recommended_action": "Call the sponsor"}
    return {**alert, **overrides}


def _fields(blocks) -> list[str]:
    return [f["text"] for f in blocks[1]["fields"]]


def test_at_risk_renewal_shows_the_band_and_score_it_has_and_leaves_out_moved_by(monkeypatch):
    monkeypatch.delenv("CSM_CURRENCY", raising=False)
    _, blocks = alert_message(_alert(), "http://ui")
    fields = _fields(blocks)
    assert fields == ["*Account*\nAcme (ACC0000203)", "*CSM*\nDana Reyes", "*Tier*\nEnterprise", "*Band*\nAt risk",
                      "*Score*\n40.1", "*ARR*\n$118,648", "*Revenue at risk*\n$41,527", "*Renewal date*\n2026-10-01",
                      "*What happened*\nAt risk for 14 days and renewing on 2026-10-01"]
    assert not any("n/a" in f for f in fields)


def test_a_payment_alert_without_health_fields_leaves_them_out(monkeypatch):
    monkeypatch.setenv("CSM_CURRENCY", "EUR")
    alert = _alert(rule="payment_failure", band_from=None, band_to=None, score_after=None, revenue_at_risk=None,
                   renewal_date=None, headline="payment failed (invoice INV1)")
    text, blocks = alert_message(alert, "http://ui")
    labels = [f.split("\n")[0] for f in _fields(blocks)]
    assert labels == ["*Account*", "*CSM*", "*Tier*", "*ARR*", "*What happened*"]
    assert "*ARR*\n€118,648" in _fields(blocks)
    assert text.startswith(":rotating_light: Payment failed: Acme")


def test_a_band_transition_shows_before_and_after():
    alert = _alert(rule="band_transition", band_from="Watch", band_to="At risk", score_before=58.2, score_after=52.0,
                   moved_by="usage -4.1")
    fields = _fields(alert_message(alert, "http://ui")[1])
    assert "*Band*\nWatch → At risk" in fields and "*Score*\n58.2 → 52.0" in fields and "*Moved by*\nusage -4.1" in fields


def test_payment_failure_headline_carries_the_currency(tmp_path, monkeypatch):
    import datetime as dt

    from csm_analytics.alerts.config import load_alert_config
    from csm_analytics.alerts.rules import alert_events_sql
    from csm_analytics_tests.fixtures import empty_raw_warehouse, insert

    monkeypatch.setenv("CSM_CURRENCY", "EUR")
    con = empty_raw_warehouse(tmp_path / "wh.duckdb")
    con.execute("CREATE SCHEMA IF NOT EXISTS core")
    con.execute("CREATE TABLE core.account_health_history (account_id VARCHAR, as_of_date DATE, health_score DOUBLE, band VARCHAR)")
    con.execute("CREATE TABLE core.health_band_transitions (account_id VARCHAR, transition_date DATE, from_band VARCHAR, "
                "to_band VARCHAR, score_before DOUBLE, score_after DOUBLE, moved_by VARCHAR)")
    insert(con, "accounts", [{"account_id": "A", "account_name": "A", "tier": "Growth"}])
    insert(con, "invoices", [{"invoice_id": "INV1", "account_id": "A", "contract_id": "A-C1", "amount": 12345.5,
                              "due_date": dt.date(2026, 9, 1), "failed_payment": True}])
    rows = con.execute(f"SELECT headline FROM ({alert_events_sql(load_alert_config(), False)}) "
                       "WHERE rule = 'payment_failure'").fetchall()
    assert rows == [("payment of €12,345.50 failed (invoice INV1)",)]
