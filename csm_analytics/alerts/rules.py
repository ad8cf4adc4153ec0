"""SQL that derives alert events from health transitions, score history and raw critical events.

Every event has a stable idempotency key built from what caused it (the rule plus the
transition day, invoice, ticket, incident or contract), so re-deriving events never
creates a second alert for the same cause.
"""

from __future__ import annotations

from csm_analytics.alerts.config import SEVERITIES, AlertConfig, AlertConfigError
from csm_analytics.canonical.ownership import OWNER_PERIODS
from csm_analytics.canonical.schemas import TICKET_PRIORITIES
from csm_analytics.canonical.sql import sql_literal
from csm_analytics.lib.display import currency_prefix

ACTIONS = {
    "band_transition": "Review the drivers with the account team this week and book a check-in with the champion.",
    "score_drop": "Find out what changed (see the components that moved) and reach out within 2 business days.",
    "payment_failure": "Confirm the failed payment with finance and contact the billing admin today.",
    "support_escalation": "Join the escalation, align with support on a fix date, and update the sponsor.",
    "critical_incident": "Call the executive sponsor today, own the incident review and the remediation plan.",
    "at_risk_renewal": "Build a save plan with your manager: exec sponsor meeting, value recap, commercial options.",
}


def _actions_values() -> str:
    rows = ", ".join(f"({sql_literal(rule)}, {sql_literal(text)})" for rule, text in ACTIONS.items())
    return f"(VALUES {rows}) AS a(rule, recommended_action)"


def _one_of(config: AlertConfig, where: str, value, allowed) -> str:
    """A rules-file value as a SQL literal, only when it is one of the fixed values the rule allows.

    The SQL is run by the caller without parameters, so no text from the rules file reaches it unless it
    equals one of our own constants (a severity, a ticket priority); numbers go through float() or int().
    """
    if value not in allowed:
        raise AlertConfigError(f"{config.path}: {where} is {value!r}, expected one of {list(allowed)}")
    return sql_literal(value)


