"""Expansion Readiness Index: six signals per active account on any as-of date, in one SQL pass.

Point in time: every input is read up to and including the as-of date, so the same SQL
scores today's ranking (`marts.expansion_signals`) and replays history for the lift
backtest (outcomes strictly after the as-of date). Definitions: docs/metrics.md, "Expansion".
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from csm_analytics.canonical.calendar import LAST_DATA_DAY
from csm_analytics.canonical.ownership import OWNER_PERIODS
from csm_analytics.expansion.config import COMPONENTS, ExpansionConfig

ACTIONS = {
    "hiring_velocity": "Headcount is growing fast: propose a seat true-up before the next hiring wave",
    "seat_ceiling": "Seats are near the licensed ceiling: share the utilisation and offer more seats",
    "new_country": "Interest in hiring in a new country: bring in the EOR specialist for that country",
    "cor_to_eor": "Contractors look like employees: review misclassification risk and propose EOR conversion",
    "qbr_expansion": "Expansion came up at a QBR: send a proposal within two weeks",
    "health_momentum": "Healthy and improving: ask the executive sponsor for a growth-plan conversation",
    "none": "No expansion signal: keep the regular cadence",
}
LAST_DAY = LAST_DATA_DAY


def _unit(expr: str, lo: float, hi: float) -> str:
    """Scale to [0, 1]; NULL (no data) counts as no signal."""
    return f"coalesce(greatest(0.0, least(1.0, (({expr}) - {lo}) / {hi - lo})), 0.0)"


def dates_sql(dates: list[dt.date] | None) -> str:
    """A `dates(as_of_date)` relation: the given dates, or the last day of data."""
    if not dates:
        return f"SELECT {LAST_DAY} AS as_of_date"
    return " UNION ALL ".join(f"SELECT DATE '{d}' AS as_of_date" for d in dates)


def readiness_sql(config: ExpansionConfig, dates: list[dt.date] | None = None) -> str:
    """One row per account in force on each as-of date: components (0-1), points, index, signal, ARR, action."""
    c, w = config, config.weights
    components = {
        "hiring_velocity": _unit("workers_now / nullif(workers_before, 0) - 1", c.growth_90d_from, c.growth_90d_full),
        "seat_ceiling": _unit("users_now / nullif(seats, 0)", c.utilization_from, c.utilization_full),
        "new_country": "(new_country_signals > 0)::DOUBLE",
        "cor_to_eor": "(product = 'COR' AND eor_pattern_signals > 0)::DOUBLE",
        "qbr_expansion": "(qbrs_with_expansion_talk > 0)::DOUBLE",
        "health_momentum": (f"0.7 * {_unit('health_score', c.health_from, c.health_full)} + "
                            f"0.3 * {_unit('health_score - health_score_30d_ago', 0, c.health_rise_full)}"),
    }
    points = [f"{w[name]} * {name} AS {name}_points" for name in COMPONENTS]
    best = "greatest(" + ", ".join(f"{n}_points" for n in COMPONENTS) + ")"
    strongest = " ".join(f"WHEN {n}_points = {best} THEN '{n}'" for n in COMPONENTS)
    return f"""
