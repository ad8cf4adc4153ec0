"""What each column of the canonical raw tables means, for a person reading the asset page or docs/schemas.md.

Kept beside the pandera models (`schemas.py`) rather than inside them so the rules stay readable;
`test_descriptions` fails when a model gains a column without a description here, or loses one.
Shared columns (`account_id`, `csm_id`) are described once in COMMON; a table's own entry wins.
"""

from __future__ import annotations

COMMON = {
    "account_id": "Client account identifier (accounts.account_id).",
    "csm_id": "Customer success manager identifier (csms.csm_id).",
    "contract_id": "Contract identifier (contracts.contract_id).",
    "opportunity_id": "Expansion opportunity identifier (expansion_opportunities.opportunity_id).",
    "licensed_seats": "Seats the contract licenses.",
}

DESCRIPTIONS: dict[str, dict[str, str]] = {
    "csms": {
        "name": "The CSM's full name, as shown in reports and Slack.",
        "capacity": "How many client accounts the CSM can own at full load.",
        "start_date": "First day the CSM worked in the team.",
        "manager": "Name of the CSM's manager, who receives escalations.",
        "slack_user_id": "The CSM's Slack member id (U…), for direct messages.",
    },
    "accounts": {
        "account_name": "Client company name.",
        "tier": "Service tier the client is sold: Strategic, Enterprise, Growth or Core.",
        "segment": "Company size segment: Large, Mid-Market or SMB.",
        "industry": "The client's industry.",
        "country": "Headquarters country, ISO 3166-1 alpha-2 code.",
        "product": "Main product: EOR (employer of record), COR (contractor of record) or Payroll.",
        "created_date": "Day the account became a client.",
    },
    "contracts": {
        "start_date": "First day the contract is in force.",
        "end_date": "Last day the contract is in force (the renewal date).",
        "arr": "Annual recurring revenue of the contract, in the reporting currency.",
        "mrr": "Monthly recurring revenue (ARR / 12), in the reporting currency.",
        "term_months": "Contract length in months: 12, 24 or 36.",
        "renewal_outcome": "What happened at the end: renewed, downgraded or churned; empty while in force.",
        "downgrade_amount": "ARR lost to a downgrade at renewal; 0 otherwise.",
    },
    "csm_assignments": {
        "valid_from": "First day the CSM owns the account.",
        "valid_to": "Last day the CSM owns the account; empty while current.",
    },
    "activities": {
        "activity_id": "Activity identifier.",
        "activity_type": "call, email, QBR, meeting or internal_review (internal reviews are not client touches).",
        "activity_date": "Day of the activity.",
        "duration_minutes": "Length of the activity in minutes (0 for an email).",
        "contact_role": "Role of the client contact involved (Executive Sponsor, Champion, …); empty if none.",
    },
    "qbrs": {
        "qbr_id": "Quarterly business review identifier.",
        "qbr_date": "Day the QBR was held.",
        "topics": "Topics covered, separated by semicolons.",
        "action_items": "Action items agreed, separated by semicolons.",
        "attendee_roles": "Client roles that attended, separated by semicolons.",
        "nps_at_qbr": "NPS (0–10) the sponsor gave at the QBR; empty if not asked.",
        "expansion_discussed": "Whether expansion was discussed.",
        "referral_intent": "Whether the client offered a referral.",
    },
    "account_plans": {
        "plan_id": "Account plan identifier.",
        "period": "The period the plan covers (for example 2026-H1).",
        "objectives": "The client's objectives for the period.",
        "expansion_targets": "Expansion the plan aims for; empty if none.",
        "risk_mitigations": "Risks and how the plan mitigates them; empty if none.",
        "qbr_schedule": "When the QBRs of the period are planned.",
        "last_updated": "Day the plan was last edited (plan currency is measured from it).",
    },
    "support_tickets": {
        "ticket_id": "Support ticket identifier.",
        "opened_at": "When the ticket was opened.",
        "resolved_at": "When the ticket was resolved; empty while open.",
        "priority": "low, normal, high or urgent.",
        "escalated": "Whether the ticket was escalated.",
        "csat": "Customer satisfaction (1–5) given on the ticket; empty if not answered.",
    },
    "product_usage": {
        "usage_date": "First day of the period the row covers.",
        "grain": "Length of the period: day, week or month.",
        "active_users": "Average daily active users over the period.",
        "licensed_seats": "Seats licensed during the period.",
        "logins": "Logins over the period.",
        "key_feature_events": "Uses of the key features over the period.",
        "worker_count": "Workers the client employs or pays through the platform at the end of the period.",
    },
    "survey_responses": {
        "response_id": "Survey response identifier.",
        "survey_type": "NPS or CSAT.",
        "response_date": "Day of the response.",
        "score": "The score given (NPS 0–10; CSAT 1–5).",
        "respondent_role": "Role of the person who answered.",
    },
    "invoices": {
        "invoice_id": "Invoice identifier.",
        "amount": "Amount invoiced, in the reporting currency.",
        "due_date": "Day payment is due.",
        "paid_date": "Day it was paid; empty while unpaid.",
        "days_late": "Days paid after the due date (0 if on time).",
        "failed_payment": "Whether a payment attempt failed.",
    },
    "incidents": {
        "incident_id": "Incident identifier.",
        "occurred_at": "When the incident happened.",
        "incident_type": "payroll_error, compliance_breach, platform_outage or data_issue.",
        "severity": "critical, high or medium.",
        "description": "What happened, in words.",
    },
    "expansion_opportunities": {
        "stage": "Current sales stage, from 'signal identified' to 'closed won' or 'closed lost'.",
        "amount": "Expansion ARR the opportunity would add, in the reporting currency.",
        "created_date": "Day the opportunity was created.",
        "close_date": "Day it closed; empty while open.",
        "status": "open, won or lost.",
        "source_signal": "What surfaced it: worker_growth, seat_ceiling, new_country, cor_to_eor, qbr_discussion or inbound.",
        "attributed_csm_id": "CSM credited with the expansion; empty if none.",
        "evidence_link": "Link to the evidence for the CSM's credit; empty if none.",
    },
    "dashboard_logins": {
        "login_at": "When the CSM opened the analytics.",
        "page": "The page opened.",
    },
    "alert_acknowledgments": {
        "alert_key": "The alert's key in the previous tool.",
        "sent_at": "When the alert was sent.",
        "acknowledged_at": "When the CSM acknowledged it; empty if never.",
    },
    "opportunity_stage_history": {
        "stage": "A stage the opportunity entered.",
        "entered_date": "Day it entered that stage.",
    },
    "intent_signals": {
        "signal_id": "Intent signal identifier.",
        "signal_date": "Day the signal was observed.",
        "signal_type": "new_country_interest or eor_pattern (contractor use that looks like employment).",
        "country": "Country the signal is about (ISO alpha-2); empty when not country-specific.",
    },
    "referrals": {
        "referral_id": "Referral identifier.",
        "referral_date": "Day the referral was offered.",
        "referral_type": "referral or warm_introduction.",
        "prospect_name": "Company referred.",
        "status": "offered, opportunity, won or lost.",
        "opportunity_amount": "ARR of the resulting opportunity; empty until there is one.",
        "close_date": "Day the opportunity closed; empty while open.",
    },
    "exit_reasons": {
        "recorded_date": "Day the exit interview was recorded.",
        "exit_reason": "The main reason the client left, from a fixed list.",
    },
}


def column_description(table: str, column: str) -> str | None:
    return DESCRIPTIONS.get(table, {}).get(column) or COMMON.get(column)
