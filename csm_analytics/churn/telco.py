"""The public IBM Telco customer churn data set: import into the canonical tables, and evaluate the churn model.

Mapping (docs/churn.md has the table): each customer becomes an account and one contract;
`Churn = Yes` becomes a contract ending on the as-of date with outcome `churned`. The other
canonical tables have no Telco counterpart and are written empty, so the sources assets load
the result as they load any bring-your-own data. Rows that fail the Telco schema (the raw file
has blank TotalCharges for 11 new customers) are quarantined in raw.rejected_rows, not dropped.

The evaluation runs the same candidates, pipeline, calibration and champion rule as the demo
world (`model.build_candidates`, `model.choose`) with stratified 5-fold cross-validation on the
Telco columns. Every candidate is reported; the headline is the candidate an inner 5-fold
cross-validation of each training fold picks, so no test fold takes part in choosing the model it is scored with.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.parquet as pq
from pandera.typing import Series
from sklearn.model_selection import StratifiedKFold

from csm_analytics.canonical.schemas import CANONICAL_TABLES
from csm_analytics.canonical.sql import arrow_schema
from csm_analytics.churn.model import choose, fit_candidates, scores
from csm_analytics.sources.validation import load_file

YES_NO = ["Yes", "No"]
SERVICES = ["PhoneService", "OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV",
            "StreamingMovies"]


class TelcoCustomers(pa.DataFrameModel):
    """One row per customer of the IBM Telco churn data set (Apache-2.0)."""

    customerID: Series[str] = pa.Field(unique=True)
    gender: Series[str] = pa.Field(isin=["Female", "Male"])
    SeniorCitizen: Series[int] = pa.Field(isin=[0, 1])
    Partner: Series[str] = pa.Field(isin=YES_NO)
    Dependents: Series[str] = pa.Field(isin=YES_NO)
    tenure: Series[int] = pa.Field(ge=0, le=120)
    PhoneService: Series[str] = pa.Field(isin=YES_NO)
    MultipleLines: Series[str]
    InternetService: Series[str] = pa.Field(isin=["DSL", "Fiber optic", "No"])
    OnlineSecurity: Series[str]
    OnlineBackup: Series[str]
    DeviceProtection: Series[str]
    TechSupport: Series[str]
    StreamingTV: Series[str]
    StreamingMovies: Series[str]
    Contract: Series[str] = pa.Field(isin=["Month-to-month", "One year", "Two year"])
    PaperlessBilling: Series[str] = pa.Field(isin=YES_NO)
    PaymentMethod: Series[str]
    MonthlyCharges: Series[float] = pa.Field(gt=0)
    TotalCharges: Series[float] = pa.Field(ge=0)
    Churn: Series[str] = pa.Field(isin=YES_NO)


NUMERIC = ["tenure", "MonthlyCharges", "TotalCharges", "SeniorCitizen", "services", "log_tenure", "charge_ratio",
           "month_to_month_x_log_tenure", "fiber_x_monthly_charges", "tenure_sq", "monthly_sq"]
# `gender` is left out: it carries no churn signal here, and it is a protected attribute a retention
# model should not use (offers would differ by gender). SeniorCitizen stays: age is also protected, but
# it carries signal; docs/churn.md records the trade-off.
CATEGORICAL = ["Partner", "Dependents", "PhoneService", "MultipleLines", "InternetService", "OnlineSecurity",
               "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV", "StreamingMovies", "Contract",
               "PaperlessBilling", "PaymentMethod"]


def load_telco(con: duckdb.DuckDBPyConnection, csv: Path, loaded_at: dt.datetime):
    """Validate the CSV into raw.telco_customers; bad rows go to raw.rejected_rows."""
    return load_file(con, "telco_customers", Path(csv), TelcoCustomers, ("customerID",), {}, loaded_at)


def telco_features(customers: pd.DataFrame) -> pd.DataFrame:
    """Telco columns plus a few derived ones (documented in docs/churn.md)."""
    df = customers.copy()
    df["services"] = (df[SERVICES] == "Yes").sum(axis=1)
    df["log_tenure"] = np.log1p(df.tenure)
    df["charge_ratio"] = df.TotalCharges / (df.tenure.clip(lower=1) * df.MonthlyCharges)
    df["month_to_month_x_log_tenure"] = (df.Contract == "Month-to-month") * df.log_tenure
    df["fiber_x_monthly_charges"] = (df.InternetService == "Fiber optic") * df.MonthlyCharges
    df["tenure_sq"] = (df.tenure / 72) ** 2  # tenure and charges are curved in the log-odds
    df["monthly_sq"] = (df.MonthlyCharges / 100) ** 2
    return df


HEADLINE = "selected by inner cross-validation"


def evaluate(customers: pd.DataFrame, folds: int = 5, seed: int = 0, inner_folds: int = 5) -> dict[str, dict]:
    """Stratified k-fold scores (pooled out-of-fold probabilities) for every candidate, and the headline.

    Headline (nested cross-validation): in each outer training fold, every candidate's pooled
    out-of-fold probabilities from an inner stratified `inner_folds`-fold CV of that training fold are
    scored, and `model.choose` (lowest Brier, as for the demo world) picks one, whose model fitted on the
    whole training fold then scores the test fold. `chosen` lists the pick per fold. A k-fold inner CV,
    rather than one inner split, scores the pick on every training row, so it is less swayed by which
    rows happen to land in a single small check set.
    """
    # Sorted, so the folds do not depend on the order the warehouse returns rows in.
    df = telco_features(customers.sort_values("customerID", ignore_index=True))
    X, y = df[NUMERIC + CATEGORICAL], (df.Churn == "Yes").astype(int).to_numpy()
    pooled, chosen = {}, []
    headline = np.zeros(len(y))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y):
        pick = choose({name: scores(y[train], p) for name, p in
                       _out_of_fold(X.iloc[train], y[train], inner_folds, seed).items()})
        for name, model in fit_candidates(X.iloc[train], y[train], NUMERIC, CATEGORICAL).items():
            pooled.setdefault(name, np.zeros(len(y)))[test] = model.predict_proba(X.iloc[test])[:, 1]
        headline[test] = pooled[pick][test]
        chosen.append(pick)
    out = {name: scores(y, p) for name, p in pooled.items()}
    out[HEADLINE] = {**scores(y, headline), "chosen": chosen}
    return out


def _out_of_fold(X: pd.DataFrame, y: np.ndarray, folds: int, seed: int) -> dict[str, np.ndarray]:
    """Every candidate's out-of-fold probabilities over a stratified k-fold split of (X, y)."""
    out: dict[str, np.ndarray] = {}
    for fit_part, check_part in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y):
        for name, model in fit_candidates(X.iloc[fit_part], y[fit_part], NUMERIC, CATEGORICAL).items():
            out.setdefault(name, np.zeros(len(y)))[check_part] = model.predict_proba(X.iloc[check_part])[:, 1]
    return out


