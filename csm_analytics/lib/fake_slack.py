"""A fake Slack Web API on 127.0.0.1 for tests and the latency benchmark, strict where Slack is strict.

Real HTTP, so slack-sdk runs unmodified. Like Slack it:
- checks the bearer token (`not_authed`, `invalid_auth`);
- gives channels and DMs Slack-shaped ids (C..., D...) and ts values ("1764412345.000100");
- accepts a #name only in chat.postMessage, and answers `channel_not_found` to a name in
  conversations.history, chat.update and reactions.get;
- enforces Block Kit limits (50 blocks, 3,000 characters per section text, 150 per header, 10 fields
  of 2,000) with `invalid_blocks`, and requires the `text` fallback (`no_text`);
- returns message metadata from conversations.history only with include_all_metadata.
Faults are injected per call: an HTTP status (429 with Retry-After, 500, 503), Slack down (503 to
everything), a connection dropped after the message was stored, and a delay before answering.
Tests count what it received; nothing is mocked inside slack-sdk.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import threading
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

DEFAULT_CHANNELS = ("cs-critical-alerts", "cs-ops", "cs-unassigned")
ID_REQUIRED = {"conversations.history", "chat.update", "reactions.get"}
BLOCK_TYPES = {"section", "header", "context", "actions", "divider", "image", "rich_text"}
USER_ID = re.compile(r"^[UW][A-Z0-9]+$")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slack_id(prefix: str, seed: str) -> str:
    return prefix + base64.b32encode(hashlib.sha1(seed.encode()).digest()).decode()[:10]


def _truthy(value) -> bool:
    return value in (True, 1, "1", "true", "True")


def block_errors(blocks) -> str | None:
    """Slack's error for blocks it would refuse, or None."""
    if blocks is None:
        return None
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "invalid_blocks"
    for block in blocks:
        kind, text = block.get("type"), (block.get("text") or {}).get("text", "")
        if kind not in BLOCK_TYPES:
            return "invalid_blocks"
        if kind == "header" and (block["text"].get("type") != "plain_text" or not 0 < len(text) <= 150):
            return "invalid_blocks"
        if kind == "section":
            fields = block.get("fields") or []
            if not (text or fields) or len(text) > 3000 or len(fields) > 10 \
                    or any(len(f.get("text", "")) > 2000 for f in fields):
                return "invalid_blocks"
        if kind in ("context", "actions") and not 0 < len(block.get("elements") or []) <= (10 if kind == "context" else 25):
            return "invalid_blocks"
    return None


