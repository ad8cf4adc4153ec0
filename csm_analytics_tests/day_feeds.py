"""The raw exports of a generated world as they stood on an earlier day: a writer that delivers one day at a time.

A world generated through day D+3 holds every feed up to D+3. Cut at day X, each feed keeps the rows that
existed by the end of X (its event or start date on or before X), so delivering X+1 appends exactly that
day's rows to every feed, as a nightly export would.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

# The column that says when a row came into existence, per feed (every feed of the generator is listed).
CREATED_ON = {
    "accounts": "created_date", "csms": "start_date", "contracts": "start_date", "csm_assignments": "valid_from",
    "account_plans": "last_updated", "activities": "activity_date", "alert_acknowledgments": "sent_at",
    "dashboard_logins": "login_at", "exit_reasons": "recorded_date", "expansion_opportunities": "created_date",
    "incidents": "occurred_at", "intent_signals": "signal_date", "invoices": "due_date",
    "opportunity_stage_history": "entered_date", "product_usage": "usage_date", "qbrs": "qbr_date",
    "referrals": "referral_date", "support_tickets": "opened_at", "survey_responses": "response_date",
}


def deliver_day(world: Path, raw: Path, day: dt.date, feeds: list[str] | None = None) -> None:
    """Write into `raw` every feed of `world` (or only `feeds`) as exported at the end of `day`.

    Each file is written beside its final name and renamed into place, as a careful exporter does, so a
    reader never sees half a file."""
    raw.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        for feed in feeds or sorted(CREATED_ON):
            source, target = world / f"{feed}.parquet", raw / f"{feed}.parquet"
            partial = raw / f".{feed}.parquet.partial"
            column = CREATED_ON[feed]
            rows = con.sql(f"SELECT * FROM read_parquet(?) WHERE CAST({column} AS DATE) <= ?",
                           params=[str(source), day]).to_arrow_table()
            pq.write_table(rows, partial)
            os.replace(partial, target)
