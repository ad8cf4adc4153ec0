"""How good are the alerts? Per rule: follow-up, precision and recall against renewal outcomes; and response SLA.

No CS platform measures its own alerts. Definitions (docs/alerts.md):
- followed_up: a CSM touchpoint (not an internal review) with the account within 7 days after the alert;
- precision: of alerts whose next 180 days are observed, the share whose account churned or
  downgraded at a renewal in those 180 days;
- recall: of churned contracts whose prior year is observed, the share whose account got an alert of
  the rule between 365 and 60 days before the end.
"""

from __future__ import annotations

import datetime as dt
import statistics

QUALITY_SQL = """
WITH bounds AS (SELECT min(as_of_date) AS first_day, max(as_of_date) AS last_day FROM core.account_health_history),
e AS (SELECT * FROM alerts.alert_events),
per_alert AS (
    SELECT e.rule, e.alert_key,
           EXISTS (SELECT 1 FROM raw.activities a WHERE a.account_id = e.account_id AND a.activity_type <> 'internal_review'
                   AND a.activity_date BETWEEN e.event_date AND e.event_date + 7) AS followed_up,
           e.event_date + 180 <= b.last_day AS outcome_observed,
           EXISTS (SELECT 1 FROM raw.contracts c WHERE c.account_id = e.account_id
                   AND c.renewal_outcome IN ('churned', 'downgraded')
                   AND c.end_date > e.event_date AND c.end_date <= e.event_date + 180) AS lost_within_180d
    FROM e, bounds b
),
churned AS (
    SELECT c.contract_id, c.account_id, c.end_date FROM raw.contracts c, bounds b
    WHERE c.renewal_outcome = 'churned' AND c.end_date - 365 >= b.first_day AND c.end_date <= b.last_day
),
rules AS (SELECT DISTINCT rule FROM e UNION ALL SELECT 'all rules'),
recall AS (
    SELECT r.rule, count(*) AS churned_contracts,
           count(*) FILTER (EXISTS (SELECT 1 FROM e WHERE e.account_id = k.account_id
                                    AND (r.rule = 'all rules' OR e.rule = r.rule)
                                    AND e.event_date BETWEEN k.end_date - 365 AND k.end_date - 60)) AS alerted_60d_before
    FROM rules r, churned k GROUP BY r.rule
),
precision AS (
    SELECT r.rule, count(*) AS alerts_fired,
           count(k.alert_key) AS alerts_with_ack_history,
           round(count(k.acknowledged_at) / nullif(count(k.alert_key), 0), 4) AS pct_acknowledged,
           round(avg(p.followed_up::INT), 4) AS pct_followed_up_7d,
           count(*) FILTER (p.outcome_observed) AS alerts_with_outcome_observed,
           round(avg(p.lost_within_180d::INT) FILTER (p.outcome_observed), 4) AS precision_churn_or_downgrade_180d
    FROM rules r JOIN per_alert p ON r.rule = 'all rules' OR p.rule = r.rule
    LEFT JOIN raw.alert_acknowledgments k ON k.alert_key = p.alert_key
    GROUP BY r.rule
)
SELECT p.*, k.churned_contracts, k.alerted_60d_before,
       round(k.alerted_60d_before / nullif(k.churned_contracts, 0), 4) AS recall_60d_before
FROM precision p JOIN recall k USING (rule)
ORDER BY p.rule = 'all rules', p.rule
"""


HISTORY_SQL = """
SELECT 'critical' AS severity, csm_id, strftime(sent_at, '%Y-%m-%dT%H:%M:%S') AS sent_at,
       strftime(acknowledged_at, '%Y-%m-%dT%H:%M:%S') AS acknowledged_at, NULL AS escalated_at
FROM raw.alert_acknowledgments
"""


# Acknowledgments made in the workspace app (raw.workspace_actions, ingested from its side store).
WORKSPACE_ACKS_SQL = """
SELECT alert_key, strftime(min(recorded_at) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S+00:00') AS acknowledged_at,
       'workspace:' || arg_min(username, recorded_at) AS acknowledged_by
FROM raw.workspace_actions WHERE action = 'acknowledge' AND alert_key IS NOT NULL GROUP BY alert_key
"""


def with_workspace_acknowledgments(alert_rows: list[dict], workspace_acks: list[dict]) -> list[dict]:
    """A workspace acknowledgment counts exactly like a Slack ✅: the earlier of the two stops the SLA clock."""
    acks = {a["alert_key"]: a for a in workspace_acks}
    out = []
    for row in alert_rows:
        ack = acks.get(row.get("alert_key"))
        if ack and (not row["acknowledged_at"] or dt.datetime.fromisoformat(ack["acknowledged_at"])
                    < dt.datetime.fromisoformat(row["acknowledged_at"])):
            row = row | {"acknowledged_at": ack["acknowledged_at"], "acknowledged_by": ack["acknowledged_by"]}
        out.append(row)
    return out


def response_sla_rows(alert_rows, sla_hours: dict[str, float], group: str | None = None) -> list[dict]:
    """Per severity (and per `group` value, e.g. csm_id): delivered alerts, acknowledged, median hours
    to acknowledge, share acknowledged within the SLA, escalations.

    coverage = alerts delivered (a critical alert by its own message, a warning, or a critical alert over the
    weekly cap, by the digest that carried it, timed from that message); with none delivered the measures are blank.
    """
    groups = sorted({r[group] for r in alert_rows if r[group]}) if group else [None]
    out = []
    for key in groups:
        rows = [r for r in alert_rows if group is None or r[group] == key]
        for row in _sla_by_severity(rows, sla_hours):
            out.append(({group: key} if group else {}) | row)
    return out


def delivered_at(row) -> str | None:
    """When the CSM got the alert: its own message (critical), else the digest that carried it."""
    return row.get("sent_at") or row.get("digested_at")


def _sla_by_severity(alert_rows, sla_hours: dict[str, float]) -> list[dict]:
    out = []
    for severity in ("critical", "warning"):
        sent = [r for r in alert_rows if r["severity"] == severity and delivered_at(r)]
        acked = [r for r in sent if r["acknowledged_at"]]
        hours = [(dt.datetime.fromisoformat(r["acknowledged_at"]) - dt.datetime.fromisoformat(delivered_at(r))).total_seconds()
                 / 3600 for r in acked]
        within = sum(h <= sla_hours[severity] for h in hours)
        out.append({
            "severity": severity, "sla_hours": sla_hours[severity], "coverage": len(sent), "acknowledged": len(acked),
            "median_hours_to_ack": round(statistics.median(hours), 2) if hours else None,
            "pct_within_sla": round(within / len(sent), 4) if sent else None,
            "escalated": sum(1 for r in sent if r["escalated_at"]),
        })
    return out
