"""Counting a delivery scenario the way the issue asks: distinct alerts by key, expected = delivered,
0 duplicates, 0 lost. A critical alert is delivered when it is in the team channel and in its CSM's DM;
a warning when it is an item of a digest in its CSM's DM. Any extra copy of an alert is a duplicate."""

from __future__ import annotations

import json
import os

from csm_analytics.alerts import delivery
from csm_analytics.lib.fake_slack import FakeSlack

TEAM = "#cs-critical-alerts"


def critical_alerts(n: int, prefix: str = "payment_failure:INV") -> list[dict]:
    """n critical alerts on n accounts, each with its own CSM (so the weekly cap of 3 per CSM does not apply)."""
    from csm_analytics_tests.test_alerts.conftest import make_alert

    return [make_alert(f"{prefix}{i:03d}", account=f"A{i:03d}", csm=f"CSM{i:03d}", slack_id=f"UCSM{i:03d}")
            for i in range(n)]


def drain(outbox, transport, config, now, ticks: int = 6) -> int:
    """Sensor ticks until nothing is pending (or `ticks` ran); returns the ticks used."""
    for tick in range(1, ticks + 1):
        delivery.deliver_pending(outbox, transport, config, now)
        if not outbox.rows("status = 'pending'"):
            return tick
    return ticks


def tally(slack: FakeSlack, alerts: list[dict], scenario: str) -> dict:
    copies = slack.alert_copies()
    team = slack.channel_id(TEAM)
    keys = {a["alert_key"] for a in alerts}

    def wanted(a):
        dm = slack.dm_id(a["csm_slack_id"])
        return [(team, a["alert_key"]), (dm, a["alert_key"])] if a["severity"] == "critical" else [(dm, a["alert_key"])]

    delivered = sum(all(copies[c] >= 1 for c in wanted(a)) for a in alerts)
    duplicates = sum(n - 1 for (_, key), n in copies.items() if key in keys and n > 1)
    result = {"scenario": scenario, "expected": len(alerts), "delivered": delivered, "duplicates": duplicates,
              "lost": len(alerts) - delivered}
    if os.environ.get("CSM_SCENARIO_REPORT"):  # the closing table in docs/alerts.md is collected this way
        with open(os.environ["CSM_SCENARIO_REPORT"], "a") as fh:
            fh.write(json.dumps(result) + "\n")
    return result


def perfect(result: dict) -> dict:
    return {"scenario": result["scenario"], "expected": result["expected"], "delivered": result["expected"],
            "duplicates": 0, "lost": 0}
