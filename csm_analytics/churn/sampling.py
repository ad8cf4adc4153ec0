"""Which accounts the churn model trains on: all of them, or on a big world a stratified sample.

Training rows are weekly snapshots of every account over the whole history, so their number grows
with accounts x days: about 70 million at 1,000,000 accounts, more than DuckDB should hand to pandas
and scikit-learn on one machine. Above `sample_above_accounts` (churn_config.toml, [scale]) the model
trains on `training_sample_accounts` accounts instead, picked by a hash of the account id (the same
accounts every run) within each stratum of tier x "ever churned", each stratum in proportion to its
size. Scoring always covers every account.
"""

from __future__ import annotations

from csm_analytics.churn.config import ChurnConfig

SAMPLE_TABLE = "churn_training_accounts"  # a temporary table of the connection that trains


def stratified_sample_sql(sample_accounts: int) -> str:
    """About `sample_accounts` account ids (one more per stratum at most, from rounding up), deterministic."""
    return f"""
WITH strata AS (
    SELECT a.account_id, a.tier,
           EXISTS (SELECT 1 FROM raw.contracts k
                   WHERE k.account_id = a.account_id AND k.renewal_outcome = 'churned') AS ever_churned
    FROM raw.accounts a
),
ranked AS (
    SELECT account_id,
           row_number() OVER (PARTITION BY tier, ever_churned ORDER BY md5(CAST(account_id AS VARCHAR))) AS position,
           count(*) OVER (PARTITION BY tier, ever_churned) AS stratum_accounts,
           count(*) OVER () AS all_accounts
    FROM strata
)
SELECT account_id FROM ranked WHERE position <= ceil(stratum_accounts * {int(sample_accounts)} / all_accounts)
"""


def accounts_in_world(con) -> int:
    return con.execute("SELECT count(*) FROM raw.accounts").fetchall()[0][0]


def big_world(con, config: ChurnConfig) -> bool:
    """More accounts than [scale] sample_above_accounts: train on a sample, skip the trajectory features."""
    return accounts_in_world(con) > config.sample_above_accounts


def training_accounts(con, config: ChurnConfig) -> tuple[str | None, int, int]:
    """(SELECT of the training accounts or None for all, accounts used, accounts in the world).

    On a big world the sample is written to a temporary table of `con`, so the SELECT is only valid there."""
    total = accounts_in_world(con)
    if not big_world(con, config):
        return None, total, total
    con.execute(f"CREATE OR REPLACE TEMP TABLE {SAMPLE_TABLE} AS {stratified_sample_sql(config.training_sample_accounts)}")
    used = con.execute(f"SELECT count(*) FROM {SAMPLE_TABLE}").fetchall()[0][0]
    return f"SELECT account_id FROM {SAMPLE_TABLE}", used, total
