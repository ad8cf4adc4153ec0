"""Analytics adoption per CSM: one definition for the Data adoption KPI, the adoption-vs-outcome correlation and
the workspace's adoption table (docs/metrics.md, "Data adoption").

A login is a real workspace login (`raw.workspace_events`, event `login`, by a user with a CSM id) wherever one
exists: from a CSM's first workspace login on, only real logins count for that CSM; before it, and for a CSM who
never logged in to the workspace, the simulated `raw.dashboard_logins` stand in. Every figure says, per CSM, which
source its window used: `workspace` (the window starts after the switch), `simulated` (no workspace login before
the window's end) or `mixed` (the switch fell inside the window).
"""

from __future__ import annotations

SIMULATED = "SELECT csm_id, login_at::TIMESTAMP AS login_at, 'simulated' AS source FROM raw.dashboard_logins"

REAL_LOGINS = """
real_logins AS (SELECT csm_id, timezone('UTC', recorded_at) AS login_at FROM raw.workspace_events
                WHERE event = 'login' AND csm_id IS NOT NULL),
csm_login_switch AS (SELECT csm_id, min(login_at) AS real_from FROM real_logins GROUP BY csm_id),
csm_logins AS (
    SELECT csm_id, login_at, 'workspace' AS source FROM real_logins
    UNION ALL
    SELECT d.csm_id, d.login_at::TIMESTAMP, 'simulated' FROM raw.dashboard_logins d LEFT JOIN csm_login_switch s USING (csm_id)
    WHERE s.real_from IS NULL OR d.login_at < s.real_from
)"""

SIMULATED_ONLY = f"""
csm_login_switch AS (SELECT NULL::VARCHAR AS csm_id, NULL::TIMESTAMP AS real_from WHERE false),
csm_logins AS ({SIMULATED})"""


def with_csm_logins(sql: str, real_events: bool) -> str:
    """`sql` with its inputs `csm_logins` (csm_id, login_at UTC, source) and `csm_login_switch` (csm_id, real_from)
    bound; `real_events` = whether raw.workspace_events exists (it does once the workspace side store was ingested).
    A query that reads neither is returned unchanged."""
    if "csm_logins" not in sql and "csm_login_switch" not in sql:
        return sql
    return f"WITH {REAL_LOGINS if real_events else SIMULATED_ONLY} SELECT * FROM ({sql})"


def login_source_sql(start: str, end: str, switch: str = "sw") -> str:
    """Which logins a CSM's window [start, end] (SQL date expressions) counted, from its `csm_login_switch` row."""
    return (f"CASE WHEN {switch}.real_from IS NULL OR {switch}.real_from::DATE > {end} THEN 'simulated' "
            f"WHEN {switch}.real_from <= ({start})::TIMESTAMP THEN 'workspace' ELSE 'mixed' END")


def csm_adoption_sql(as_of: str) -> str:
    """Per CSM on `as_of` (a SQL date expression): logins in each of the four 7-day weeks ending on it (week 0 =
    as_of - 6 .. as_of), logins per week over the 28 days, adopted (>= 3 logins in each of the four weeks) and the
    source. Reads `csm_logins` and `csm_login_switch` (wrap with `with_csm_logins`)."""
    return f"""
SELECT s.csm_id,
       count(l.login_at) FILTER ((({as_of}) - l.login_at::DATE) // 7 = 0) AS logins_week_0,
       count(l.login_at) FILTER ((({as_of}) - l.login_at::DATE) // 7 = 1) AS logins_week_1,
       count(l.login_at) FILTER ((({as_of}) - l.login_at::DATE) // 7 = 2) AS logins_week_2,
       count(l.login_at) FILTER ((({as_of}) - l.login_at::DATE) // 7 = 3) AS logins_week_3,
       count(l.login_at) / 4.0 AS logins_per_week_28d,
       least(logins_week_0, logins_week_1, logins_week_2, logins_week_3) >= 3 AS adopted,
       any_value({login_source_sql(f"({as_of}) - 27", as_of)}) AS login_source
FROM raw.csms s
LEFT JOIN csm_login_switch sw USING (csm_id)
LEFT JOIN csm_logins l ON l.csm_id = s.csm_id AND l.login_at::DATE BETWEEN ({as_of}) - 27 AND ({as_of})
GROUP BY s.csm_id ORDER BY s.csm_id
"""


def source_summary_sql(per_csm: str) -> str:
    """One text naming how many CSMs each source served, e.g. `simulated for 5 CSMs, workspace for 2 CSMs`, from a
    query with a `login_source` column per CSM (coaching.login_sources words it the same way)."""
    return f"""
SELECT string_agg(login_source || ' for ' || n || CASE WHEN n = 1 THEN ' CSM' ELSE ' CSMs' END, ', ' ORDER BY login_source)
FROM (SELECT login_source, count(*) AS n FROM ({per_csm}) GROUP BY login_source)
"""
