"""SQL that turns components into scores, bands, drivers, deltas and band transitions.

Weights come from the tier's profile. A NULL component drops out and the
weights of the others are scaled up to sum to 100 (proportional
redistribution), so the score stays on 0-100. Every component contributes
`points` = effective weight x component / 100; the score is their sum, and
`lost` = effective weight - points is what the component costs the account.
"""

from __future__ import annotations

import datetime as dt

from csm_analytics.canonical.sql import sql_literal
from csm_analytics.health.config import COMPONENTS, HealthConfig
from csm_analytics.lib.warehouse import table_columns


def weights_values(config: HealthConfig) -> str:
    rows = ", ".join(f"('{tier}', '{c}', {w})" for tier, profile in config.weights.items() for c, w in profile.items())
    return f"(VALUES {rows}) AS w(tier, component, weight)"


def band_sql(score: str, config: HealthConfig) -> str:
    return (f"CASE WHEN {score} >= {config.healthy} THEN 'Healthy' "
            f"WHEN {score} >= {config.watch} THEN 'Watch' ELSE 'At risk' END")


def history_sql(start: dt.date, end: dt.date, config: HealthConfig,
                components_table: str = "core.account_health_components") -> str:
    """One row per account-day in [start, end]: score, band, points and lost points per component, and the
    version of the health config that scored it (`HealthConfig.version`), so the days it changed can be shown.

    `trend_30d` is left NULL here and filled by `trend_update_sql`, which needs
    the 29 days before the range as well.
    """
    cols = ", ".join(COMPONENTS)
    points = ",\n    ".join(
        f"round(sum(points) FILTER (component = '{c}'), 2) AS pts_{c}" for c in COMPONENTS)
    lost = ",\n    ".join(
        f"round(sum(effective_weight - points) FILTER (component = '{c}'), 2) AS lost_{c}" for c in COMPONENTS)
    # ORDER BY in the sums fixes the float addition order, so a re-run gives the same score to the cent.
    return f"""
WITH long AS (
    UNPIVOT (SELECT account_id, as_of_date, tier, {cols} FROM {components_table}
             WHERE as_of_date BETWEEN DATE '{start}' AND DATE '{end}')
    ON {cols} INTO NAME component VALUE value
),
weighted AS (
    SELECT l.account_id, l.as_of_date, l.tier, l.component, l.value,
           100.0 * w.weight / sum(w.weight) OVER (PARTITION BY l.account_id, l.as_of_date) AS effective_weight
    FROM long l JOIN {weights_values(config)} USING (tier, component)
),
scored AS (
    SELECT *, effective_weight * value / 100.0 AS points FROM weighted
)
SELECT account_id, as_of_date, any_value(tier) AS tier,
    round(sum(points ORDER BY component), 2) AS health_score,
    {band_sql('round(sum(points ORDER BY component), 2)', config)} AS band,
    {points},
    {lost},
    CAST(NULL AS DOUBLE) AS trend_30d,
    {sql_literal(config.version())} AS config_version
FROM scored
GROUP BY account_id, as_of_date
"""


def add_config_version_column(con, table: str = "core.account_health_history") -> bool:
    """Give a history written before config versions were recorded its `config_version` column (NULL, unknown, on
    the days already there), so the next daily run appends to it rather than refusing the changed columns.
    Returns whether the column was added."""
    have = table_columns(con, table)
    if not have or "config_version" in have:
        return False
    con.execute(f"ALTER TABLE {table} ADD COLUMN config_version VARCHAR")
    return True


def trend_update_sql(start: dt.date, end: dt.date, table: str = "core.account_health_history") -> str:
    """Fill trend_30d (score points per day, least-squares slope over the last 30 days) for [start, end]."""
    return f"""
UPDATE {table} h SET trend_30d = t.slope
FROM (
    SELECT account_id, as_of_date,
           round(regr_slope(health_score, epoch(as_of_date) / 86400.0) OVER (
               PARTITION BY account_id ORDER BY as_of_date
               RANGE BETWEEN INTERVAL 29 DAYS PRECEDING AND CURRENT ROW), 4) AS slope
    FROM {table}
    WHERE as_of_date BETWEEN DATE '{start}' - INTERVAL 29 DAYS AND DATE '{end}'
) t
WHERE h.account_id = t.account_id AND h.as_of_date = t.as_of_date AND h.as_of_date BETWEEN DATE '{start}' AND DATE '{end}'
"""


