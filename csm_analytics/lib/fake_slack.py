"""A fake Slack Web API on 127.0.0.1 for tests and the latency benchmark: real HTTP, Bearer auth, injectable failures.

Implements chat.postMessage, chat.update, conversations.history, conversations.open and
reactions.get. Tests count what it received; nothing is mocked inside slack-sdk.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeSlack:
    def __init__(self, token: str = "xoxb-test-token", port: int | None = None):
        self.token = token
        self.port = port or free_port()
        self.channels: dict[str, list[dict]] = {}
        self.requests: list[tuple[str, dict]] = []  # every request that reached the server, failures included
        self.failures: deque = deque()
        self.updates: list[dict] = []
        self._ts = itertools.count(1)
        self._server = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

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
                    failure = fake.failures.popleft() if fake.failures else None
                if failure:
                    status, retry_after = failure
                    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
                    return self._reply(status, {"ok": False, "error": "ratelimited" if status == 429 else "fatal_error"}, headers)
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._reply(200, {"ok": False, "error": "invalid_auth"})
                return self._reply(200, fake.dispatch(method, params))

            do_GET = do_POST = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def fail_next(self, status: int, times: int = 1, retry_after: int | None = None) -> None:
        self.failures.extend([(status, retry_after)] * times)

    def dispatch(self, method: str, p: dict) -> dict:
        with self._lock:
            if method == "chat.postMessage":
                ts = f"1700000000.{next(self._ts):06d}"
                message = {"ts": ts, "text": p.get("text"), "blocks": p.get("blocks"), "metadata": p.get("metadata"),
                           "reactions": []}
                self.channels.setdefault(p["channel"], []).append(message)
                return {"ok": True, "channel": p["channel"], "ts": ts, "message": message}
            if method == "chat.update":
                for message in self.channels.get(p["channel"], []):
                    if message["ts"] == p["ts"]:
                        message["text"] = p.get("text")
                        self.updates.append(p)
                        return {"ok": True, "channel": p["channel"], "ts": p["ts"]}
                return {"ok": False, "error": "message_not_found"}
            if method == "conversations.history":
                return {"ok": True, "messages": list(reversed(self.channels.get(p["channel"], []))), "has_more": False}
            if method == "conversations.open":
                return {"ok": True, "channel": {"id": f"D{p['users']}"}}
            if method == "reactions.get":
                for message in self.channels.get(p["channel"], []):
                    if message["ts"] == p["timestamp"]:
                        return {"ok": True, "type": "message", "message": message}
                return {"ok": False, "error": "message_not_found"}
        return {"ok": False, "error": "unknown_method"}

    def posts(self, channel: str | None = None) -> list[dict]:
        return [m for c, msgs in self.channels.items() if channel in (None, c) for m in msgs]

    def react(self, channel: str, ts: str, name: str, user: str) -> None:
        for message in self.channels[channel]:
            if message["ts"] == ts:
                message["reactions"].append({"name": name, "users": [user], "count": 1})

    def calls(self, method: str) -> int:
        return sum(1 for m, _ in self.requests if m == method)
