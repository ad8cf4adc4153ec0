"""A hand-built book for the daily brief and the heatmap: two CSMs, nine accounts, one reason each.

As of 2026-09-30. Tier cadences are the shipped ones (Enterprise and Strategic QBRs every 90 days,
Growth 180, Core 365); the brief's thresholds are the shipped ones (renewal 90 days, health drop 10
points, actions due 30 days after their QBR). CSM01's accounts, in the order the brief must list them:

| account | why | priority |
|---|---|---|
| A2 | At risk, renews 2026-10-10 (10 days), ARR 90k | 1 (more ARR than A) |
| A  | At risk, renews 2026-11-11 (42 days), ARR 50k | 1 |
| B  | score fell 14.2 points in 30 days (support -8.1, engagement -4.0) | 2 |
| C  | an open critical alert (payroll error) | 3 |
| D  | Enterprise, last QBR 2026-05-01 (152 days > 90) | 4 |
| E  | Strategic, plan last updated 2026-05-01 (152 days > 90) | 5 |
| F  | Growth, QBR 2026-08-01 with 2 action items, neither done (no evidence) 30 days later | 6 |

G (CSM01) and H (CSM02) have nothing to flag and must not appear: G's item is not yet due, and H's
("enable SSO", QBR 2026-01-01) was done by a call with an Admin on 2026-02-01 (the evidence rule of
marts.qbr_action_items). Every other call is with the Champion, which is evidence for neither item.
"""

from __future__ import annotations

import datetime as dt

from csm_analytics_tests.fixtures import empty_raw_warehouse, insert

D = dt.date
AS_OF = D(2026, 9, 30)
ALERTS = [{"account_id": "C", "event_date": "2026-09-29", "headline": "payroll error (critical)"}]

#            account, tier, csm, band, delta_30d, moved_30d, renewal, arr
ACCOUNTS = [("A2", "Enterprise", "CSM01", "At risk", -2.0, "usage -2.0", D(2026, 10, 10), 90_000.0),
            ("A", "Enterprise", "CSM01", "At risk", -1.0, "usage -1.0", D(2026, 11, 11), 50_000.0),
            ("B", "Enterprise", "CSM01", "Watch", -14.2, "support -8.1, engagement -4.0, usage +1.2", D(2027, 6, 30), 80_000.0),
            ("C", "Growth", "CSM01", "Watch", 0.0, "", D(2027, 6, 30), 30_000.0),
            ("D", "Enterprise", "CSM01", "Healthy", 1.0, "usage +1.0", D(2027, 6, 30), 200_000.0),
            ("E", "Strategic", "CSM01", "Healthy", 0.0, "", D(2027, 6, 30), 300_000.0),
            ("F", "Growth", "CSM01", "Healthy", 0.0, "", D(2027, 6, 30), 20_000.0),
            ("G", "Growth", "CSM01", "Healthy", 0.0, "", D(2027, 6, 30), 10_000.0),
            ("H", "Core", "CSM02", "At risk", -5.0, "usage -5.0", D(2027, 1, 8), 40_000.0)]
# last QBR and its action items; every QBR is also a 'QBR' activity
QBRS = {"A2": (D(2026, 9, 10), "enable SSO;run payroll audit"), "A": (D(2026, 9, 10), "enable SSO;run payroll audit"),
        "B": (D(2026, 9, 10), "enable SSO;run payroll audit"), "C": (D(2026, 9, 10), "enable SSO;run payroll audit"),
        "D": (D(2026, 5, 1), "enable SSO"), "E": (D(2026, 9, 1), "enable SSO;run payroll audit"),
        "F": (D(2026, 8, 1), "enable SSO;run payroll audit"), "G": (D(2026, 9, 15), "enable SSO"),
        "H": (D(2026, 1, 1), "enable SSO")}
# client touches besides the QBRs, all with the Champion (F has none after its QBR)
CALLS = {"A2": D(2026, 9, 20), "A": D(2026, 9, 21), "B": D(2026, 9, 22), "C": D(2026, 9, 23), "D": D(2026, 9, 24),
         "E": D(2026, 9, 25), "F": D(2026, 7, 1), "G": D(2026, 9, 26), "H": D(2026, 2, 1)}
