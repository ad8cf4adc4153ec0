"""Scoring many accounts with bounded memory: features stay in DuckDB and reach pandas in chunks.

The features of the days being scored are written once to a temporary table of the connection (on a
big world a few days at a time, `day_batches`, so DuckDB's joins fit its memory limit);
`feature_chunks` then reads them `chunk_rows` at a time in a fixed order (snapshot day, account),
each result fetched in full before the next statement. Each row's probability depends on that row
alone, so chunked scoring gives exactly the rows one big frame would.

Named drivers cost one extra prediction per numeric feature (about 30), so on a big world (more
accounts than [scale] sample_above_accounts) they are named only for the `driver_accounts` accounts
with the most revenue at risk, the ones a CSM will read about; the others get NULL ("not computed").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pandas as pd

from csm_analytics.churn import model as churn_model
from csm_analytics.churn.backtest import as_model_frame
from csm_analytics.churn.config import ChurnConfig
from csm_analytics.churn.features import CATEGORICAL_FEATURES, NOT_DRIVERS, NUMERIC_FEATURES
from csm_analytics.churn.sampling import accounts_in_world, big_world
from csm_analytics.lib.warehouse import fetch_one_dict

FEATURES_TABLE = "churn_features_to_score"  # temporary, per connection
PREDICTION_COLUMNS = ["account_id", "as_of_date", "churn_probability", "risk_level", "early_warning", "flag_threshold",
                      "arr", "revenue_at_risk", "top_drivers", "days_to_renewal", "model_version"]


def stage_features(con, features_sql: str | list[str]) -> int:
    """Write the rows to score to the connection's temporary table (one SELECT, or several appended); their number."""
    parts = [features_sql] if isinstance(features_sql, str) else features_sql
    con.execute(f"CREATE OR REPLACE TEMP TABLE {FEATURES_TABLE} AS {parts[0]}")
    for sql in parts[1:]:
        con.execute(f"INSERT INTO {FEATURES_TABLE} {sql}")
    return con.execute(f"SELECT count(*) FROM {FEATURES_TABLE}").fetchall()[0][0]


def day_batches(con, start: dt.date, end: dt.date, config: ChurnConfig) -> list[tuple[dt.date, dt.date]]:
    """[start, end] cut into runs of days of at most [scale] stage_account_days account-days each (at least a day):
    the features of a day range are one SQL pass whose joins DuckDB holds in memory at once."""
    days = max(1, config.stage_account_days // max(accounts_in_world(con), 1))
    batches, first = [], start
    while first <= end:
        last = min(end, first + dt.timedelta(days=days - 1))
        batches.append((first, last))
        first = last + dt.timedelta(days=1)
    return batches


def feature_chunks(con, chunk_rows: int, where: str = "") -> Iterator[pd.DataFrame]:
    """The staged rows (optionally filtered), `chunk_rows` at a time, ordered by snapshot day and account."""
    total = con.execute(f"SELECT count(*) FROM {FEATURES_TABLE} {where}").fetchall()[0][0]
    for offset in range(0, total, chunk_rows):
        yield as_model_frame(con.execute(f"SELECT * FROM {FEATURES_TABLE} {where} ORDER BY snapshot_date, account_id "
                                         f"LIMIT {chunk_rows} OFFSET {offset}").df())


def replay_months(con) -> list[pd.Period]:
    """The calendar months of the staged snapshot days."""
    rows = con.execute(f"SELECT DISTINCT strftime(snapshot_date, '%Y-%m') FROM {FEATURES_TABLE}").fetchall()
    return sorted(pd.Period(r[0], "M") for r in rows)


def reference_values(con) -> pd.Series:
    """Median of each numeric feature over the staged rows: the 'typical account' drivers compare with.
    Aggregated in DuckDB, so a big world's rows never reach pandas at once."""
    medians = ", ".join(f"median(CAST({c} AS DOUBLE)) AS {c}" for c in NUMERIC_FEATURES)
    return pd.Series(fetch_one_dict(con, f"SELECT {medians} FROM {FEATURES_TABLE}"), dtype=float)


def predictions(con, model, version: str, config: ChurnConfig, threshold: float) -> tuple[pd.DataFrame, str]:
    """Today's probability, risk level, early-warning flag (at or above `threshold`, the learned flag threshold),
    revenue at risk and drivers of every staged row, highest revenue at risk first; and which accounts have
    named drivers."""
    features = NUMERIC_FEATURES + CATEGORICAL_FEATURES
    parts = []
    for frame in feature_chunks(con, config.score_chunk_rows):
        p = model.predict_proba(frame[features])[:, 1].round(4)
        parts.append(pd.DataFrame({
            "account_id": frame.account_id, "as_of_date": frame.snapshot_date.dt.date, "churn_probability": p,
            "risk_level": churn_model.risk_level(p, config.high, threshold), "early_warning": p >= threshold,
            "flag_threshold": threshold, "arr": frame.arr,
            "revenue_at_risk": (frame.arr * p).round(2), "top_drivers": None,
            "days_to_renewal": frame.days_to_renewal, "model_version": version,
        }))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=PREDICTION_COLUMNS)
    explained, covered = None, "every account"
    if big_world(con, config) and len(out) > config.driver_accounts:
        explained = out.nlargest(config.driver_accounts, "revenue_at_risk")[["account_id"]]
        share = explained.merge(out, on="account_id").revenue_at_risk.sum() / max(out.revenue_at_risk.sum(), 1e-9)
        covered = (f"the {len(explained):,} accounts with the most revenue at risk ({share:.0%} of it; "
                   "churn_config.toml [scale] driver_accounts)")
    named = _drivers(con, model, reference_values(con), config.score_chunk_rows, explained)
    out["top_drivers"] = out.account_id.map(named).astype(object).where(out.account_id.isin(named.index), None)
    return out.sort_values("revenue_at_risk", ascending=False), covered


def _drivers(con, model, reference: pd.Series, chunk_rows: int, accounts: pd.DataFrame | None) -> pd.Series:
    """Named drivers by account id, for every staged row or only `accounts`."""
    where = ""
    if accounts is not None:
        con.register("driver_accounts", accounts)
        where = "WHERE account_id IN (SELECT account_id FROM driver_accounts)"
    named = [pd.Series(churn_model.drivers(model, frame, NUMERIC_FEATURES, CATEGORICAL_FEATURES, reference,
                                           exclude=NOT_DRIVERS), index=frame.account_id.to_numpy(), dtype=object)
             for frame in feature_chunks(con, chunk_rows, where)]
    if accounts is not None:
        con.unregister("driver_accounts")
    return pd.concat(named) if named else pd.Series(dtype=object)
