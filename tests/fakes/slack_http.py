"""Talking to the running app the way Slack does: signed HTTP requests.

Slash commands are form bodies, events are JSON, interactivity is a ``payload=`` form; each
is signed with the signing secret (v0 HMAC-SHA256 over ``v0:timestamp:body``).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn

SECRET = "test-signing-secret"
TEAM = "T1"
_ids = itertools.count(1)


def sign(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    sig = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


class ServerThread:
    """uvicorn serving an ASGI app on 127.0.0.1:<free port> in a background thread."""

    def __init__(self, app: Any) -> None:
        self.config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                     lifespan="off")
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="asgi")
        self.port = 0

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.server.started, "ASGI server did not start"
        sock = self.server.servers[0].sockets[0]
        self.port = sock.getsockname()[1]
        return self

    def stop(self, wait: bool = True) -> None:
        """Ask uvicorn to exit; with ``wait``, until it has. uvicorn looks at the flag every
        0.1 s, so per-test fixtures whose app is idle (``settle``) pass ``wait=False``: the
        thread ends on its own a moment later, and ~0.12 s of every Slack and Teams test's
        teardown is not spent watching it."""
        self.server.should_exit = True
        if wait:
            self.thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def loopback_client(base_url: str = "", timeout: float = 10) -> httpx.Client:
    """An HTTP client for servers on 127.0.0.1 (plain HTTP, never TLS). ``verify=False``
    skips loading the CA bundle, which httpx otherwise does for every client: ~30 ms of CPU
    each, 6% of a Slack end-to-end test (one sender per app)."""
    return httpx.Client(base_url=base_url, timeout=timeout, verify=False)


class SlackSender:
    """Sends signed Slack requests to ``base_url``/slack/events."""

    def __init__(self, base_url: str, response_url: str, secret: str = SECRET) -> None:
        self.http = loopback_client(base_url, timeout=10)
        self.response_url = response_url
        self.secret = secret

    def close(self) -> None:
        self.http.close()

    def post(self, body: bytes, content_type: str, headers: dict[str, str] | None = None,
             signed: bool = True, secret: str | None = None,
             timestamp: int | None = None) -> httpx.Response:
        h = {"Content-Type": content_type, **(headers or {})}
        if signed:
            h.update(sign(body, secret or self.secret, timestamp))
        return self.http.post("/slack/events", content=body, headers=h)

    def command(self, command: str, text: str, user: str = "U1", **kw: Any) -> httpx.Response:
        form = {"token": "x", "team_id": TEAM, "team_domain": "test", "channel_id": "C1",
                "channel_name": "general", "user_id": user, "user_name": user.lower(),
                "command": command, "text": text, "api_app_id": "A1",
                "response_url": self.response_url, "trigger_id": f"trig.{next(_ids)}"}
        return self.post(urlencode(form).encode(), "application/x-www-form-urlencoded", **kw)

    def event(self, event: dict[str, Any], event_id: str | None = None,
              retry_num: int | None = None, **kw: Any) -> httpx.Response:
        body = {"token": "x", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
                "event_id": event_id or f"Ev{next(_ids)}", "event_time": int(time.time()),
                "event": event}
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "timeout"}
        return self.post(json.dumps(body).encode(), "application/json", headers=headers, **kw)

    def dm(self, text: str, user: str = "U1", thread_ts: str | None = None,
           channel: str | None = None, client_msg_id: str | None = None,
           **kw: Any) -> httpx.Response:
        ev = {"type": "message", "channel_type": "im", "user": user, "text": text,
              "channel": channel or "D" + user.lstrip("U"), "ts": f"{time.time():.6f}",
              "client_msg_id": client_msg_id or f"cm-{next(_ids)}"}
        if thread_ts:
            ev["thread_ts"] = thread_ts
        return self.event(ev, **kw)

    def interact(self, payload: dict[str, Any], **kw: Any) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, "application/x-www-form-urlencoded", **kw)

    def click(self, value: str, action_id: str = "choice:0", user: str = "U1",
              channel: str | None = None, message_ts: str = "0", thread_ts: str | None = None,
              ephemeral: bool = False, block_id: str = "b", **kw: Any) -> httpx.Response:
        action = {"action_id": action_id, "block_id": block_id, "value": value,
                  "type": "button",
                  "action_ts": f"{time.time():.6f}"}
        return self._act(action, user, channel, message_ts, thread_ts, ephemeral, **kw)

    def select(self, option: dict[str, Any], action_id: str, user: str = "U1",
               channel: str | None = None, message_ts: str = "0", thread_ts: str | None = None,
               **kw: Any) -> httpx.Response:
        """Choose ``option`` (as it appears in the select's ``options``) in a static_select:
        Slack sends it as ``selected_option``, with no ``value`` of the action's own."""
        action = {"action_id": action_id, "block_id": "b", "type": "static_select",
                  "selected_option": option, "action_ts": f"{time.time():.6f}"}
        return self._act(action, user, channel, message_ts, thread_ts, False, **kw)

    def _act(self, action: dict[str, Any], user: str, channel: str | None, message_ts: str,
             thread_ts: str | None, ephemeral: bool, **kw: Any) -> httpx.Response:
        channel = channel or "D" + user.lstrip("U")
        payload = {"type": "block_actions", "team": {"id": TEAM, "domain": "test"},
                   "user": {"id": user, "name": user.lower(), "team_id": TEAM},
                   "api_app_id": "A1", "trigger_id": f"trig.{next(_ids)}",
                   "response_url": self.response_url,
                   "container": {"type": "message", "message_ts": message_ts,
                                 "channel_id": channel, "is_ephemeral": ephemeral},
                   "channel": {"id": channel},
                   "message": {"ts": message_ts, **({"thread_ts": thread_ts}
                                                    if thread_ts else {})},
                   "actions": [action]}
        return self.interact(payload, **kw)
