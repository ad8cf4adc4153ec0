"""Sending alerts: real Slack through slack-sdk, or a file outbox when no token is set.

`SlackMessenger` builds on dagster-slack's SlackResource and adds `base_url` (so tests
can point it at a local fake Slack server). The token comes only from SLACK_BOT_TOKEN
and is never logged. Both transports share one small interface, so the delivery code is
the same offline and online.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Optional

from dagster_slack import SlackResource
from pydantic import Field
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

METADATA_EVENT = "csm_alert"


class SlackWebApi:
    """slack-sdk WebClient with retries on 429 (honouring Retry-After), 5xx and connection errors."""

    def __init__(self, token: str, base_url: str | None = None, max_retries: int = 3, backoff_factor: float = 0.5):
        interval = BackoffRetryIntervalCalculator(backoff_factor=backoff_factor)
        handlers = [RateLimitErrorRetryHandler(max_retry_count=max_retries),
                    ServerErrorRetryHandler(max_retry_count=max_retries, interval_calculator=interval),
                    ConnectionErrorRetryHandler(max_retry_count=max_retries, interval_calculator=interval)]
        kwargs = {"base_url": base_url} if base_url else {}
        self.client = WebClient(token=token, retry_handlers=handlers, timeout=10, **kwargs)

    def post(self, channel: str, text: str, blocks: list, alert_key: str) -> tuple[str, str]:
        r = self.client.chat_postMessage(channel=channel, text=text, blocks=blocks,
                                         metadata={"event_type": METADATA_EVENT, "event_payload": {"alert_key": alert_key}})
        return r["channel"], r["ts"]

    def update(self, channel: str, ts: str, text: str, blocks: list) -> None:
        self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

    def find(self, channel: str, alert_key: str) -> str | None:
        """The ts of a message already carrying this alert key (a send that crashed before being recorded)."""
        r = self.client.conversations_history(channel=channel, include_all_metadata=True, limit=200)
        for message in r.get("messages", []):
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("alert_key") == alert_key:
                return message["ts"]
        return None

    def open_dm(self, user_id: str) -> str:
        return self.client.conversations_open(users=user_id)["channel"]["id"]

    def reactions(self, channel: str, ts: str) -> list[dict]:
        r = self.client.reactions_get(channel=channel, timestamp=ts)
        return r.get("message", {}).get("reactions", [])


class FileMessages:
    """Offline transport: every message is a JSON line in `folder/messages.jsonl`."""

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

    def post(self, channel: str, text: str, blocks: list, alert_key: str) -> tuple[str, str]:
        ts = f"{time.time():.6f}"
        self._write({"method": "chat.postMessage", "channel": channel, "ts": ts, "text": text, "blocks": blocks,
                     "alert_key": alert_key})
        return channel, ts

    def update(self, channel: str, ts: str, text: str, blocks: list) -> None:
        self._write({"method": "chat.update", "channel": channel, "ts": ts, "text": text, "blocks": blocks})

    def find(self, channel: str, alert_key: str) -> str | None:
        for record in self._records():
            if record.get("alert_key") == alert_key and record["channel"] == channel:
                return record["ts"]
        return None

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

    def transport(self) -> SlackWebApi | FileMessages:
        if self.token:
            return SlackWebApi(self.token, self.base_url, self.max_retries, self.backoff_factor)
        return FileMessages(Path(self.outbox_dir))

    @property
    def online(self) -> bool:
        return bool(self.token)


def default_messenger(outbox_dir: Path) -> SlackMessenger:
    """Real Slack when SLACK_BOT_TOKEN is set (read here, never printed), else the file outbox."""
    from dagster import EnvVar

    token = EnvVar("SLACK_BOT_TOKEN") if os.environ.get("SLACK_BOT_TOKEN") else None
    return SlackMessenger(token=token, base_url=os.environ.get("SLACK_BASE_URL") or None, outbox_dir=str(outbox_dir))
