"""The parts of a QBR pack a client cannot get elsewhere: peer benchmarks and what changed.

Benchmarks: percentile of the account among active peers of the same segment and tier
(tier only when fewer than MIN_PEERS share both). Anomalies: weekly series since the last
QBR tested against the 26 weeks before it. Methods: docs/reports.md.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from csm_analytics.lib.warehouse import fetch_dicts

MIN_PEERS = 5
BASELINE_WEEKS = 26
LEVEL_SHIFT_Z = 3.0       # |Welch z| of the mean since the QBR against the baseline mean
MIN_RELATIVE_SHIFT = 0.10  # ... and at least a 10 % move, so large books do not flag trivia
SPIKE_ROBUST_Z = 3.5      # one week's |value - baseline median| / (1.4826 x MAD)

BENCHMARKS = [  # column, label, higher_is_better
    ("seat_utilization", "Seat utilization (active users / seats)", True),
    ("key_events_per_user_day", "Adoption: key-feature events per user-day", True),
    ("tickets_per_100_seats", "Support load: tickets per 100 seats, 90 days", False),
    ("latest_nps", "NPS (latest response)", True),
]


def benchmarks(con, account_id: str, as_of: dt.date) -> dict:
    """Percentile ("better than x % of peers") on usage, adoption, support load and NPS."""
    rows = fetch_dicts(con, f"""
        WITH seats AS (
            SELECT account_id, sum(licensed_seats) AS seats FROM raw.contracts
            WHERE $2 BETWEEN start_date AND end_date GROUP BY 1
        ),
        tickets AS (
            SELECT account_id, count(*) AS tickets FROM raw.support_tickets
            WHERE CAST(opened_at AS DATE) BETWEEN CAST($2 AS DATE) - 89 AND $2 GROUP BY 1
        ),
        m AS (
            SELECT c.account_id, a.segment, a.tier, c.seat_utilization, c.key_events_per_user_day, c.latest_nps,
                   100.0 * coalesce(t.tickets, 0) / nullif(s.seats, 0) AS tickets_per_100_seats
            FROM core.account_health_components c JOIN raw.accounts a USING (account_id)
            JOIN seats s USING (account_id) LEFT JOIN tickets t USING (account_id)
            WHERE c.as_of_date = $2
        ),
        me AS (SELECT * FROM m WHERE account_id = $1),
        both_match AS (SELECT count(*) AS n FROM m, me WHERE m.segment = me.segment AND m.tier = me.tier)
        SELECT m.*, m.account_id = $1 AS is_me,
               CASE WHEN (SELECT n FROM both_match) >= {MIN_PEERS + 1} THEN 'segment and tier' ELSE 'tier' END AS peer_group
        FROM m, me WHERE m.tier = me.tier
          AND (m.segment = me.segment OR (SELECT n FROM both_match) < {MIN_PEERS + 1})""", [account_id, as_of])
    me = next((r for r in rows if r["is_me"]), None)
    if me is None:
        return {"peer_group": None, "peers": 0, "metrics": []}
    metrics = []
    for column, label, higher_better in BENCHMARKS:
        peers = [r[column] for r in rows if not r["is_me"] and r[column] is not None]
        mine = me[column]
        if mine is None or not peers:
            metrics.append({"metric": column, "label": label, "value": mine, "peer_median": None, "percentile": None})
            continue
        worse = sum((p < mine) if higher_better else (p > mine) for p in peers)
        ties = sum(p == mine for p in peers)
        metrics.append({"metric": column, "label": label, "value": mine, "peer_median": float(np.median(peers)),
                        "percentile": round(100.0 * (worse + 0.5 * ties) / len(peers))})
    group = f"{me['segment']} {me['tier']}" if rows[0]["peer_group"] == "segment and tier" else f"all {me['tier']}"
    return {"peer_group": group, "peers": len(rows) - 1, "metrics": metrics}


WEEKLY_SERIES = {
    "active_users": ("Active users", "SELECT week, avg(active_users) AS v FROM u GROUP BY week"),
    "key_feature_events": ("Key-feature events / day", "SELECT week, avg(key_feature_events) AS v FROM u GROUP BY week"),
    "logins": ("Logins / day", "SELECT week, avg(logins) AS v FROM u GROUP BY week"),
    "worker_count": ("Workers paid", "SELECT week, avg(worker_count) AS v FROM u GROUP BY week"),
    "tickets": ("Support tickets / week", "SELECT w.week, count(t.ticket_id) AS v FROM weeks w LEFT JOIN t "
                                          "ON t.week = w.week GROUP BY w.week"),
}


def _weekly(con, account_id: str, start: dt.date, end: dt.date) -> dict[str, dict[dt.date, float]]:
    ctes = f"""WITH u AS (SELECT CAST(date_trunc('week', usage_date) AS DATE) AS week, * FROM raw.product_usage
                      WHERE account_id = $1 AND usage_date BETWEEN $2 AND $3),
             t AS (SELECT CAST(date_trunc('week', opened_at) AS DATE) AS week, ticket_id FROM raw.support_tickets
                   WHERE account_id = $1 AND CAST(opened_at AS DATE) BETWEEN $2 AND $3),
             weeks AS (SELECT DISTINCT week FROM u)"""
    out = {}
    for key, (_, sql) in WEEKLY_SERIES.items():
        out[key] = {r["week"]: r["v"] for r in fetch_dicts(con, f"{ctes} {sql}", [account_id, start, end])
                    if r["v"] is not None}
    return out


def anomalies_since(con, account_id: str, since: dt.date, as_of: dt.date) -> list[dict]:
    """Level shifts (Welch z of the mean since `since` vs the 26 weeks before) and one-week spikes (robust z).

    Weeks are whole ISO weeks; the partial week containing `since` belongs to the baseline.
    """
    start = since - dt.timedelta(weeks=BASELINE_WEEKS)
    series = _weekly(con, account_id, start, as_of)
    cut = since - dt.timedelta(days=since.weekday()) + dt.timedelta(days=7)
    found = []
    for key, values in series.items():
        label = WEEKLY_SERIES[key][0]
        base = np.array([v for w, v in sorted(values.items()) if w < cut], dtype=float)
        after = [(w, v) for w, v in sorted(values.items()) if w >= cut and w + dt.timedelta(days=6) <= as_of]
        if len(base) < 8 or len(after) < 3:
            continue
        now = np.array([v for _, v in after], dtype=float)
        se = math.sqrt(base.var(ddof=1) / len(base) + now.var(ddof=1) / len(now))
        shift = now.mean() - base.mean()
        rel = shift / base.mean() if base.mean() else math.inf
        z = shift / se if se > 0 else (math.inf if shift else 0.0)
        if abs(z) >= LEVEL_SHIFT_Z and abs(rel) >= MIN_RELATIVE_SHIFT:
            found.append({"series": label, "kind": "level shift", "week": None,
                          "detail": f"{'up' if shift > 0 else 'down'} {abs(rel):.0%} "
                                    f"({base.mean():,.1f} → {now.mean():,.1f} per week, z = {z:+.1f})",
                          "strength": float(abs(z))})
        med = np.median(base)
        mad = 1.4826 * np.median(np.abs(base - med))
        if mad > 0:
            for week, v in after:
                rz = (v - med) / mad
                if abs(rz) >= SPIKE_ROBUST_Z and abs(v - med) >= MIN_RELATIVE_SHIFT * abs(med):
                    found.append({"series": label, "kind": "spike" if rz > 0 else "dip", "week": week,
                                  "detail": f"week of {week}: {v:,.1f} against a usual {med:,.1f} (robust z = {rz:+.1f})",
                                  "strength": float(abs(rz))})
    return sorted(found, key=lambda a: -a["strength"])[:8]


def changes_since(con, account_id: str, since: dt.date, as_of: dt.date) -> list[dict]:
    """Discrete events since the last QBR: band moves, renewals, critical incidents, NPS responses."""
    return fetch_dicts(con, """
        SELECT transition_date AS day, 'Health band' AS kind, from_band || ' → ' || to_band || ' (' || moved_by || ')' AS detail
        FROM core.health_band_transitions WHERE account_id = $1 AND transition_date > $2 AND transition_date <= $3
        UNION ALL
        SELECT end_date, 'Contract', 'contract ' || contract_id || ' ended: ' || renewal_outcome ||
               CASE WHEN downgrade_amount > 0 THEN ' (−' || CAST(round(downgrade_amount) AS BIGINT) || ' ARR)' ELSE '' END
        FROM raw.contracts WHERE account_id = $1 AND end_date > $2 AND end_date <= $3 AND renewal_outcome IS NOT NULL
        UNION ALL
        SELECT CAST(occurred_at AS DATE), 'Incident', severity || ' ' || replace(incident_type, '_', ' ')
        FROM raw.incidents WHERE account_id = $1 AND severity IN ('critical', 'high')
          AND CAST(occurred_at AS DATE) > $2 AND CAST(occurred_at AS DATE) <= $3
        UNION ALL
        SELECT response_date, 'NPS', 'NPS ' || score || ' from ' || coalesce(respondent_role, 'a contact')
        FROM raw.survey_responses WHERE account_id = $1 AND survey_type = 'NPS' AND response_date > $2 AND response_date <= $3
        ORDER BY 1""", [account_id, since, as_of])
