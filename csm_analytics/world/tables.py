"""Turn one chunk's latent state and events into Arrow tables of the canonical schemas."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from csm_analytics.canonical import schemas
from csm_analytics.lib.display import label
from csm_analytics.world.contracts import ContractBook
from csm_analytics.world.latent import (
    COUNTRIES,
    INDUSTRIES,
    PRODUCT_NAMES,
    SEGMENT_NAMES,
    TIER_NAMES,
    AccountTraits,
    CsmTraits,
    sigmoid,
)
from csm_analytics.world.signals import Events

EPOCH = dt.date(1970, 1, 1)
TOPICS = ["adoption review", "roadmap", "renewal planning", "support review", "new countries",
          "headcount plan", "compliance update", "payroll accuracy", "integrations", "executive alignment"]
ACTIONS = ["schedule admin training", "share adoption dashboard", "review open tickets", "draft expansion proposal",
           "confirm renewal timeline", "introduce new exec sponsor", "run payroll audit", "enable SSO"]


class ChunkWriter:
    """Helpers bound to one chunk: day indices to dates, indices to ids, pick-lists to strings."""

    def __init__(self, start: dt.date, acc: AccountTraits, csms: CsmTraits, chunk: int):
        self.base = (start - EPOCH).days
        self.acc = acc
        self.chunk = chunk
        self.account_ids = pa.array(acc.ids)
        self.csm_ids = pa.array(csms.ids)

    def date(self, day, mask=None) -> pa.Array:
        return pa.array((self.base + np.asarray(day)).astype(np.int32), pa.date32(), mask=mask)

    def ts(self, day, second, mask=None) -> pa.Array:
        micros = ((self.base + np.asarray(day)).astype(np.int64) * 86_400 + np.asarray(second).astype(np.int64))
        return pa.array(micros * 1_000_000, pa.timestamp("us"), mask=mask)

    def ids(self, prefix: str, count: int) -> pa.Array:
        nums = pc.cast(pa.array(np.arange(1, count + 1, dtype=np.int64)), pa.string())
        return pc.binary_join_element_wise(f"{prefix}{self.chunk:04d}-", nums, "")

    def accounts_of(self, idx) -> pa.Array:
        return self.account_ids.take(pa.array(np.asarray(idx, dtype=np.int64)))

    def contract_ids(self, idx, number) -> pa.Array:
        return pc.binary_join_element_wise(self.accounts_of(idx), pc.cast(pa.array(number), pa.string()), "-C")

    def csms_of(self, idx, mask=None) -> pa.Array:
        idx = np.asarray(idx, dtype=np.int64)
        out = self.csm_ids.take(pa.array(np.maximum(idx, 0)))
        if mask is None:
            return out
        return pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), out)

    @staticmethod
    def pick(names, idx, mask=None) -> pa.Array:
        return pa.array(np.asarray(names, dtype=object)[np.asarray(idx, dtype=np.int64)], pa.string(), mask=mask)


def _roles(depth_of_row, rng, count_max=3):
    """Attendee roles: a semicolon list drawn from the roles this relationship reaches."""
    roles = np.array(schemas.CONTACT_ROLES, dtype=object)
    k = np.minimum(depth_of_row, rng.integers(1, count_max + 1, len(depth_of_row)))
    return np.array([";".join(roles[:d][:n]) for d, n in zip(depth_of_row, k)], dtype=object)


def build_chunk_tables(w: ChunkWriter, csms: CsmTraits, book: ContractBook, ev: dict[str, Events],
                       usage: Events, rng, as_of_day: int, grain: str) -> dict[str, pa.Table]:
    acc = w.acc
    out: dict[str, pa.Table] = {}
    out["accounts"] = pa.table({
        "account_id": w.account_ids,
        "account_name": pc.binary_join_element_wise(pa.array(INDUSTRIES[acc.industry]), w.account_ids, " Co "),
        "tier": w.pick(TIER_NAMES, acc.tier), "segment": w.pick(SEGMENT_NAMES, acc.segment),
        "industry": w.pick(INDUSTRIES, acc.industry), "country": w.pick(COUNTRIES, acc.country),
        "product": w.pick(PRODUCT_NAMES, acc.product), "created_date": w.date(acc.created_day),
    })
    ai, cj = np.nonzero(book.valid)
    outcome = book.outcome[ai, cj]
    months = (acc.term_days[ai] * 12 // 365).astype(np.int64)
    out["contracts"] = pa.table({
        "contract_id": w.contract_ids(ai, book.number[ai, cj]),
        "account_id": w.accounts_of(ai), "start_date": w.date(book.start[ai, cj]), "end_date": w.date(book.end[ai, cj]),
        "arr": pa.array(book.arr[ai, cj]), "mrr": pa.array(np.round(book.arr[ai, cj] / 12, 2)),
        "term_months": pa.array(months), "licensed_seats": pa.array(book.seats[ai, cj].astype(np.int64)),
        "renewal_outcome": w.pick(np.array(["renewed", "downgraded", "churned", ""]), np.where(outcome < 0, 3, outcome), mask=outcome < 0),
        "downgrade_amount": pa.array(book.downgrade_amount[ai, cj]),
    })
    moved = acc.switch_day < as_of_day + 1
    first_from = np.minimum(acc.created_day, acc.active_from)
    a_idx = np.concatenate([np.arange(acc.n), np.flatnonzero(moved)])
    a_csm = np.concatenate([acc.owner_before, acc.owner_after[moved]])
    a_from = np.concatenate([first_from, acc.switch_day[moved]])
    a_to = np.concatenate([np.where(moved, acc.switch_day - 1, -10**6), np.full(moved.sum(), -10**6)])
    out["csm_assignments"] = pa.table({
        "account_id": w.accounts_of(a_idx), "csm_id": w.csms_of(a_csm), "valid_from": w.date(a_from),
        "valid_to": w.date(np.maximum(a_to, 0), mask=a_to < -10**5),
    })
    q = ev["qbrs"]
    held = q["held"]
    qi = {k: v[held] for k, v in q.items()}
    out["activities"] = _activities(w, ev["activities"], qi)
    m = len(qi["acc"])
    topic_idx = rng.integers(0, len(TOPICS), (m, 2))
    action_idx = rng.integers(0, len(ACTIONS), (m, 2))
    out["qbrs"] = pa.table({
        "qbr_id": w.ids("QBR", m), "account_id": w.accounts_of(qi["acc"]), "csm_id": w.csms_of(qi["owner"]),
        "qbr_date": w.date(qi["day"]),
        "topics": pc.binary_join_element_wise(w.pick(TOPICS, topic_idx[:, 0]), w.pick(TOPICS, topic_idx[:, 1]), ";"),
        "action_items": pc.binary_join_element_wise(w.pick(ACTIONS, action_idx[:, 0]), w.pick(ACTIONS, action_idx[:, 1]), ";"),
        "attendee_roles": pa.array(_roles(acc.depth[qi["acc"]], rng), pa.string()),
        "nps_at_qbr": pa.array(qi["nps"].astype(np.int64), mask=rng.random(m) < 0.2),
        "expansion_discussed": pa.array(qi["expansion_discussed"]), "referral_intent": pa.array(qi["referral_intent"]),
    })
    out["account_plans"] = _account_plans(w, csms, book, rng, as_of_day)
    t = ev["tickets"]
    resolved_sec = t["second"] + np.round(t["resolution_hours"] * 3600).astype(np.int64)
    open_now = t["day"] * 86_400 + resolved_sec > (as_of_day + 1) * 86_400
    out["support_tickets"] = pa.table({
        "ticket_id": w.ids("TKT", len(t["acc"])), "account_id": w.accounts_of(t["acc"]),
        "opened_at": w.ts(t["day"], t["second"]), "resolved_at": w.ts(t["day"], resolved_sec, mask=open_now),
        "priority": w.pick(schemas.TICKET_PRIORITIES, t["priority"]), "escalated": pa.array(t["escalated"]),
        "csat": pa.array(np.nan_to_num(t["csat"]).astype(np.int64), mask=np.isnan(t["csat"]) | open_now),
    })
    out["product_usage"] = pa.table({
        "account_id": w.accounts_of(usage["acc"]), "usage_date": w.date(usage["day"]),
        "grain": pa.array(np.full(len(usage["acc"]), grain, dtype=object), pa.string()),
        "active_users": pa.array(usage["active_users"]), "licensed_seats": pa.array(usage["seats"]),
        "logins": pa.array(usage["logins"]), "key_feature_events": pa.array(usage["key_feature_events"]),
        "worker_count": pa.array(usage["workers"]),
    })
    s = ev["surveys"]
    out["survey_responses"] = pa.table({
        "response_id": w.ids("SRV", len(s["acc"])), "account_id": w.accounts_of(s["acc"]),
        "survey_type": w.pick(schemas.SURVEY_TYPES, s["kind"]), "response_date": w.date(s["day"]),
        "score": pa.array(s["score"].astype(np.int64)), "respondent_role": w.pick(schemas.CONTACT_ROLES, s["role"]),
    })
    out["invoices"] = _invoices(w, book, ev["invoices"], as_of_day)
    inc = ev["incidents"]
    out["incidents"] = pa.table({
        "incident_id": w.ids("INC", len(inc["acc"])), "account_id": w.accounts_of(inc["acc"]),
        "occurred_at": w.ts(inc["day"], inc["second"]), "incident_type": w.pick(schemas.INCIDENT_TYPES, inc["kind"]),
        "severity": w.pick(schemas.SEVERITIES, inc["severity"]),
        "description": pc.binary_join_element_wise(w.pick([label(t) for t in schemas.INCIDENT_TYPES], inc["kind"]),
                                                   w.accounts_of(inc["acc"]), " reported by "),
    })
    out["expansion_opportunities"] = _opportunities(w, ev["opportunities"], as_of_day)
    return out


def _activities(w: ChunkWriter, a: Events, qbr: Events) -> pa.Table:
    n_a, n_q = len(a["acc"]), len(qbr["acc"])
    kind = np.concatenate([a["kind"], np.full(n_q, 2)])
    role = np.concatenate([a["role"], np.zeros(n_q, np.int64)])
    return pa.table({
        "activity_id": w.ids("ACT", n_a + n_q),
        "csm_id": w.csms_of(np.concatenate([a["owner"], qbr["owner"]])),
        "account_id": w.accounts_of(np.concatenate([a["acc"], qbr["acc"]])),
        "activity_type": w.pick(schemas.ACTIVITY_TYPES, kind),
        "activity_date": w.date(np.concatenate([a["day"], qbr["day"]])),
        "duration_minutes": pa.array(np.concatenate([a["minutes"], np.full(n_q, 60)]).astype(np.int64)),
        "contact_role": w.pick(schemas.CONTACT_ROLES, np.maximum(role, 0), mask=role < 0),
    })


def _account_plans(w: ChunkWriter, csms: CsmTraits, book: ContractBook, rng, as_of_day: int) -> pa.Table:
    """One plan per account per calendar year it is active; active CSMs refresh plans more often."""
    from csm_analytics.world.spec import TIERS

    acc = w.acc
    has_plan = rng.random(acc.n) < np.array([t.plan_share for t in TIERS.values()])[acc.tier]
    start_year = (dt.date.fromordinal(EPOCH.toordinal() + w.base)).year
    rows = []
    for year in range(start_year, start_year + as_of_day // 365 + 2):
        y0 = (dt.date(year, 1, 1) - EPOCH).days - w.base
        y1 = (dt.date(year, 12, 31) - EPOCH).days - w.base
        if y0 > as_of_day:
            break
        alive = has_plan & (acc.active_from <= min(y1, as_of_day)) & (book.active_to >= max(y0, 0))
        idx = np.flatnonzero(alive)
        owner = acc.owner_at(idx, np.full(len(idx), min(y1, as_of_day)))
        gap = rng.exponential(70.0 / csms.activity[owner])
        updated = np.maximum(np.minimum(min(y1, as_of_day), book.active_to[idx]) - gap, np.maximum(y0, acc.active_from[idx]))
        rows.append((idx, np.full(len(idx), year), updated.astype(np.int64)))
    idx = np.concatenate([r[0] for r in rows])
    year = np.concatenate([r[1] for r in rows])
    updated = np.concatenate([r[2] for r in rows])
    m = len(idx)
    objectives = w.pick(["grow adoption", "expand to new countries", "reduce payroll errors", "executive alignment"], rng.integers(0, 4, m))
    return pa.table({
        "plan_id": pc.binary_join_element_wise(w.accounts_of(idx), pc.cast(pa.array(year), pa.string()), "-P"),
        "account_id": w.accounts_of(idx), "period": pc.cast(pa.array(year), pa.string()),
        "objectives": objectives,
        "expansion_targets": w.pick(["add seats", "add EOR countries", "convert COR to EOR", ""], rng.integers(0, 4, m), mask=rng.random(m) < 0.3),
        "risk_mitigations": w.pick(["exec sponsor cadence", "admin retraining", "support review", ""], rng.integers(0, 4, m), mask=rng.random(m) < 0.4),
        "qbr_schedule": w.pick(["quarterly", "semi-annual", "annual", "quarterly"], acc.tier[idx]),
        "last_updated": w.date(updated),
    })


def _invoices(w: ChunkWriter, book: ContractBook, inv: Events, as_of_day: int) -> pa.Table:
    acc_i, day = inv["acc"], inv["day"]
    keep = day <= book.active_to[acc_i]
    acc_i, day = acc_i[keep], day[keep]
    failed, days_late = inv["failed"][keep], inv["days_late"][keep]
    col = book.at(acc_i, day)
    paid = day + days_late
    unpaid = paid > as_of_day
    contract_id = w.contract_ids(acc_i, book.number[acc_i, col])
    return pa.table({
        "invoice_id": w.ids("INV", len(acc_i)), "account_id": w.accounts_of(acc_i), "contract_id": contract_id,
        "amount": pa.array(np.round(book.arr[acc_i, col] / 12, 2)), "due_date": w.date(day),
        "paid_date": w.date(paid, mask=unpaid), "days_late": pa.array(np.minimum(days_late, np.maximum(as_of_day - day, 0)).astype(np.int64)),
        "failed_payment": pa.array(failed),
    })


def opportunity_stage(o: Events, as_of_day: int) -> tuple[np.ndarray, np.ndarray]:
    """(closed, stage index) of each opportunity on the as-of date; open ones progress with age."""
    closed = o["close_day"] <= as_of_day
    open_stage = np.minimum((o["progress"] * np.clip((as_of_day - o["day"]) / 60.0, 0.3, 1.0) * 4).astype(np.int64), 3)
    return closed, np.where(closed, np.where(o["won"], 4, 5), open_stage)


def _opportunities(w: ChunkWriter, o: Events, as_of_day: int) -> pa.Table:
    m = len(o["acc"])
    closed, stage = opportunity_stage(o, as_of_day)
    status = np.where(closed, np.where(o["won"], 1, 2), 0)
    attributed = o["attributed_owner"]
    ids = w.ids("OPP", m)
    return pa.table({
        "opportunity_id": ids, "account_id": w.accounts_of(o["acc"]),
        "stage": w.pick(schemas.OPPORTUNITY_STAGES, stage), "amount": pa.array(o["amount"]),
        "created_date": w.date(o["day"]), "close_date": w.date(o["close_day"], mask=~closed),
        "status": w.pick(schemas.OPPORTUNITY_STATUSES, status),
        "source_signal": w.pick(schemas.SOURCE_SIGNALS, o["signal"]),
        "attributed_csm_id": w.csms_of(attributed, mask=attributed < 0),
        "evidence_link": pc.if_else(pa.array(o["evidence"]), pc.binary_join_element_wise("https://crm.example.com/opportunities", ids, "/"), pa.scalar(None, pa.string())),
    })


def usage_periods(rng, acc: AccountTraits, book: ContractBook, health: np.ndarray, grain: str,
                  start: dt.date) -> Events:
    """Usage at the chosen grain. Active users track workers x engagement(health), capped by seats."""
    d = health.shape[1]
    if grain == "day":
        p_start = np.arange(d)
    elif grain == "week":
        p_start = np.arange(0, d, 7)
    else:
        dates = [start + dt.timedelta(days=i) for i in range(d)]
        p_start = np.array([i for i, x in enumerate(dates) if i == 0 or x.day == 1])
    p_len = np.diff(np.append(p_start, d))
    cum = np.zeros((acc.n, d + 1), dtype=np.float64)
    np.cumsum(health, axis=1, out=cum[:, 1:])
    h = (cum[:, p_start + p_len] - cum[:, p_start]) / p_len[None, :]
    alive = (p_start[None, :] >= acc.active_from[:, None]) & (p_start[None, :] <= book.active_to[:, None])
    idx, p = np.nonzero(alive)
    day, length, hp = p_start[p], p_len[p], h[idx, p]
    seats = book.seats[idx, book.at(idx, day)]
    workers = acc.workers0[idx] * np.exp(acc.growth[idx] * day / 365.0) * np.exp(rng.normal(0, 0.01, len(idx)))
    engagement = 0.25 + 0.6 * sigmoid(1.2 * hp)
    dau = np.minimum(seats, workers * engagement * np.exp(rng.normal(0, 0.06, len(idx))))
    return {
        "acc": idx, "day": day, "seats": seats.astype(np.int64), "workers": np.round(workers).astype(np.int64),
        "active_users": np.round(dau, 2),
        "logins": rng.poisson(dau * length * 1.6),
        "key_feature_events": rng.poisson(dau * length * 0.9 * sigmoid(1.5 * hp + 0.3)),
    }
