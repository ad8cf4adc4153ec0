"""Sending alerts: real Slack through slack-sdk, or a file outbox when no token is set.

`SlackMessenger` builds on dagster-slack's SlackResource and adds `base_url` (so tests
can point it at a local fake Slack server). The token comes only from SLACK_BOT_TOKEN
and is never logged. Both transports share one small interface, so the delivery code is
the same offline and online.

chat.postMessage is not idempotent, so a post is never resent blindly: the posting client
retries only 429s (Slack did not take the message). A dropped connection, a timeout or a 5xx
after the request left may mean Slack stored the message, so `post` raises SendOutcomeUnknown
and delivery looks the alert key up in the channel's history before any resend. Reads and
chat.update are idempotent and also retry 5xx and connection errors.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Optional

from dagster_slack import SlackResource
from pydantic import Field
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

METADATA_EVENT = "csm_alert"
CHANNEL_ID = re.compile(r"^[CDG][A-Z0-9]{6,}$")
# Errors that say every call will fail (bad token, Slack down, rate limit): the tick stops and the
# rest waits for the next tick. Any other Slack error belongs to one message (e.g. a DM to a user who left).
WORKSPACE_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
                    "ratelimited", "fatal_error", "internal_error", "service_unavailable", "request_timeout"}


class SendOutcomeUnknown(RuntimeError):
    """The post may or may not have been stored by Slack (connection dropped, timeout, 5xx): look before resending."""


def is_channel_id(channel: str) -> bool:
    return bool(CHANNEL_ID.match(channel or ""))


def stops_the_tick(exc: BaseException) -> bool:
    """True when the failure is Slack's or the token's, not one message's: later sends would fail too."""
    if isinstance(exc, SlackApiError):
        return exc.response.status_code >= 429 or exc.response.get("error") in WORKSPACE_ERRORS
    return True


class CappedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Honours Retry-After on a 429, but only when the wait fits in a sensor tick; a longer one fails the call
    (Slack did not take the message) and the alert waits for a later tick."""

    def __init__(self, max_retry_count: int, max_wait_seconds: float):
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_seconds = max_wait_seconds

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        wait = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), ["1"])
        try:
            return float(wait[0] if isinstance(wait, list) else wait) <= self.max_wait_seconds
        except ValueError:
            return False


class SlackWebApi:
    """slack-sdk WebClients: posts retry 429 only; reads and updates also retry 5xx and connection errors."""

    def __init__(self, token: str, base_url: str | None = None, max_retries: int = 3, backoff_factor: float = 0.5,
                 timeout: int = 5, max_retry_after_seconds: float = 10):
        self.backoff_factor = backoff_factor  # also spaces delivery's resends after a lookup found nothing
        interval = BackoffRetryIntervalCalculator(backoff_factor=backoff_factor)
        rate_limit = CappedRateLimitRetryHandler(max_retries, max_retry_after_seconds)
        kwargs = {"base_url": base_url} if base_url else {}
        self.poster = WebClient(token=token, retry_handlers=[rate_limit], timeout=timeout, **kwargs)
        self.client = WebClient(token=token, timeout=timeout, retry_handlers=[
            rate_limit, ServerErrorRetryHandler(max_retry_count=max_retries, interval_calculator=interval),
            ConnectionErrorRetryHandler(max_retry_count=max_retries, interval_calculator=interval)], **kwargs)

    def post(self, channel: str, text: str, blocks: list, alert_key: str, items: list[str] | None = None) -> tuple[str, str]:
        """(channel id, ts). Raises SendOutcomeUnknown when Slack may have stored the message anyway."""
        payload = {"alert_key": alert_key} | ({"items": items} if items else {})
        try:
            r = self.poster.chat_postMessage(channel=channel, text=text, blocks=blocks,
                                             metadata={"event_type": METADATA_EVENT, "event_payload": payload})
        except SlackApiError as exc:
            if exc.response.status_code >= 500:
                raise SendOutcomeUnknown(f"chat.postMessage: HTTP {exc.response.status_code}") from exc
            raise
        except Exception as exc:  # noqa: BLE001 - the request may have reached Slack
            raise SendOutcomeUnknown(f"chat.postMessage: {type(exc).__name__}: {str(exc)[:200]}") from exc
        return r["channel"], r["ts"]

    def update(self, channel: str, ts: str, text: str, blocks: list) -> None:
        self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

    def find(self, channel: str, alert_key: str, oldest: float | None = None) -> str | None:
        """The ts of a message in `channel` (an id) already carrying this alert key, newer than `oldest`."""
        cursor = None
        while True:
            r = self.client.conversations_history(channel=channel, include_all_metadata=True, limit=200, cursor=cursor,
                                                  oldest=f"{oldest:.6f}" if oldest else None)
            for message in r.get("messages", []):
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                if payload.get("alert_key") == alert_key:
                    return message["ts"]
            cursor = (r.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None

    def channel_id(self, name: str) -> str:
        """The id of a channel named in the rules file ('#cs-critical-alerts'), from conversations.list."""
        wanted, cursor = name.lstrip("#"), None
        while True:
            r = self.client.conversations_list(types="public_channel,private_channel", exclude_archived=True,
                                               limit=200, cursor=cursor)
            for channel in r.get("channels", []):
                if channel.get("name") == wanted:
                    return channel["id"]
            cursor = (r.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                raise LookupError(f"no Slack channel named {name!r}: create it and invite the bot, or put its id "
                                  "(C...) in alert_rules.toml")

    def open_dm(self, user_id: str) -> str:
        return self.client.conversations_open(users=user_id)["channel"]["id"]

    def reactions(self, channel: str, ts: str) -> list[dict]:
        r = self.client.reactions_get(channel=channel, timestamp=ts)
        return r.get("message", {}).get("reactions", [])


class FileMessages:
    """Offline transport: every message is a JSON line in `folder/messages.jsonl`. Channel names serve as ids."""

    def __init__(self, folder: Path):
        self.file = Path(folder) / "messages.jsonl"
        self.file.parent.mkdir(parents=True, exist_ok=True)

    def _write(self, record: dict) -> None:
        with self.file.open("a") as fh:
            fh.write(json.dumps(record, default=str) + "\n")

    def _records(self) -> list[dict]:
        if not self.file.exists():
            return []
        return [json.loads(line) for line in self.file.read_text().splitlines() if line.strip()]

    def post(self, channel: str, text: str, blocks: list, alert_key: str, items: list[str] | None = None) -> tuple[str, str]:
        ts = f"{time.time():.6f}"
        self._write({"method": "chat.postMessage", "channel": channel, "ts": ts, "text": text, "blocks": blocks,
                     "alert_key": alert_key} | ({"items": items} if items else {}))
        return channel, ts

    def update(self, channel: str, ts: str, text: str, blocks: list) -> None:
        self._write({"method": "chat.update", "channel": channel, "ts": ts, "text": text, "blocks": blocks})

    def find(self, channel: str, alert_key: str, oldest: float | None = None) -> str | None:
        for record in self._records():
            if record.get("alert_key") == alert_key and record["channel"] == channel:
                return record["ts"]
        return None

    def channel_id(self, name: str) -> str:
        return name

    def open_dm(self, user_id: str) -> str:
        return f"DM-{user_id}"

    def reactions(self, channel: str, ts: str) -> list[dict]:
        return []


class SlackMessenger(SlackResource):
    """Slack for alerts. Without SLACK_BOT_TOKEN, messages go to `outbox_dir/messages.jsonl`."""

    token: Optional[str] = Field(default=None, description="Bot token; set it with SLACK_BOT_TOKEN only.")
    base_url: Optional[str] = Field(default=None, description="Slack Web API base URL, e.g. a local test server.")
    outbox_dir: str = Field(default="", description="Folder of the file outbox used when there is no token.")
    max_retries: int = 3
    backoff_factor: float = 0.5
    timeout: int = Field(default=5, description="Seconds per HTTP call; with the retries, one alert's delivery stays "
                                                "under 30 s even when Slack hangs, so a tick ends before Dagster's 60 s.")
    max_retry_after_seconds: float = Field(default=10, description="Longest Retry-After (429) waited for in a tick.")

    def transport(self) -> SlackWebApi | FileMessages:
        if self.token:
            return SlackWebApi(self.token, self.base_url, self.max_retries, self.backoff_factor, self.timeout,
                               self.max_retry_after_seconds)
        return FileMessages(Path(self.outbox_dir))

    @property
    def online(self) -> bool:
        return bool(self.token)


def default_messenger(outbox_dir: Path) -> SlackMessenger:
    """Real Slack when SLACK_BOT_TOKEN is set (read here, never printed), else the file outbox."""
    from dagster import EnvVar

    token = EnvVar("SLACK_BOT_TOKEN") if os.environ.get("SLACK_BOT_TOKEN") else None
    return SlackMessenger(token=token, base_url=os.environ.get("SLACK_BASE_URL") or None, outbox_dir=str(outbox_dir))