WITH dates AS ({dates_sql(dates)}),
active AS (
    SELECT d.as_of_date, k.account_id, k.arr, k.licensed_seats, a.tier, a.segment, a.product
    FROM raw.contracts k JOIN dates d ON d.as_of_date BETWEEN k.start_date AND k.end_date
    JOIN raw.accounts a USING (account_id)
    QUALIFY row_number() OVER (PARTITION BY k.account_id, d.as_of_date ORDER BY k.start_date DESC) = 1
),
usage AS (
    SELECT a.account_id, a.as_of_date,
           avg(u.worker_count) FILTER (u.usage_date > a.as_of_date - 30) AS workers_now,
           avg(u.worker_count) FILTER (u.usage_date <= a.as_of_date - 90) AS workers_before,
           avg(u.active_users) FILTER (u.usage_date > a.as_of_date - 30) AS users_now,
           arg_max(u.licensed_seats, u.usage_date) AS seats
    FROM active a JOIN raw.product_usage u
      ON u.account_id = a.account_id AND u.usage_date BETWEEN a.as_of_date - 119 AND a.as_of_date
    GROUP BY ALL
),
intent AS (
    SELECT a.account_id, a.as_of_date,
           count(*) FILTER (s.signal_type = 'new_country_interest') AS new_country_signals,
           count(*) FILTER (s.signal_type = 'eor_pattern') AS eor_pattern_signals,
           string_agg(DISTINCT s.country, ', ' ORDER BY s.country) AS countries_of_interest
    FROM active a JOIN raw.intent_signals s
      ON s.account_id = a.account_id AND s.signal_date BETWEEN a.as_of_date - {c.intent_days - 1} AND a.as_of_date
    WHERE NOT EXISTS (  -- intent already followed by an opportunity is being worked; only open intent counts
        SELECT 1 FROM raw.expansion_opportunities o
        WHERE o.account_id = s.account_id AND o.created_date BETWEEN s.signal_date AND a.as_of_date)
    GROUP BY ALL
),
talk AS (
    SELECT a.account_id, a.as_of_date, count(*) AS qbrs_with_expansion_talk
    FROM active a JOIN raw.qbrs q
      ON q.account_id = a.account_id AND q.expansion_discussed
     AND q.qbr_date BETWEEN a.as_of_date - {c.qbr_days - 1} AND a.as_of_date
    GROUP BY ALL
),
won_ratio AS (  -- typical won expansion as a share of the account's ARR, from wins before each as-of date
    SELECT d.as_of_date, median(o.amount / k.arr) AS typical_ratio
    FROM dates d JOIN raw.expansion_opportunities o ON o.status = 'won' AND o.close_date <= d.as_of_date
    JOIN raw.contracts k ON k.account_id = o.account_id AND o.created_date BETWEEN k.start_date AND k.end_date
    GROUP BY ALL
),
inputs AS (
    SELECT a.*, u.workers_now, u.workers_before, u.users_now, u.seats,
           coalesce(i.new_country_signals, 0) AS new_country_signals,
           coalesce(i.eor_pattern_signals, 0) AS eor_pattern_signals, i.countries_of_interest,
           coalesce(t.qbrs_with_expansion_talk, 0) AS qbrs_with_expansion_talk,
           h.health_score, h30.health_score AS health_score_30d_ago, r.typical_ratio
    FROM active a
    LEFT JOIN usage u USING (account_id, as_of_date) LEFT JOIN intent i USING (account_id, as_of_date)
    LEFT JOIN talk t USING (account_id, as_of_date) LEFT JOIN won_ratio r USING (as_of_date)
    LEFT JOIN core.account_health_history h USING (account_id, as_of_date)
    LEFT JOIN core.account_health_history h30
      ON h30.account_id = a.account_id AND h30.as_of_date = a.as_of_date - 30
),
scored AS (
    SELECT *, {", ".join(f"{expr} AS {name}" for name, expr in components.items())} FROM inputs
),
pointed AS (SELECT *, {", ".join(points)} FROM scored)
SELECT as_of_date, account_id, tier, segment, product, arr, licensed_seats,
       round(workers_now / nullif(workers_before, 0) - 1, 4) AS worker_growth_90d,
       round(users_now / nullif(seats, 0), 4) AS seat_utilization,
       new_country_signals, countries_of_interest, eor_pattern_signals, qbrs_with_expansion_talk,
       health_score, round(health_score - health_score_30d_ago, 2) AS health_change_30d,
       {", ".join(f"round({n}, 4) AS {n}" for n in COMPONENTS)},
       round({" + ".join(f"{n}_points" for n in COMPONENTS)}, 1) AS readiness_index,
       CASE WHEN {best} = 0 THEN 'none' {strongest} END AS strongest_signal,
       round(least(greatest(coalesce(greatest(workers_now - licensed_seats, 0) * arr / licensed_seats, 0),
                            coalesce(arr * typical_ratio, 0)),
                   arr * {float(config.estimate_max_share_of_arr)}), 2) AS estimated_expansion_arr
FROM pointed
"""


def signals_sql(config: ExpansionConfig) -> str:
    """Today's ranked list for the CSMs: the latest as-of date, owner attached, best first."""
    actions = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in ACTIONS.items())
    return f"""
SELECT row_number() OVER (ORDER BY r.readiness_index DESC, r.estimated_expansion_arr DESC, r.account_id) AS rank,
       r.*, CASE r.strongest_signal {actions} END AS recommended_action, o.csm_id
FROM ({readiness_sql(config)}) r
LEFT JOIN {OWNER_PERIODS} o ON o.account_id = r.account_id
 AND r.as_of_date BETWEEN o.valid_from AND coalesce(o.valid_to, DATE '9999-12-31')
ORDER BY rank
"""


def validation_dates(first: dt.date, last: dt.date, config: ExpansionConfig) -> list[dt.date]:
    """As-of dates with a full warm-up before and a full outcome window after, every `every_days`."""
    start = first + dt.timedelta(days=config.validation_warmup_days)
    stop = last - dt.timedelta(days=config.validation_horizon_days)
    out = []
    while start <= stop:
        out.append(start)
        start += dt.timedelta(days=config.validation_every_days)
    return out


