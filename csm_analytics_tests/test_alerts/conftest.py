"""Fixtures for delivery tests: an outbox in tmp, the fake Slack server, and alert payloads."""

from __future__ import annotations

import datetime as dt

import pytest

from csm_analytics.alerts.config import load_alert_config
from csm_analytics.alerts.outbox import Outbox
from csm_analytics.alerts.slack import SlackMessenger
from csm_analytics.lib.fake_slack import FakeSlack

NOW = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.timezone.utc)
TEAM = "#cs-critical-alerts"


def make_alert(key: str, account: str = "A1", rule: str = "payment_failure", severity: str = "critical",
               csm: str = "CSM01", slack_id: str = "UCSM01") -> dict:
    return {"alert_key": key, "rule": rule, "severity": severity, "account_id": account, "account_name": f"{account} Co",
            "tier": "Enterprise", "csm_id": csm, "csm_name": f"{csm} name", "csm_slack_id": slack_id, "manager": "Morgan Lee",
            "event_date": "2026-09-30", "band_from": None, "band_to": None, "score_before": None, "score_after": None,
            "moved_by": None, "headline": f"{rule} on {account}", "arr": 120000.0, "revenue_at_risk": 30000.0,
            "renewal_date": "2027-01-31", "recommended_action": "Call them."}


def rules_file(folder, **delivery) -> str:
    """The default alert rules with some [delivery] settings changed, written to `folder`."""
    import re

    from csm_analytics.alerts.config import DEFAULT_RULES

    text = DEFAULT_RULES.read_text()
    for name, value in delivery.items():
        text, n = re.subn(rf"(?m)^{name} = .*$", f"{name} = {value!r}".replace("'", '"'), text)
        assert n == 1, name
    path = folder / "alert_rules.toml"
    path.write_text(text)
    return str(path)


@pytest.fixture
def config():
    return load_alert_config()


@pytest.fixture
def outbox(tmp_path):
    return Outbox(tmp_path / "outbox.sqlite")


@pytest.fixture
def slack():
    server = FakeSlack().start()
    yield server
    server.stop()


@pytest.fixture
def transport(slack):
    return SlackMessenger(token=slack.token, base_url=slack.url, backoff_factor=0.01).transport()
