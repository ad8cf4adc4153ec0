"""The briefs' jobs: DM each CSM their rows of the daily brief (the mart itself is an asset)."""

import datetime as dt

from dagster import Config, OpExecutionContext, job, op
from dagster_duckdb import DuckDBResource

from csm_analytics.alerts.slack import SlackMessenger
from csm_analytics.lib.warehouse import fetch_dicts
from csm_analytics.reports.briefs import daily


class DailyBriefSendConfig(Config):
    date: str = ""  # YYYY-MM-DD, the day the DMs are for (one per CSM per day); empty = today (UTC)
    stale_note: str = ""  # set when the brief is sent from data older than that day's exports (when_stale)


@op(description="DM each CSM their rows of marts.csm_daily_brief (at most once per CSM per day).")
def send_csm_daily_briefs(context: OpExecutionContext, config: DailyBriefSendConfig, duckdb: DuckDBResource,
                          slack: SlackMessenger) -> dict:
    day = dt.date.fromisoformat(config.date) if config.date else dt.datetime.now(dt.timezone.utc).date()
    with duckdb.get_connection() as con:
        rows = fetch_dicts(con, daily.READ_SQL)
        csms = {r["csm_id"]: r for r in fetch_dicts(con, "SELECT csm_id, name, slack_user_id FROM raw.csms")}
        as_of = con.execute("SELECT max(as_of_date) FROM core.account_health_score").fetchall()[0][0]
    outcome = daily.send_daily_briefs(rows, csms, slack.transport(), day, as_of, config.stale_note)
    context.log.info(f"daily briefs for {day}: {outcome}")
    return outcome


@job(description="Send each CSM their daily brief as a Slack DM (or to the file outbox without SLACK_BOT_TOKEN).")
def csm_daily_brief_job():
    send_csm_daily_briefs()