class FakeSlack:
    def __init__(self, token: str = "xoxb-test-token", port: int | None = None, channels=DEFAULT_CHANNELS):
        self.token = token
        self.port = port or free_port()
        self.names = {name: slack_id("C", name) for name in channels}  # channel name -> id
        self.channels: dict[str, list[dict]] = {cid: [] for cid in self.names.values()}  # id -> messages, oldest first
        self.requests: list[tuple[str, dict]] = []  # every request that reached the server, failures included
        self.faults: deque = deque()
        self.updates: list[dict] = []
        self.is_down = False
        self.post_delay = 0.0  # seconds between storing a post and answering it
        self._last_ts = 0.0
        self._server = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    # --- the server ------------------------------------------------------------------------------------------

    def start(self) -> "FakeSlack":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _params(self) -> dict:
                query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                if raw and "json" in (self.headers.get("Content-Type") or ""):
                    query.update(json.loads(raw))
                elif raw:
                    query.update({k: v[0] for k, v in parse_qs(raw).items()})
                return query

            def _reply(self, status: int, body: dict, headers: dict | None = None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _handle(self):
                method = urlparse(self.path).path.rsplit("/", 1)[-1]
                params = self._params()
                with fake._lock:
                    fake.requests.append((method, params))
                    fault = fake._next_fault(method)
                if fake.is_down:
                    return self._reply(503, {"ok": False, "error": "service_unavailable"})
                if fault and fault[0] == "status":
                    _, status, retry_after, _ = fault
                    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
                    return self._reply(status, {"ok": False, "error": "ratelimited" if status == 429 else "fatal_error"},
                                       headers)
                auth = self.headers.get("Authorization")
                if not auth:
                    return self._reply(200, {"ok": False, "error": "not_authed"})
                if auth != f"Bearer {fake.token}":
                    return self._reply(200, {"ok": False, "error": "invalid_auth"})
                body = fake.dispatch(method, params)
                if fault and fault[0] == "drop":  # Slack stored it; the answer never arrives
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return None
                if method == "chat.postMessage" and fake.post_delay:
                    time.sleep(fake.post_delay)
                return self._reply(200, body)

            do_GET = do_POST = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # a dropped connection is a fault we injected
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- faults ----------------------------------------------------------------------------------------------

    def fail_next(self, status: int, times: int = 1, retry_after: int | None = None, method: str | None = None) -> None:
        """The next `times` calls (of `method`, or any) get HTTP `status`; nothing is stored."""
        self.faults.extend([("status", status, retry_after, method)] * times)

    def drop_next(self, method: str = "chat.postMessage", times: int = 1) -> None:
        """The next `times` calls of `method` are carried out, then the connection closes without an answer."""
        self.faults.extend([("drop", None, None, method)] * times)

    def down(self, is_down: bool = True) -> None:
        """Slack is down: every call gets 503 until `down(False)`."""
        self.is_down = is_down

    def _next_fault(self, method: str):
        for i, fault in enumerate(self.faults):
            if fault[3] in (None, method):
                del self.faults[i]
                return fault
        return None

    # --- the Web API -----------------------------------------------------------------------------------------

    def _new_ts(self) -> str:
        self._last_ts = max(round(time.time(), 6), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    def _resolve(self, channel: str | None, method: str) -> str | None:
        """The channel id, or None when Slack would answer channel_not_found."""
        if channel in self.channels:
            return channel
        if method not in ID_REQUIRED and channel:
            return self.names.get(channel.lstrip("#"))
        return None

    def _message(self, cid: str, ts: str) -> dict | None:
        return next((m for m in self.channels[cid] if m["ts"] == ts), None)

    def dispatch(self, method: str, p: dict) -> dict:
        with self._lock:
            if method == "conversations.open":
                users = str(p.get("users") or "")
                if not USER_ID.match(users):
                    return {"ok": False, "error": "user_not_found"}
                cid = slack_id("D", users)
                self.channels.setdefault(cid, [])
                return {"ok": True, "channel": {"id": cid}}
            if method == "conversations.list":
                names = sorted(self.names.items())
                start, limit = int(p.get("cursor") or 0), int(p.get("limit") or 100)
                page = names[start:start + limit]
                more = start + limit < len(names)
                return {"ok": True, "channels": [{"id": cid, "name": n, "is_channel": True} for n, cid in page],
                        "response_metadata": {"next_cursor": str(start + limit) if more else ""}}
            if method not in ("chat.postMessage", "chat.update", "conversations.history", "reactions.get"):
                return {"ok": False, "error": "unknown_method"}
            cid = self._resolve(p.get("channel"), method)
            if cid is None:
                return {"ok": False, "error": "channel_not_found"}
            if method == "chat.postMessage":
                error = self._content_error(p)
                if error:
                    return {"ok": False, "error": error}
                metadata = json.loads(p["metadata"]) if isinstance(p.get("metadata"), str) else p.get("metadata")
                blocks = json.loads(p["blocks"]) if isinstance(p.get("blocks"), str) else p.get("blocks")
                message = {"type": "message", "ts": self._new_ts(), "text": p["text"], "blocks": blocks,
                           "metadata": metadata, "reactions": []}
                self.channels[cid].append(message)
                return {"ok": True, "channel": cid, "ts": message["ts"], "message": message}
            if method == "chat.update":
                message = self._message(cid, p.get("ts"))
                if message is None:
                    return {"ok": False, "error": "message_not_found"}
                error = self._content_error(p)
                if error:
                    return {"ok": False, "error": error}
                message["text"] = p["text"]
                message["blocks"] = json.loads(p["blocks"]) if isinstance(p.get("blocks"), str) else p.get("blocks")
                self.updates.append(p)
                return {"ok": True, "channel": cid, "ts": p["ts"]}
            if method == "conversations.history":
                oldest = float(p.get("oldest") or 0)
                found = [m for m in reversed(self.channels[cid]) if float(m["ts"]) > oldest]
                start, limit = int(p.get("cursor") or 0), int(p.get("limit") or 100)
                page = [dict(m) if _truthy(p.get("include_all_metadata")) else {k: v for k, v in m.items() if k != "metadata"}
                        for m in found[start:start + limit]]
                more = start + limit < len(found)
                return {"ok": True, "messages": page, "has_more": more,
                        "response_metadata": {"next_cursor": str(start + limit) if more else ""}}
            message = self._message(cid, p.get("timestamp"))  # reactions.get
            if message is None:
                return {"ok": False, "error": "message_not_found"}
            return {"ok": True, "type": "message", "channel": cid, "message": message}

    @staticmethod
    def _content_error(p: dict) -> str | None:
        if not p.get("text"):
            return "no_text"
        if len(p["text"]) > 40000:
            return "msg_too_long"
        return block_errors(p.get("blocks"))

    # --- what tests read -------------------------------------------------------------------------------------

    def channel_id(self, name: str) -> str:
        return self.names[name.lstrip("#")]

    def dm_id(self, user: str) -> str:
        return slack_id("D", user)

    def posts(self, channel: str | None = None) -> list[dict]:
        """Messages in `channel` (a #name or an id), or in every channel."""
        if channel is None:
            return [m for msgs in self.channels.values() for m in msgs]
        wanted = channel if channel in self.channels else self.names.get(channel.lstrip("#"))
        return list(self.channels.get(wanted, []))  # a DM never opened, or an unknown name: nothing

    def alert_copies(self) -> Counter:
        """(channel id, alert key) -> messages carrying it: an alert's own post, or its line in a digest."""
        copies: Counter = Counter()
        for cid, messages in self.channels.items():
            for m in messages:
                payload = (m.get("metadata") or {}).get("event_payload") or {}
                for key in payload.get("items") or [payload.get("alert_key")]:
                    if key:
                        copies[(cid, key)] += 1
        return copies

    def react(self, channel: str, ts: str, name: str, user: str) -> None:
        cid = channel if channel in self.channels else self.channel_id(channel)
        self._message(cid, ts)["reactions"].append({"name": name, "users": [user], "count": 1})

    def calls(self, method: str) -> int:
        return sum(1 for m, _ in self.requests if m == method)