COMPONENT_COLS = ", ".join(COMPONENTS)


def top_components_sql(select: str, keys: str, label: str, order: str, keep: str, n: int = 3) -> str:
    """Per key, the labels of the top-n components of `select` (which has the keys and one column per component)."""
    return f"""
    SELECT {keys}, list({label} ORDER BY {order})[1:{n}] AS top
    FROM (UNPIVOT ({select}) ON {COMPONENT_COLS} INTO NAME component VALUE v)
    WHERE {keep}
    GROUP BY {keys}"""


def _deltas_select(now: str, then: str, join: str) -> str:
    cols = ", ".join(f"coalesce({now}.pts_{c}, 0) - coalesce({then}.pts_{c}, 0) AS {c}" for c in COMPONENTS)
    return f"SELECT {now}.account_id, {now}.as_of_date, {cols} FROM {join}"


MOVED = dict(label="component || ' ' || printf('%+.1f', v)", order="abs(v) DESC, component", keep="abs(v) >= 0.5")


def score_sql(table: str = "core.account_health_history") -> str:
    """Latest day's score per account with top-3 drivers and 7- and 30-day deltas."""
    lost = ", ".join(f"lost_{c} AS {c}" for c in COMPONENTS)
    drivers = top_components_sql(f"SELECT account_id, {lost} FROM now", "account_id",
                                 label="component || ' (-' || printf('%.1f', v) || ')'", order="v DESC, component",
                                 keep="v > 0")
    moved_7d = top_components_sql(_deltas_select("now", "week", "now JOIN week USING (account_id)"), "account_id", **MOVED)
    moved_30d = top_components_sql(_deltas_select("now", "month", "now JOIN month USING (account_id)"), "account_id", **MOVED)
    return f"""
WITH latest AS (SELECT max(as_of_date) AS d FROM {table}),
now AS (SELECT h.* FROM {table} h, latest WHERE h.as_of_date = latest.d),
week AS (SELECT h.* FROM {table} h, latest WHERE h.as_of_date = latest.d - 7),
month AS (SELECT h.* FROM {table} h, latest WHERE h.as_of_date = latest.d - 30),
drivers AS ({drivers}),
moved_7d AS ({moved_7d}),
moved_30d AS ({moved_30d})
SELECT now.account_id, now.tier, now.as_of_date, now.health_score, now.band, now.trend_30d,
    drivers.top[1] AS driver_1, drivers.top[2] AS driver_2, drivers.top[3] AS driver_3,
    week.health_score AS score_7d_ago, round(now.health_score - week.health_score, 2) AS delta_7d,
    CASE WHEN week.account_id IS NOT NULL THEN coalesce(array_to_string(moved_7d.top, ', '), '') END AS moved_7d,
    month.health_score AS score_30d_ago, round(now.health_score - month.health_score, 2) AS delta_30d,
    CASE WHEN month.account_id IS NOT NULL THEN coalesce(array_to_string(moved_30d.top, ', '), '') END AS moved_30d
FROM now
LEFT JOIN week USING (account_id)
LEFT JOIN month USING (account_id)
LEFT JOIN drivers USING (account_id)
LEFT JOIN moved_7d USING (account_id)
LEFT JOIN moved_30d USING (account_id)
ORDER BY now.health_score, now.account_id
"""


def transitions_sql(table: str = "core.account_health_history") -> str:
    """Every band change between consecutive days, with the component point deltas."""
    deltas = ",\n    ".join(f"round(cur.pts_{c} - prev.pts_{c}, 2) AS delta_{c}" for c in COMPONENTS)
    pairs = f"{table} cur JOIN {table} prev ON prev.account_id = cur.account_id AND prev.as_of_date = cur.as_of_date - 1"
    moved = top_components_sql(_deltas_select("cur", "prev", pairs + " WHERE prev.band <> cur.band"),
                               "account_id, as_of_date", **MOVED)
    return f"""
WITH moved AS ({moved})
SELECT cur.account_id, cur.tier, cur.as_of_date AS transition_date, prev.band AS from_band, cur.band AS to_band,
    prev.health_score AS score_before, cur.health_score AS score_after,
    coalesce(array_to_string(moved.top, ', '), '') AS moved_by,
    {deltas}
FROM {pairs}
LEFT JOIN moved ON moved.account_id = cur.account_id AND moved.as_of_date = cur.as_of_date
WHERE prev.band <> cur.band
ORDER BY transition_date, cur.account_id
"""