def outcomes_sql(config: ExpansionConfig, dates: list[dt.date]) -> str:
    """Per (as-of date, account): a new expansion (created after the date) won within the horizon, and any win."""
    h = config.validation_horizon_days
    return f"""
WITH dates AS ({dates_sql(dates)})
SELECT d.as_of_date, o.account_id,
       bool_or(o.created_date > d.as_of_date) AS expanded,
       true AS any_win
FROM dates d JOIN raw.expansion_opportunities o
  ON o.status = 'won' AND o.close_date > d.as_of_date AND o.close_date <= d.as_of_date + {h}
GROUP BY ALL
"""


def top_decile(frame: pd.DataFrame, score: str = "readiness_index") -> pd.Series:
    """True for the best-ranked 10 % of accounts (at least one) on each as-of date; ties broken by account id."""
    ranked = frame.sort_values(["as_of_date", score, "account_id"], ascending=[True, False, True])
    position = ranked.groupby("as_of_date").cumcount()
    size = ranked.groupby("as_of_date")["account_id"].transform("size")
    return (position < np.maximum(1, size // 10)).reindex(frame.index)


def lift_summary(frame: pd.DataFrame, outcome: str = "expanded", score: str = "readiness_index") -> dict:
    """Pooled base rate, top-decile rate and lift over every as-of date in `frame`."""
    if frame.empty:
        return {"as_of_dates": 0, "account_dates": 0, "base_rate": None, "top_decile_rate": None, "lift": None}
    top = top_decile(frame, score)
    base = float(frame[outcome].mean())
    top_rate = float(frame.loc[top, outcome].mean())
    return {"as_of_dates": int(frame["as_of_date"].nunique()), "account_dates": len(frame),
            "base_rate": round(base, 4), "top_decile_rate": round(top_rate, 4),
            "lift": round(top_rate / base, 3) if base > 0 else None}


def lift_interval(frame: pd.DataFrame, outcome: str = "expanded", reps: int = 500, seed: int = 0) -> tuple:
    """95 % bootstrap interval of the pooled lift, resampling accounts (all their as-of dates together)."""
    if frame.empty:
        return (None, None)
    top = top_decile(frame).to_numpy()
    y = frame[outcome].to_numpy(dtype=float)
    codes, accounts = pd.factorize(frame["account_id"])
    n = len(accounts)
    top_hits = np.bincount(codes, weights=y * top, minlength=n)
    top_rows = np.bincount(codes, weights=top.astype(float), minlength=n)
    hits = np.bincount(codes, weights=y, minlength=n)
    rows = np.bincount(codes, minlength=n).astype(float)
    draws = np.random.default_rng(seed).integers(0, n, (reps, n))
    counts = np.stack([np.bincount(d, minlength=n) for d in draws]).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lifts = (counts @ top_hits / (counts @ top_rows)) / (counts @ hits / (counts @ rows))
    low, high = np.nanpercentile(lifts, [2.5, 97.5])
    return (round(float(low), 3), round(float(high), 3))


def backtest_frame(con, config: ExpansionConfig, dates: list[dt.date]) -> pd.DataFrame:
    """The index on each past as-of date joined to what happened in the following horizon."""
    if not dates:
        return pd.DataFrame(columns=["as_of_date", "account_id", "readiness_index", "expanded", "any_win", *COMPONENTS])
    cols = ", ".join(["r.as_of_date", "r.account_id", "r.readiness_index", *(f"r.{n}" for n in COMPONENTS)])
    return con.execute(f"""
        SELECT {cols}, coalesce(o.expanded, false) AS expanded, coalesce(o.any_win, false) AS any_win
        FROM ({readiness_sql(config, dates)}) r
        LEFT JOIN ({outcomes_sql(config, dates)}) o USING (as_of_date, account_id)
        ORDER BY r.as_of_date, r.account_id""").df()


def rescored(frame: pd.DataFrame, weights: dict[str, float]) -> pd.Series:
    """The index under other weights (for the ablation that shows which signals carry the lift)."""
    return sum(frame[name] * weight for name, weight in weights.items())


def validate_readiness(con, config: ExpansionConfig) -> tuple[dict, pd.DataFrame, dict]:
    """Point-in-time lift of the index (pooled over as-of dates), per date, and the ablations."""
    first, last = con.execute("SELECT min(as_of_date), max(as_of_date) FROM core.account_health_history").fetchall()[0]
    dates = validation_dates(first, last, config) if first else []
    frame = backtest_frame(con, config, dates)
    summary = lift_summary(frame)
    summary["lift_95ci"] = lift_interval(frame)
    per_date = pd.DataFrame([{"as_of_date": d, **lift_summary(g)} for d, g in frame.groupby("as_of_date")])
    without_intent = {n: w for n, w in config.weights.items() if n not in ("new_country", "cor_to_eor")}
    ablations = {"any won close in the window (incl. open pipeline)": lift_summary(frame, outcome="any_win")}
    if len(frame):
        frame = frame.assign(no_intent=rescored(frame, without_intent))
        ablations["index without the intent-signal components"] = lift_summary(frame, score="no_intent")
    return summary, per_date, ablations