def alert_events_sql(config: AlertConfig, with_predictions: bool) -> str:
    r = config.rules
    bt, sd, pf, se, ci, ar = (r[k] for k in ("band_transition", "score_drop", "payment_failure",
                                              "support_escalation", "critical_incident", "at_risk_renewal"))
    priorities = ", ".join(_one_of(config, "rules.support_escalation.priorities[]", p, TICKET_PRIORITIES)
                           for p in se["priorities"])
    sev = {name: _one_of(config, f"rules.{name}.severity", r[name]["severity"], SEVERITIES) for name in ACTIONS}
    into_at_risk = _one_of(config, "rules.band_transition.severity_into_at_risk", bt["severity_into_at_risk"], SEVERITIES)
    days_at_risk = int(ar.get("min_days_at_risk", 1))
    at_risk_words = f"At risk for {days_at_risk} days" if days_at_risk > 1 else "At risk"
    churn_p = ("(SELECT churn_probability FROM ml.churn_predictions p WHERE p.account_id = e.account_id)"
               if with_predictions else "CAST(NULL AS DOUBLE)")
    return f"""
WITH h AS (SELECT account_id, as_of_date, health_score, band FROM core.account_health_history),
scored AS (
    SELECT h.*, w.health_score AS score_7d_ago, y.health_score AS score_yesterday, y7.health_score AS score_8d_ago,
           count(*) FILTER (h.band = 'At risk') OVER (PARTITION BY h.account_id ORDER BY h.as_of_date
               RANGE BETWEEN INTERVAL {days_at_risk - 1} DAYS PRECEDING AND CURRENT ROW) AS days_at_risk
    FROM h
    LEFT JOIN h w ON w.account_id = h.account_id AND w.as_of_date = h.as_of_date - 7
    LEFT JOIN h y ON y.account_id = h.account_id AND y.as_of_date = h.as_of_date - 1
    LEFT JOIN h y7 ON y7.account_id = h.account_id AND y7.as_of_date = h.as_of_date - 8
),
raw_events AS (
    SELECT 'band_transition:' || t.account_id || ':' || t.transition_date || ':' || t.to_band AS alert_key,
           'band_transition' AS rule,
           CASE WHEN t.to_band = 'At risk' THEN {into_at_risk} ELSE {sev["band_transition"]} END AS severity,
           t.account_id, t.transition_date AS event_date, t.from_band AS band_from, t.to_band AS band_to,
           t.score_before, t.score_after, t.moved_by,
           t.from_band || ' -> ' || t.to_band AS headline
    FROM core.health_band_transitions t JOIN scored s ON s.account_id = t.account_id AND s.as_of_date = t.transition_date
    WHERE (t.from_band = 'Healthy' AND t.to_band IN ('Watch', 'At risk') OR t.from_band = 'Watch' AND t.to_band = 'At risk')
      AND s.score_7d_ago - s.health_score >= {float(bt["min_drop_points_7d"])}
    UNION ALL
    SELECT 'score_drop:' || account_id || ':' || as_of_date, 'score_drop', {sev["score_drop"]}, account_id, as_of_date,
           band, band, score_7d_ago, health_score, NULL,
           'score fell ' || round(score_7d_ago - health_score, 1) || ' points in 7 days'
    FROM scored
    WHERE score_7d_ago - health_score >= {float(sd["drop_points_7d"])}
      AND (score_8d_ago IS NULL OR score_yesterday IS NULL OR score_8d_ago - score_yesterday < {float(sd["drop_points_7d"])})
    UNION ALL
    SELECT 'payment_failure:' || invoice_id, 'payment_failure', {sev["payment_failure"]}, account_id, due_date,
           NULL, NULL, NULL, NULL, NULL,
           {sql_literal('payment of ' + currency_prefix())} || format('{{:,.2f}}', amount) || ' failed (invoice ' || invoice_id || ')'
    FROM raw.invoices WHERE failed_payment AND amount >= {float(pf["min_amount"])}
    UNION ALL
    SELECT 'support_escalation:' || ticket_id, 'support_escalation', {sev["support_escalation"]}, account_id, opened_at::DATE,
           NULL, NULL, NULL, NULL, NULL, priority || ' ticket ' || ticket_id || ' escalated'
    FROM raw.support_tickets WHERE escalated AND priority IN ({priorities})
    UNION ALL
    SELECT 'critical_incident:' || incident_id, 'critical_incident', {sev["critical_incident"]}, account_id, occurred_at::DATE,
           NULL, NULL, NULL, NULL, NULL, replace(incident_type, '_', ' ') || ' (' || severity || ')'
    FROM raw.incidents WHERE incident_type = 'payroll_error' OR severity = 'critical'
    UNION ALL
    SELECT 'at_risk_renewal:' || c.contract_id, 'at_risk_renewal', {sev["at_risk_renewal"]}, s.account_id, min(s.as_of_date),
           'At risk', 'At risk', NULL, arg_min(s.health_score, s.as_of_date), NULL,
           {sql_literal(at_risk_words + ' and renewing on ')} || c.end_date
    FROM scored s JOIN raw.contracts c ON c.account_id = s.account_id AND s.as_of_date BETWEEN c.start_date AND c.end_date
    WHERE s.days_at_risk >= {days_at_risk} AND c.end_date - s.as_of_date <= {int(ar["renewal_within_days"])} AND c.arr >= {float(ar["min_arr"])}
    GROUP BY c.contract_id, s.account_id, c.end_date
),
enriched AS (
    SELECT e.*, a.tier, a.account_name, o.csm_id, m.name AS csm_name, m.slack_user_id AS csm_slack_id, m.manager,
           k.arr, k.end_date AS renewal_date, {churn_p} AS churn_probability
    FROM raw_events e
    JOIN raw.accounts a USING (account_id)
    LEFT JOIN {OWNER_PERIODS} o ON o.account_id = e.account_id
         AND e.event_date BETWEEN o.valid_from AND coalesce(o.valid_to, DATE '9999-12-31')
    LEFT JOIN raw.csms m ON m.csm_id = o.csm_id
    LEFT JOIN raw.contracts k ON k.account_id = e.account_id AND e.event_date BETWEEN k.start_date AND k.end_date
    QUALIFY row_number() OVER (PARTITION BY e.alert_key ORDER BY o.valid_from DESC NULLS LAST, k.start_date DESC) = 1
)
SELECT e.*, round(e.arr * e.churn_probability, 2) AS revenue_at_risk, a.recommended_action,
       CASE WHEN e.severity = 'critical' THEN 'dm+team' ELSE 'digest' END AS routing
FROM enriched e JOIN {_actions_values()} USING (rule)
ORDER BY e.event_date, e.alert_key
"""
