"""Canonical schemas of the raw customer-success tables.

Declared once as pandera DataFrameModels. The same models validate pandas
frames (generator tests, bring-your-own-data checks) and are compiled to DuckDB
SQL by `csm_analytics.sources.validation` to validate large files without pandas.
`docs/schemas.md` is generated from them (`csm-analytics docs schemas`).

Column `metadata={"sql": ...}` overrides the SQL type where the pandas dtype is
ambiguous (a DATE vs a TIMESTAMP).
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

TIERS = ["Strategic", "Enterprise", "Growth", "Core"]
SEGMENTS = ["Large", "Mid-Market", "SMB"]
PRODUCTS = ["EOR", "COR", "Payroll"]
CONTACT_ROLES = ["Executive Sponsor", "Champion", "Admin", "Finance", "HR", "Legal", "End User"]
ACTIVITY_TYPES = ["call", "email", "QBR", "meeting", "internal_review"]
RENEWAL_OUTCOMES = ["renewed", "downgraded", "churned"]
TICKET_PRIORITIES = ["low", "normal", "high", "urgent"]
SURVEY_TYPES = ["NPS", "CSAT"]
INCIDENT_TYPES = ["payroll_error", "compliance_breach", "platform_outage", "data_issue"]
SEVERITIES = ["critical", "high", "medium"]
OPPORTUNITY_STAGES = [
    "signal identified",
    "conversation initiated",
    "proposal sent",
    "committed",
    "closed won",
    "closed lost",
]
OPPORTUNITY_STATUSES = ["open", "won", "lost"]
SOURCE_SIGNALS = ["worker_growth", "seat_ceiling", "new_country", "cor_to_eor", "qbr_discussion", "inbound"]
USAGE_GRAINS = ["day", "week", "month"]
INTENT_SIGNAL_TYPES = ["new_country_interest", "eor_pattern"]
REFERRAL_TYPES = ["referral", "warm_introduction"]
REFERRAL_STATUSES = ["offered", "opportunity", "won", "lost"]
EXIT_REASONS = [
    "low adoption or value", "poor support experience", "financial distress", "weak relationship",
    "product dissatisfaction", "payroll or compliance errors", "budget cuts", "acquired or merged",
    "moved to a competitor",
]

DATE = {"sql": "DATE"}

# Canonical ids (account_id, csm_id, contract_id, ...): a letter or digit, then letters, digits and . _ : -
# (at most 64 characters). No spaces, quotes or padding, so ' ACC1' can never become a second, ghost key.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
# Every date and timestamp must fall in this window; a year like 99999 or 2999 is a typo, not a plan.
EARLIEST_DATE, LATEST_DATE = "1900-01-01", "2100-12-31"


def _date(**kwargs) -> pa.Field:
    return pa.Field(metadata=DATE, **kwargs)


def _id(**kwargs) -> pa.Field:
    return pa.Field(str_matches=ID_PATTERN, **kwargs)


class Csms(pa.DataFrameModel):
    csm_id: Series[str] = _id(unique=True)
    name: Series[str]
    capacity: Series[int] = pa.Field(gt=0)
    start_date: Series[pa.DateTime] = _date()
    manager: Series[str]
    slack_user_id: Series[str] = pa.Field(str_matches=r"^U[A-Z0-9]+$")


class Accounts(pa.DataFrameModel):
    account_id: Series[str] = _id(unique=True)
    account_name: Series[str]
    tier: Series[str] = pa.Field(isin=TIERS)
    segment: Series[str] = pa.Field(isin=SEGMENTS)
    industry: Series[str]
    country: Series[str] = pa.Field(str_length={"min_value": 2, "max_value": 2})
    product: Series[str] = pa.Field(isin=PRODUCTS)
    created_date: Series[pa.DateTime] = _date()


class Contracts(pa.DataFrameModel):
    contract_id: Series[str] = _id(unique=True)
    account_id: Series[str] = _id()
    start_date: Series[pa.DateTime] = _date()
    end_date: Series[pa.DateTime] = _date()
    arr: Series[float] = pa.Field(gt=0)
    mrr: Series[float] = pa.Field(gt=0)
    term_months: Series[int] = pa.Field(isin=[12, 24, 36])
    licensed_seats: Series[int] = pa.Field(gt=0)
    renewal_outcome: Series[str] = pa.Field(isin=RENEWAL_OUTCOMES, nullable=True)
    downgrade_amount: Series[float] = pa.Field(ge=0)


class CsmAssignments(pa.DataFrameModel):
    account_id: Series[str] = _id()
    csm_id: Series[str] = _id()
    valid_from: Series[pa.DateTime] = _date()
    valid_to: Series[pa.DateTime] = _date(nullable=True)


class Activities(pa.DataFrameModel):
    activity_id: Series[str] = _id(unique=True)
    csm_id: Series[str] = _id()
    account_id: Series[str] = _id()
    activity_type: Series[str] = pa.Field(isin=ACTIVITY_TYPES)
    activity_date: Series[pa.DateTime] = _date()
    duration_minutes: Series[int] = pa.Field(ge=0, le=600)
    contact_role: Series[str] = pa.Field(nullable=True)


class Qbrs(pa.DataFrameModel):
    qbr_id: Series[str] = _id(unique=True)
    account_id: Series[str] = _id()
    csm_id: Series[str] = _id()
    qbr_date: Series[pa.DateTime] = _date()
    topics: Series[str]
    action_items: Series[str]
    attendee_roles: Series[str]
    nps_at_qbr: Series[pd.Int64Dtype] = pa.Field(ge=0, le=10, nullable=True)
    expansion_discussed: Series[bool]
    referral_intent: Series[bool]


class AccountPlans(pa.DataFrameModel):
    plan_id: Series[str] = _id(unique=True)
    account_id: Series[str] = _id()
    period: Series[str]
    objectives: Series[str]
    expansion_targets: Series[str] = pa.Field(nullable=True)
    risk_mitigations: Series[str] = pa.Field(nullable=True)
    qbr_schedule: Series[str]
    last_updated: Series[pa.DateTime] = _date()


class SupportTickets(pa.DataFrameModel):
    ticket_id: Series[str] = _id(unique=True)
    account_id: Series[str] = _id()
    opened_at: Series[pa.DateTime]
    resolved_at: Series[pa.DateTime] = pa.Field(nullable=True)
    priority: Series[str] = pa.Field(isin=TICKET_PRIORITIES)
    escalated: Series[bool]
    csat: Series[pd.Int64Dtype] = pa.Field(ge=1, le=5, nullable=True)


class ProductUsage(pa.DataFrameModel):
    """One row per account per period. `active_users` is the average daily active
    users over the period, so ratios mean the same at every grain; logins and
    key-feature events are sums over the period."""

    account_id: Series[str] = _id()
    usage_date: Series[pa.DateTime] = _date()
    grain: Series[str] = pa.Field(isin=USAGE_GRAINS)
    active_users: Series[float] = pa.Field(ge=0)
    licensed_seats: Series[int] = pa.Field(gt=0)
    logins: Series[int] = pa.Field(ge=0)
    key_feature_events: Series[int] = pa.Field(ge=0)
    worker_count: Series[int] = pa.Field(ge=0)


class SurveyResponses(pa.DataFrameModel):
    response_id: Series[str] = _id(unique=True)
    account_id: Series[str] = _id()
    survey_type: Series[str] = pa.Field(isin=SURVEY_TYPES)
    response_date: Series[pa.DateTime] = _date()
    score: Series[int] = pa.Field(ge=0, le=10)
    respondent_role: Series[str]


class Invoices(pa.DataFrameModel):
    invoice_id: Series[str] = _id(unique=True)
    account_id: Series[str] = _id()
    contract_id: Series[str] = _id()
    amount: Series[float] = pa.Field(gt=0)
    due_date: Series[pa.DateTime] = _date()
    paid_date: Series[pa.DateTime] = _date(nullable=True)
    days_late: Series[int] = pa.Field(ge=0)
    failed_payment: Series[bool]


class Incidents(pa.DataFrameModel):
    incident_id: Series[str] = _id(unique=True)
    account_id: Series[str] = _id()
    occurred_at: Series[pa.DateTime]
    incident_type: Series[str] = pa.Field(isin=INCIDENT_TYPES)
    severity: Series[str] = pa.Field(isin=SEVERITIES)
    description: Series[str]


class ExpansionOpportunities(pa.DataFrameModel):
    opportunity_id: Series[str] = _id(unique=True)
    account_id: Series[str] = _id()
    stage: Series[str] = pa.Field(isin=OPPORTUNITY_STAGES)
    amount: Series[float] = pa.Field(gt=0)
    created_date: Series[pa.DateTime] = _date()
    close_date: Series[pa.DateTime] = _date(nullable=True)
    status: Series[str] = pa.Field(isin=OPPORTUNITY_STATUSES)
    source_signal: Series[str] = pa.Field(isin=SOURCE_SIGNALS)
    attributed_csm_id: Series[str] = _id(nullable=True)
    evidence_link: Series[str] = pa.Field(nullable=True)


class DashboardLogins(pa.DataFrameModel):
    csm_id: Series[str] = _id()
    login_at: Series[pa.DateTime]
    page: Series[str]


class AlertAcknowledgments(pa.DataFrameModel):
    """Acknowledgments of critical alerts from before this platform (e.g. exported from a previous tool)."""

    alert_key: Series[str] = _id(unique=True)
    account_id: Series[str] = _id()
    csm_id: Series[str] = _id()
    sent_at: Series[pa.DateTime]
    acknowledged_at: Series[pa.DateTime] = pa.Field(nullable=True)


class OpportunityStageHistory(pa.DataFrameModel):
    """Every stage an expansion opportunity entered, with the day it entered it (the CRM's stage history)."""

    opportunity_id: Series[str] = _id()
    account_id: Series[str] = _id()
    stage: Series[str] = pa.Field(isin=OPPORTUNITY_STAGES)
    entered_date: Series[pa.DateTime] = _date()


class IntentSignals(pa.DataFrameModel):
    """Product-telemetry expansion intent: interest in hiring in a new country (`country` says which), and
    contractor-of-record usage that looks like EOR (contractors engaged full-time in one country for months)."""

    signal_id: Series[str] = _id(unique=True)
    account_id: Series[str] = _id()
    signal_date: Series[pa.DateTime] = _date()
    signal_type: Series[str] = pa.Field(isin=INTENT_SIGNAL_TYPES)
    country: Series[str] = pa.Field(nullable=True)


class Referrals(pa.DataFrameModel):
    """Referrals and warm introductions a client offered; some become new-logo opportunities."""

    referral_id: Series[str] = _id(unique=True)
    account_id: Series[str] = _id()
    referral_date: Series[pa.DateTime] = _date()
    referral_type: Series[str] = pa.Field(isin=REFERRAL_TYPES)
    prospect_name: Series[str]
    status: Series[str] = pa.Field(isin=REFERRAL_STATUSES)
    opportunity_amount: Series[float] = pa.Field(gt=0, nullable=True)
    close_date: Series[pa.DateTime] = _date(nullable=True)


class ExitReasons(pa.DataFrameModel):
    """The exit reason recorded for each churned contract (from the exit interview)."""

    contract_id: Series[str] = _id(unique=True)
    account_id: Series[str] = _id()
    recorded_date: Series[pa.DateTime] = _date()
    exit_reason: Series[str] = pa.Field(isin=EXIT_REASONS)


# table name -> (model, primary key columns, {column: parent table})
CANONICAL_TABLES: dict[str, tuple[type[pa.DataFrameModel], tuple[str, ...], dict[str, str]]] = {
    "csms": (Csms, ("csm_id",), {}),
    "accounts": (Accounts, ("account_id",), {}),
    "contracts": (Contracts, ("contract_id",), {"account_id": "accounts"}),
    "csm_assignments": (CsmAssignments, ("account_id", "valid_from"), {"account_id": "accounts", "csm_id": "csms"}),
    "activities": (Activities, ("activity_id",), {"account_id": "accounts", "csm_id": "csms"}),
    "qbrs": (Qbrs, ("qbr_id",), {"account_id": "accounts", "csm_id": "csms"}),
    "account_plans": (AccountPlans, ("plan_id",), {"account_id": "accounts"}),
    "support_tickets": (SupportTickets, ("ticket_id",), {"account_id": "accounts"}),
    "product_usage": (ProductUsage, ("account_id", "usage_date"), {"account_id": "accounts"}),
    "survey_responses": (SurveyResponses, ("response_id",), {"account_id": "accounts"}),
    "invoices": (Invoices, ("invoice_id",), {"account_id": "accounts"}),
    "incidents": (Incidents, ("incident_id",), {"account_id": "accounts"}),
    "expansion_opportunities": (ExpansionOpportunities, ("opportunity_id",), {"account_id": "accounts"}),
    "dashboard_logins": (DashboardLogins, ("csm_id", "login_at"), {"csm_id": "csms"}),
    "alert_acknowledgments": (AlertAcknowledgments, ("alert_key",), {"account_id": "accounts", "csm_id": "csms"}),
    "opportunity_stage_history": (OpportunityStageHistory, ("opportunity_id", "stage"), {"account_id": "accounts"}),
    "intent_signals": (IntentSignals, ("signal_id",), {"account_id": "accounts"}),
    "referrals": (Referrals, ("referral_id",), {"account_id": "accounts"}),
    "exit_reasons": (ExitReasons, ("contract_id",), {"account_id": "accounts"}),
}


# Rules across columns of one row: (SQL predicate over the row's typed columns, reason when it is false).
ROW_RULES: dict[str, list[tuple[str, str]]] = {
    "contracts": [("end_date >= start_date", "end_date: must not be before start_date")],
    "csm_assignments": [("valid_to IS NULL OR valid_to >= valid_from", "valid_to: must not be before valid_from")],
}

# Tables that may not be empty: a header-only file for one of these blocks its load (the previous load stays).
REQUIRED_TABLES = ("accounts", "contracts")


def to_model_frame(model: type[pa.DataFrameModel], table) -> pd.DataFrame:
    """An Arrow table as the pandas frame its model expects (datetime64 dates, nullable Int64)."""
    frame = table.to_pandas(date_as_object=False)
    for name, column in model.to_schema().columns.items():
        if str(column.dtype) == "Int64":
            frame[name] = frame[name].astype("Int64")
    return frame
