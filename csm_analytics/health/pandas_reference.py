"""The health score for one day, written carefully in pandas.

Not used by any asset. It exists to (1) cross-check the SQL in `components.py` and
`scoring.py` (a test asserts both give the same score on every account) and (2) give
`make bench` a fair pandas baseline: each Parquet file is read once, only the columns the
score needs, and with `as_of` only the rows inside the longest window each table is read
for (pushed down to the Parquet reader); every component is then computed with vectorised
group-bys over those rows. A baseline that read whole tables would flatter the SQL.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from csm_analytics.health.components import LOOKBACK_DAYS
from csm_analytics.health.config import COMPONENTS, HealthConfig

COLUMNS = {
    "accounts": ["account_id", "tier", "created_date"],
    "contracts": ["account_id", "start_date", "end_date", "renewal_outcome"],
    "product_usage": ["account_id", "usage_date", "grain", "active_users", "licensed_seats", "key_feature_events"],
    "activities": ["account_id", "activity_date", "activity_type", "contact_role"],
    "qbrs": ["account_id", "qbr_date", "attendee_roles"],
    "support_tickets": ["account_id", "opened_at", "resolved_at", "escalated", "csat"],
    "invoices": ["account_id", "due_date", "paid_date", "days_late", "failed_payment"],
    "survey_responses": ["account_id", "response_id", "survey_type", "response_date", "score"],
    "incidents": ["account_id", "occurred_at", "incident_type", "severity"],
}
TABLES = list(COLUMNS)


def _filters(as_of: dt.date) -> dict[str, list]:
    """Per table, the rows any component can read on `as_of` (a superset of every window; the exact windows
    are applied again below). Dates are compared as dates, timestamps from midnight."""
    def day(n):  # the first day of "the last n days"
        return as_of - dt.timedelta(days=n - 1)

    def ts(d):
        return dt.datetime.combine(d, dt.time())

    end = ts(as_of + dt.timedelta(days=1))
    return {
        "contracts": [("start_date", "<=", as_of)],
        "product_usage": [("usage_date", ">=", day(90)), ("usage_date", "<=", as_of)],
        "activities": [("activity_date", ">=", day(90)), ("activity_date", "<=", as_of)],
        "qbrs": [("qbr_date", ">=", day(730)), ("qbr_date", "<=", as_of)],
        # opened in 180 days (escalations, open tickets, resolution) or resolved in 180 days (ticket CSAT)
        "support_tickets": [[("opened_at", ">=", ts(day(180))), ("opened_at", "<", end)],
                            [("resolved_at", ">=", ts(day(180))), ("resolved_at", "<", end)]],
        "invoices": [("due_date", ">=", day(180)), ("due_date", "<=", as_of)],
        "survey_responses": [("response_date", ">=", day(365)), ("response_date", "<=", as_of)],
        "incidents": [("occurred_at", ">=", ts(day(180))), ("occurred_at", "<", end)],
    }


def read_raw(raw_dir: Path, as_of: dt.date | None = None) -> dict[str, pd.DataFrame]:
    """Each table once, only the columns the score reads; with `as_of`, only the rows its windows can reach."""
    filters = _filters(as_of) if as_of else {}
    raw = {t: pq.read_table(Path(raw_dir) / f"{t}.parquet", columns=cols, filters=filters.get(t))
           .to_pandas(date_as_object=False) for t, cols in COLUMNS.items()}
    # the cold-start rule needs the first day of data, which a windowed read no longer holds
    dates = pq.read_table(Path(raw_dir) / "product_usage.parquet", columns=["usage_date"]).column("usage_date")
    raw["product_usage"].attrs["first_day"] = pd.Timestamp(pc.min(dates).as_py())
    return raw


def _window(df, col, d, days, inclusive_end=True):
    c = df[col].dt.normalize() if hasattr(df[col], "dt") else df[col]
    return df[(c > d - pd.Timedelta(days=days)) & (c <= d if inclusive_end else c < d)]


def _clamp(x, lo=0.0, hi=100.0):
    return np.clip(x, lo, hi)


def health_components_pandas(raw: dict[str, pd.DataFrame], as_of: dt.date, config: HealthConfig) -> pd.DataFrame:
    d = pd.Timestamp(as_of)
    c = raw["contracts"]
    spine = c[(c.start_date <= d) & (c.end_date >= d)].sort_values("start_date").groupby("account_id").tail(1)
    spine = spine.merge(raw["accounts"][["account_id", "tier", "created_date"]], on="account_id")
    spine["touches_per_month"] = spine.tier.map({t: v.touches_per_month for t, v in config.targets.items()})
    spine["qbr_every_days"] = spine.tier.map({t: v.qbr_every_days for t, v in config.targets.items()})
    s = spine.set_index("account_id")

    u = raw["product_usage"].copy()
    u["period_days"] = np.where(u.grain == "day", 1, np.where(u.grain == "week", 7, u.usage_date.dt.days_in_month))
    u = u[(u.usage_date > d - pd.Timedelta(days=90)) & (u.usage_date + pd.to_timedelta(u.period_days - 1, unit="D") <= d)]
    recent = u[u.usage_date > d - pd.Timedelta(days=30)].assign(user_days=lambda x: x.active_users * x.period_days)
    g = recent.groupby("account_id")
    s["seat_utilization"] = g.active_users.mean() / g.licensed_seats.mean()
    s["key_events_per_user_day"] = g.key_feature_events.sum() / g.user_days.sum().replace(0, np.nan)
    prior = u[u.usage_date <= d - pd.Timedelta(days=60)].groupby("account_id").active_users.mean()
    s["usage_trend"] = g.active_users.mean() / prior.replace(0, np.nan)

    a = _window(raw["activities"], "activity_date", d, 90)
    touches = a[a.activity_type != "internal_review"]
    s["touches_30d"] = touches[touches.activity_date > d - pd.Timedelta(days=30)].groupby("account_id").size()
    s["touches_90d"] = touches.groupby("account_id").size()
    q = raw["qbrs"]
    q90 = _window(q, "qbr_date", d, 90)
    qroles = q90.assign(role=q90.attendee_roles.str.split(";")).explode("role")[["account_id", "role"]]
    roles = pd.concat([a[a.contact_role.notna()].rename(columns={"contact_role": "role"})[["account_id", "role"]], qroles])
    s["roles_90d"] = roles.groupby("account_id").role.nunique()
    s["last_qbr_date"] = _window(q, "qbr_date", d, 730).groupby("account_id").qbr_date.max()

    t = raw["support_tickets"]
    opened = t.opened_at.dt.normalize()
    resolved = t.resolved_at.dt.normalize()
    t = t[(opened <= d) & (opened > d - pd.Timedelta(days=180))].assign(opened=opened, resolved=resolved)
    s["escalations_90d"] = t[t.escalated & (t.opened > d - pd.Timedelta(days=90))].groupby("account_id").size()
    s["open_tickets"] = t[t.resolved_at.isna() | (t.resolved > d)].groupby("account_id").size()
    done = t[(t.resolved <= d) & (t.opened > d - pd.Timedelta(days=90))]
    s["median_resolution_hours_90d"] = ((done.resolved_at - done.opened_at).dt.total_seconds() / 3600).groupby(done.account_id).median()

    i = raw["invoices"]
    i = i[(i.due_date <= d) & (i.due_date > d - pd.Timedelta(days=180))]
    gi = i.groupby("account_id")
    s["failed_payments_180d"] = gi.failed_payment.sum()
    s["late_payments_180d"] = i[(i.paid_date <= d) & (i.days_late > 0)].groupby("account_id").size()
    s["overdue_invoices"] = i[(i.paid_date.isna() | (i.paid_date > d)) & (i.due_date < d)].groupby("account_id").size()
    has_invoice = s.index.isin(gi.size().index)

    r = raw["survey_responses"]
    nps = _window(r[r.survey_type == "NPS"], "response_date", d, 365).sort_values(["response_date", "response_id"])
    s["latest_nps"] = nps.groupby("account_id").score.last()
    full_t = raw["support_tickets"]
    ft_res = full_t.resolved_at.dt.normalize()
    csat = pd.concat([
        _window(r[r.survey_type == "CSAT"], "response_date", d, 180)[["account_id", "score"]],
        full_t[full_t.csat.notna() & (ft_res <= d) & (ft_res > d - pd.Timedelta(days=180))].rename(columns={"csat": "score"})[["account_id", "score"]],
    ])
    s["csat_180d"] = csat.groupby("account_id").score.mean()
    ended = c[c.end_date < d].sort_values("end_date").groupby("account_id").tail(1).set_index("account_id")
    s["last_renewal_outcome"] = ended.renewal_outcome
    inc = raw["incidents"]
    inc = inc[(inc.occurred_at.dt.normalize() <= d) & (inc.occurred_at.dt.normalize() > d - pd.Timedelta(days=180))]
    critical = (inc.incident_type == "payroll_error") | (inc.severity == "critical")
    s["critical_incidents_180d"] = inc[critical].groupby("account_id").size()
    s["other_incidents_180d"] = inc[~critical].groupby("account_id").size()

    for col in ["touches_30d", "touches_90d", "roles_90d", "escalations_90d", "open_tickets",
                "critical_incidents_180d", "other_incidents_180d"]:
        s[col] = s[col].fillna(0)
    for col in ["late_payments_180d", "overdue_invoices"]:
        s[col] = s[col].fillna(0).where(has_invoice)
    tenure = (d - s.created_date).dt.days
    usage = raw["product_usage"]
    history_days = (d - usage.attrs.get("first_day", usage.usage_date.min())).days + 1  # cold start: components.LOOKBACK_DAYS
    days_since_qbr = (d - s.last_qbr_date).dt.days
    out = pd.DataFrame(index=s.index)
    out["tier"] = s.tier
    trend_part = _clamp((s.usage_trend - 0.7) / 0.4, 0, 1).fillna(0.5)
    out["usage"] = (100 * (0.6 * _clamp((s.seat_utilization - 0.3) / 0.6, 0, 1)
                           + 0.2 * np.minimum(s.key_events_per_user_day.fillna(0) / 0.7, 1) + 0.2 * trend_part))
    out["engagement"] = 100 * (0.4 * np.minimum(s.touches_30d / s.touches_per_month, 1)
                               + 0.6 * np.minimum(s.touches_90d / (3 * s.touches_per_month), 1))
    if history_days < LOOKBACK_DAYS["engagement"]:
        out["engagement"] = np.nan
    unknown_qbr = (tenure < s.qbr_every_days) | (history_days < s.qbr_every_days)
    out["qbr"] = np.where(s.last_qbr_date.isna(), np.where(unknown_qbr, np.nan, 0.0),
                          100 * _clamp((2 * s.qbr_every_days - days_since_qbr) / s.qbr_every_days, 0, 1))
    res = _clamp(np.log2(s.median_resolution_hours_90d.fillna(8) / 8), 0, 3)
    out["support"] = _clamp(100 - 15 * s.escalations_90d - 5 * s.open_tickets - 10 * res)
    out["payment"] = _clamp(100 - 30 * s.failed_payments_180d - 8 * s.late_payments_180d - 25 * s.overdue_invoices)
    nps_part = _clamp(100 * (s.latest_nps - 3) / 7)
    csat_part = _clamp(100 * (s.csat_180d - 2) / 3)
    out["sentiment"] = np.where(nps_part.notna() & csat_part.notna(), 0.6 * nps_part + 0.4 * csat_part,
                                nps_part.fillna(csat_part))
    out["relationship"] = 100 * np.minimum(s.roles_90d / 5, 1)
    if history_days < LOOKBACK_DAYS["relationship"]:
        out["relationship"] = np.nan
    days_to_renewal = (s.end_date - d).dt.days
    out["renewal"] = _clamp(40 + 60 * np.minimum(tenure, 365) / 365 - 30 * (s.last_renewal_outcome == "downgraded")
                            - 10 * (days_to_renewal <= 90))
    out["incidents"] = _clamp(100 - 40 * s.critical_incidents_180d - 10 * s.other_incidents_180d)
    return out.round(2)


def health_score_pandas(components: pd.DataFrame, config: HealthConfig) -> pd.Series:
    weights = pd.DataFrame([config.weights[t] for t in components.tier], index=components.index)[list(COMPONENTS)]
    values = components[list(COMPONENTS)].astype(float)
    weights = weights.where(values.notna())
    effective = weights.div(weights.sum(axis=1), axis=0) * 100
    return (effective * values / 100).sum(axis=1).round(2)
