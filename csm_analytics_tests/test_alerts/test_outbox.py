"""The outbox's claim: one holder per alert, reclaimable after expiry, writes fenced on the holder."""

from __future__ import annotations

import time

import pytest

from csm_analytics.alerts.outbox import LeaseLost, Outbox
from csm_analytics_tests.test_alerts.conftest import make_alert


def test_a_lease_has_one_holder_expires_and_fences_the_old_holder(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite")
    other = Outbox(tmp_path / "outbox.sqlite")  # another process's view of the same file
    outbox.enqueue([make_alert("k1"), make_alert("k2", account="A2")])
    assert outbox.claim_next("A", lease_seconds=0.5)["alert_key"] == "k1"
    assert other.claim_next("B", lease_seconds=60)["alert_key"] == "k2"  # k1 is held: B gets the next one
    assert other.claim_next("B", lease_seconds=60, after_seq=2) is None
    time.sleep(0.6)  # A stalls past its lease
    assert other.claim_next("B", lease_seconds=60)["alert_key"] == "k1"
    with pytest.raises(LeaseLost):
        outbox.renew("k1", "A", 60)  # A must not post now
    with pytest.raises(LeaseLost):
        outbox.record("k1", "A", status="sent")
    other.record("k1", "B", status="sent")
    outbox.release("k1", "A")  # a stale release leaves B's lease alone
    assert (outbox.get("k1")["status"], outbox.get("k1")["lease_owner"]) == ("sent", "B")


def test_an_old_outbox_file_gets_the_new_columns(tmp_path):
    import sqlite3

    path = tmp_path / "outbox.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE alerts (seq INTEGER PRIMARY KEY AUTOINCREMENT, alert_key TEXT NOT NULL UNIQUE, rule TEXT NOT NULL, "
                "severity TEXT NOT NULL, account_id TEXT NOT NULL, csm_id TEXT, csm_slack_id TEXT, manager TEXT, "
                "event_date TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending', status_reason TEXT, "
                "attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, channel TEXT, ts TEXT, dm_channel TEXT, dm_ts TEXT, "
                "updates INTEGER NOT NULL DEFAULT 0, enqueued_at TEXT NOT NULL, sent_at TEXT, acknowledged_at TEXT, "
                "acknowledged_by TEXT, escalated_at TEXT, digested_at TEXT)")
    con.execute("INSERT INTO alerts (alert_key, rule, severity, account_id, event_date, payload, enqueued_at) "
                "VALUES ('k1', 'payment_failure', 'critical', 'A1', '2026-09-30', '{}', '2026-10-01T00:00:00+00:00')")
    con.commit()
    con.close()
    outbox = Outbox(path)
    assert outbox.claim_next("A", 60)["alert_key"] == "k1" and outbox.get("k1")["merged_into"] is None