def tier_of(monthly: pd.Series) -> np.ndarray:
    return np.select([monthly >= 95, monthly >= 75, monthly >= 45], ["Strategic", "Enterprise", "Growth"], "Core")


def to_canonical(customers: pd.DataFrame, as_of: dt.date) -> dict[str, pd.DataFrame]:
    """Accounts and contracts from Telco customers (see the mapping in docs/churn.md)."""
    as_of_ts = pd.Timestamp(as_of)
    term = customers.Contract.map({"Month-to-month": 12, "One year": 12, "Two year": 24})
    term_span = pd.to_timedelta((term * 30.44).round(), unit="D")
    churned = customers.Churn == "Yes"
    created = as_of_ts - pd.to_timedelta((customers.tenure * 30.44).round(), unit="D")
    end = (as_of_ts + term_span).where(~churned, as_of_ts)
    start = (end - term_span + pd.Timedelta(days=1)).where(lambda s: s > created, created)
    accounts = pd.DataFrame({
        "account_id": customers.customerID, "account_name": customers.customerID,
        "tier": tier_of(customers.MonthlyCharges),
        "segment": customers.Contract.map({"Two year": "Large", "One year": "Mid-Market", "Month-to-month": "SMB"}),
        "industry": "Telecom", "country": "US",
        "product": customers.InternetService.map({"Fiber optic": "EOR", "DSL": "COR", "No": "Payroll"}),
        "created_date": created.dt.date,
    })
    contracts = pd.DataFrame({
        "contract_id": customers.customerID + "-C0", "account_id": customers.customerID,
        "start_date": start.dt.date, "end_date": end.dt.date,
        "arr": (customers.MonthlyCharges * 12).round(2), "mrr": customers.MonthlyCharges.round(2),
        "term_months": term.astype("int64"), "licensed_seats": (telco_features(customers).services + 1).astype("int64"),
        "renewal_outcome": np.where(churned, "churned", None), "downgrade_amount": 0.0,
    })
    return {"accounts": accounts, "contracts": contracts}


def write_canonical(tables: dict[str, pd.DataFrame], out: Path) -> dict[str, int]:
    """Write every canonical table; those Telco has no data for are written empty, with their schema."""
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, (model, _, _) in CANONICAL_TABLES.items():
        schema = arrow_schema(model)
        frame = tables.get(name)
        table = (pa_arrow.Table.from_pandas(frame, preserve_index=False).cast(schema) if frame is not None
                 else schema.empty_table())
        pq.write_table(table, out / f"{name}.parquet")
        counts[name] = table.num_rows
    return counts