PLANS = {"A2": D(2026, 9, 1), "A": D(2026, 9, 1), "B": D(2026, 9, 1), "D": D(2026, 9, 1), "E": D(2026, 5, 1)}
# health components on the as-of day: incidents, payment, engagement, usage, sentiment (None = no data)
COMPONENTS = {"A2": (60, 100, 40, 50, None), "A": (100, 0, 0, 20, 10), "B": (100, 100, 100, 100, 100),
              "C": (20, 80, 90, 70, 60), "D": (100, 90, 80, 70, 60), "E": (100, 100, 50, 50, 50),
              "F": (100, 100, 100, 90, 100), "G": (100, 100, 100, 100, 95), "H": (0, 0, 0, 0, 0)}


def build_book(path):
    """The raw tables, core.account_health_score / core.account_health_components, marts.account_plan_status and
    marts.qbr_action_items."""
    from csm_analytics.lib.warehouse import replace_table
    from csm_analytics.portfolio.metrics import account_plan_status_sql
    from csm_analytics.reports.qbr.pipeline import qbr_action_items_sql

    con = empty_raw_warehouse(path)
    insert(con, "csms", [dict(csm_id=c, name=f"{n} Smith", capacity=30, start_date=D(2020, 1, 1), manager="Morgan Lee",
                              slack_user_id=f"U{c}") for c, n in (("CSM01", "Ada"), ("CSM02", "Bo"))])
    insert(con, "accounts", [dict(account_id=a, account_name=f"{a} Corp", tier=t, segment="Large", industry="Media",
                                  country="US", product="EOR", created_date=D(2024, 1, 1)) for a, t, *_ in ACCOUNTS])
    insert(con, "contracts", [dict(contract_id=f"K{a}", account_id=a, start_date=renewal.replace(year=renewal.year - 1),
                                   end_date=renewal, arr=arr, mrr=arr / 12, term_months=12, licensed_seats=10,
                                   renewal_outcome=None, downgrade_amount=0.0)
                              for a, _, _, _, _, _, renewal, arr in ACCOUNTS])
    insert(con, "csm_assignments", [dict(account_id=a, csm_id=c, valid_from=D(2024, 1, 1), valid_to=None)
                                    for a, _, c, *_ in ACCOUNTS])
    insert(con, "qbrs", [dict(qbr_id=f"Q{a}", account_id=a, csm_id="CSM01", qbr_date=d, topics="roadmap", action_items=items,
                              attendee_roles="Champion", nps_at_qbr=8, expansion_discussed=False, referral_intent=False)
                         for a, (d, items) in QBRS.items()])
    insert(con, "activities", [dict(activity_id=f"{kind}{a}", csm_id="CSM01", account_id=a, activity_type=kind,
                                    activity_date=d, duration_minutes=30, contact_role="Champion")
                               for kind, days in (("QBR", {a: q[0] for a, q in QBRS.items()}), ("call", CALLS))
                               for a, d in days.items()]
                              + [dict(activity_id="adminH", csm_id="CSM02", account_id="H", activity_type="call",
                                      activity_date=D(2026, 2, 1), duration_minutes=30, contact_role="Admin")])
    insert(con, "account_plans", [dict(plan_id=f"P{a}", account_id=a, period="2026", objectives="grow adoption",
                                       expansion_targets=None, risk_mitigations=None, qbr_schedule="quarterly",
                                       last_updated=d) for a, d in PLANS.items()])
    insert(con, "product_usage", [dict(account_id="A", usage_date=AS_OF, grain="day", active_users=1.0, licensed_seats=1,
                                       logins=1, key_feature_events=1, worker_count=1)])  # fixes the last day of data
    con.execute("CREATE SCHEMA core")
    con.execute("CREATE TABLE core.account_health_score (account_id VARCHAR, tier VARCHAR, as_of_date DATE, "
                "health_score DOUBLE, band VARCHAR, delta_30d DOUBLE, moved_30d VARCHAR)")
    con.executemany("INSERT INTO core.account_health_score VALUES (?, ?, ?, 50, ?, ?, ?)",
                    [(a, t, AS_OF, band, delta, moved) for a, t, _, band, delta, moved, _, _ in ACCOUNTS])
    con.execute("CREATE TABLE core.account_health_components (account_id VARCHAR, as_of_date DATE, tier VARCHAR, "
                "incidents DOUBLE, payment DOUBLE, engagement DOUBLE, usage DOUBLE, sentiment DOUBLE)")
    tiers = {a: t for a, t, *_ in ACCOUNTS}
    con.executemany("INSERT INTO core.account_health_components VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(a, day, tiers[a], *values) for a, values in COMPONENTS.items() for day in (AS_OF - dt.timedelta(1), AS_OF)])
    replace_table(con, "marts.account_plan_status", account_plan_status_sql())
    replace_table(con, "marts.qbr_action_items", qbr_action_items_sql())
    return con
