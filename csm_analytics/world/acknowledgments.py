"""Historical alert acknowledgments: how fast each CSM answered critical alerts before this platform.

A team migrating from another tool brings this history. The generator simulates it for the
alerts it can name (failed payments, escalated high/urgent tickets, payroll errors and critical
incidents, keyed as the default alert rules key them): each ack delay is drawn around the owning
CSM's own median response time, and slow CSMs leave more alerts unacknowledged.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from csm_analytics.world.latent import AccountTraits, CsmTraits


def _events(w, tables: dict[str, pa.Table]):
    inv, tkt, inc = tables["invoices"], tables["support_tickets"], tables["incidents"]
    failed = inv.filter(inv["failed_payment"])
    escalated = tkt.filter(pc.and_(tkt["escalated"], pc.is_in(tkt["priority"], pa.array(["high", "urgent"]))))
    critical = inc.filter(pc.or_(pc.equal(inc["incident_type"], "payroll_error"), pc.equal(inc["severity"], "critical")))
    parts = [("payment_failure:", failed["invoice_id"], failed["account_id"], pc.cast(failed["due_date"], pa.int32())),
             ("support_escalation:", escalated["ticket_id"], escalated["account_id"],
              pc.cast(pc.cast(escalated["opened_at"], pa.date32()), pa.int32())),
             ("critical_incident:", critical["incident_id"], critical["account_id"],
              pc.cast(pc.cast(critical["occurred_at"], pa.date32()), pa.int32()))]
    keys = pa.concat_arrays([pc.binary_join_element_wise(prefix, pc.cast(ids, pa.string()).combine_chunks(), "")
                             for prefix, ids, _, _ in parts])
    accounts = pa.concat_arrays([a.combine_chunks() for _, _, a, _ in parts])
    days = np.concatenate([d.to_numpy() for _, _, _, d in parts]).astype(np.int64) - w.base
    return keys, accounts, days


def alert_acknowledgments(w, acc: AccountTraits, csms: CsmTraits, tables: dict[str, pa.Table], rng,
                          as_of_day: int) -> pa.Table:
    keys, accounts, days = _events(w, tables)
    idx = np.searchsorted(acc.ids, accounts.to_numpy(zero_copy_only=False))
    owner = acc.owner_at(idx, days)
    m = len(days)
    sent = days * 86_400 + 9 * 3600 + rng.integers(0, 8 * 3600, m)
    median_hours = csms.responsiveness_hours[owner]
    delay = median_hours * np.exp(rng.normal(0, 0.8, m)) * 3600
    acked = sent + delay.astype(np.int64)
    never = (rng.random(m) < 0.04 + 0.02 * median_hours) | (acked > (as_of_day + 1) * 86_400)
    return pa.table({
        "alert_key": keys, "account_id": accounts, "csm_id": w.csms_of(owner),
        "sent_at": w.ts(np.zeros(m, np.int64), sent), "acknowledged_at": w.ts(np.zeros(m, np.int64), acked, mask=never),
    })
