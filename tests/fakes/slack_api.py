"""A fake Slack Web API on 127.0.0.1 that the app's real WebClient calls over HTTP.

It records every call (method, arguments), answers the methods gradebot uses, serves
``response_url`` posts and file uploads, and can be told to answer 429 (with Retry-After) or
500 for the next N calls of a method — to test the SDK's retry handlers for real.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from tests.fakes.loopback import LoopbackServer
from tests.fakes.wait import wait_until


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    result: dict[str, Any] | None = None  # what the fake answered (None: a failure)


class FakeSlackAPI(LoopbackServer):
    thread_name = "fake-slack"
    client_max_size = 50 * 1024 * 1024

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.failures: dict[str, list[tuple[int, float]]] = {}
        self._ts = 1_700_000_000
        self.users: dict[str, dict[str, Any]] = {}
        self.delay = 0.0  # seconds every call waits before answering (a slow Slack)
        # socket mode: apps.connections.open hands out ws://…/ws; envelopes to send, acks got
        self.socket_outbox: asyncio.Queue[dict[str, Any]] | None = None
        self.socket_acks: list[dict[str, Any]] = []
        self.socket_connections = 0
        # users.lookupByEmail finds only people in ``users`` (by profile email, any case);
        # a scope listed here is one the token lacks (its methods answer missing_scope)
        self.missing_scopes: set[str] = set()
        # files.info / url_private: file id → (file object, content); the content is served
        # only with the bot token (``token``) in the Authorization header, as Slack does
        self.files: dict[str, tuple[dict[str, Any], bytes]] = {}
        self.token = "xoxb-test"
        self.downloads: list[dict[str, Any]] = []
        # uploads (files_upload_v2): files.getUploadURLExternal announces a file (name,
        # length), its upload URL takes the bytes, files.completeUploadExternal shares it —
        # refused for a file never uploaded or of another length than announced, and in
        # a channel listed in ``not_in`` (the bot is not a member there)
        self.announced: dict[str, dict[str, Any]] = {}
        self.uploaded: dict[str, bytes] = {}
        self.not_in: set[str] = set()

    # ------------------------------------------------------------------ control
    @property
    def base_url(self) -> str:
        return f"{self.host_url}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.host_url}/response/{name}"

    def fail(self, method: str, status: int, times: int = 1, retry_after: float = 0) -> None:
        """The next ``times`` calls of ``method`` answer ``status`` (429 or 5xx)."""
        with self.lock:
            self.failures.setdefault(method, []).extend([(status, retry_after)] * times)

    def of(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def ok(self, method: str) -> list[Call]:
        """The calls of ``method`` the fake answered successfully (not the 429/500 ones)."""
        with self.lock:
            return [c for c in self.calls if c.method == method and c.result is not None]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Block until ``count`` calls of ``method`` arrived (listeners run after the ack)."""
        def enough() -> list[Call] | None:
            got = self.of(method)
            return got if len(got) >= count else None

        return wait_until(enough, timeout, f"{count} {method} call(s)")

    def add_user(self, uid: str, email: str, name: str, tz: str | None = "UTC") -> None:
        """A Slack member the directory knows (``users.lookupByEmail``, ``users.info``)."""
        user: dict[str, Any] = {"id": uid, "name": name.lower(), "real_name": name,
                                "profile": {"display_name": name, "email": email}}
        if tz:
            user["tz"] = tz
        self.users[uid] = user

    def add_file(self, file_id: str, name: str, content: bytes, user: str = "U0ADMIN",
                 filetype: str = "csv") -> dict[str, Any]:
        """A file someone shared: ``files.info`` describes it, ``url_private`` serves it."""
        meta = {"id": file_id, "name": name, "title": name, "filetype": filetype,
                "mimetype": "text/csv", "size": len(content), "user": user,
                "url_private": f"{self.host_url}/files/{file_id}/{name}",
                "url_private_download": f"{self.host_url}/files/{file_id}/{name}"}
        self.files[file_id] = (meta, content)
        return meta

    def shared_files(self, channel: str | None = None) -> list[tuple[dict[str, Any], bytes]]:
        """Files completed by files.completeUploadExternal (in ``channel``): meta, bytes."""
        with self.lock:
            return [(meta, content) for meta, content in self.files.values()
                    if meta.get("uploaded") and (channel is None
                                                 or channel in meta.get("channels", []))]

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.failures.clear()
            self.delay = 0.0
            self.missing_scopes.clear()
            self.files.clear()
            self.announced.clear()
            self.uploaded.clear()
            self.not_in.clear()

    # ------------------------------------------------------------------ server
    def routes(self, app: web.Application) -> None:
        app.router.add_route("POST", "/api/{method}", self._api)
        app.router.add_route("GET", "/api/{method}", self._api)
        app.router.add_route("POST", "/response/{name}", self._response)
        app.router.add_route("POST", "/upload/{file_id}", self._upload)
        app.router.add_route("GET", "/ws", self._socket)
        app.router.add_route("GET", "/files/{file_id}/{name}", self._download)

    async def on_start(self) -> None:
        self.socket_outbox = asyncio.Queue()  # bound to the fake's loop

    # ------------------------------------------------------------------ handlers
    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query.items())
        raw = await request.read()
        if not raw:
            return args
        ctype = request.content_type
        if ctype == "application/json":
            args.update(json.loads(raw))
        elif ctype == "application/x-www-form-urlencoded":
            for k, v in parse_qs(raw.decode(), keep_blank_values=True).items():
                val: Any = v[0]
                if k in ("blocks", "view", "attachments", "files") and isinstance(val, str):
                    with contextlib.suppress(ValueError):
                        val = json.loads(val)
                args[k] = val
        else:
            args["_body"] = raw
        return args

    def _record(self, method: str, args: dict[str, Any]) -> tuple[int, float] | None:
        return self._record_call(Call(method, args))

    def _record_call(self, call: Call) -> tuple[int, float] | None:
        with self.lock:
            self.calls.append(call)
            method = call.method
            queue = self.failures.get(method)
            if queue:
                return queue.pop(0)
        return None

    def _next_ts(self) -> str:
        with self.lock:
            self._ts += 1
            return f"{self._ts}.000100"

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        call = Call(method, args)
        failure = self._record_call(call)
        if self.delay:
            await asyncio.sleep(self.delay)
        if failure is not None:
            status, retry_after = failure
            headers = {"Retry-After": str(int(retry_after))} if status == 429 else {}
            return web.json_response({"ok": False, "error": "ratelimited" if status == 429
                                      else "internal_error"}, status=status, headers=headers)
        call.result = self._answer(method, args)
        return web.json_response(call.result)

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        ok: dict[str, Any] = {"ok": True}
        if method == "auth.test":
            return {**ok, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "team": "Test",
                    "user": "gradebot", "url": "https://test.slack.com/"}
        if method == "chat.postMessage":
            ts = self._next_ts()
            return {**ok, "channel": args.get("channel"), "ts": ts,
                    "message": {"ts": ts, "text": args.get("text")}}
        if method == "chat.update":
            return {**ok, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "conversations.open":
            users = str(args.get("users", "U0"))
            return {**ok, "channel": {"id": "D" + users.split(",")[0].lstrip("U")}}
        if method == "users.lookupByEmail":
            if "users:read.email" in self.missing_scopes:
                return {"ok": False, "error": "missing_scope", "needed": "users:read.email"}
            email = str(args.get("email", "")).lower()
            found = next((u for u in self.users.values()
                          if str((u.get("profile") or {}).get("email", "")).lower() == email),
                         None)
            return {**ok, "user": found} if found else {"ok": False,
                                                         "error": "users_not_found"}
        if method == "files.info":
            if "files:read" in self.missing_scopes:
                return {"ok": False, "error": "missing_scope", "needed": "files:read"}
            entry = self.files.get(str(args.get("file", "")))
            return {**ok, "file": entry[0]} if entry else {"ok": False,
                                                          "error": "file_not_found"}
        if method == "users.info":
            uid = str(args.get("user", ""))
            user = self.users.get(uid) or {"id": uid, "name": uid.lower(), "tz": "UTC",
                                           "real_name": f"User {uid}",
                                           "profile": {"display_name": f"user-{uid.lower()}",
                                                       "email": f"{uid.lower()}@example.com"}}
            return {**ok, "user": user}
        if method in ("views.open", "views.publish", "views.update", "views.push"):
            return {**ok, "view": {"id": "V" + self._next_ts().replace(".", "")}}
        if method == "chat.getPermalink":
            return {**ok, "permalink": f"https://test.slack.com/archives/{args.get('channel')}"
                                       f"/p{str(args.get('message_ts', '')).replace('.', '')}"}
        if method == "files.getUploadURLExternal":
            length = str(args.get("length") or "")
            if not args.get("filename") or not length.isdigit() or int(length) < 1:
                return {"ok": False, "error": "invalid_arguments"}
            fid = "F" + self._next_ts().replace(".", "")
            with self.lock:
                self.announced[fid] = {"filename": str(args["filename"]),
                                       "length": int(length), "alt_txt": args.get("alt_txt")}
            return {**ok, "file_id": fid, "upload_url": f"{self.host_url}/upload/{fid}"}
        if method == "files.completeUploadExternal":
            return self._complete_upload(args)
        if method == "apps.connections.open":
            return {**ok, "url": f"ws{self.host_url.removeprefix('http')}/ws"}
        if method == "chat.postEphemeral":
            return {**ok, "message_ts": self._next_ts()}
        return {"ok": False, "error": "unknown_method"}

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if isinstance(files, str):
            files = json.loads(files)
        if not files:
            return {"ok": False, "error": "invalid_arguments"}
        channel = args.get("channel_id")
        channels = [str(channel)] if channel else str(args.get("channels") or "").split(",")
        channels = [c for c in channels if c]
        if any(c in self.not_in for c in channels):
            return {"ok": False, "error": "not_in_channel"}
        out = []
        with self.lock:
            for f in files:
                fid = str(f.get("id", ""))
                announced, content = self.announced.get(fid), self.uploaded.get(fid)
                if announced is None or content is None:
                    return {"ok": False, "error": "file_not_found"}
                if len(content) != announced["length"]:
                    return {"ok": False, "error": "file_upload_size_mismatch"}
                name = announced["filename"]
                meta = {"id": fid, "name": name, "title": f.get("title") or name,
                        "size": len(content), "channels": channels, "uploaded": True,
                        "mimetype": "image/png" if name.endswith(".png") else
                        "application/octet-stream", "alt_txt": announced["alt_txt"],
                        "initial_comment": args.get("initial_comment")}
                self.files[fid] = (meta, content)
                out.append({k: meta[k] for k in ("id", "name", "title", "size")})
        return {"ok": True, "files": out}

    async def _response(self, request: web.Request) -> web.Response:
        args = await self._args(request)
        failure = self._record("response_url", {**args, "_name": request.match_info["name"]})
        if self.delay:
            await asyncio.sleep(self.delay)
        if failure is not None:
            return web.Response(status=failure[0], text="error")
        return web.json_response({"ok": True})

    def send_envelope(self, envelope: dict[str, Any]) -> None:
        """Deliver a socket-mode envelope to the connected app (from any thread)."""
        assert self.socket_outbox is not None
        self.call_soon(self.socket_outbox.put_nowait, envelope)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Slack's socket-mode WebSocket: hello, then queued envelopes; acks are recorded."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.socket_connections += 1
        await ws.send_json({"type": "hello", "num_connections": 1,
                            "connection_info": {"app_id": "A1"}})
        assert self.socket_outbox is not None

        async def pump() -> None:
            while True:
                await ws.send_json(await self.socket_outbox.get())

        sender = asyncio.create_task(pump())
        try:
            async for msg in ws:
                if msg.type == web.WSMsgType.TEXT:
                    with self.lock:
                        self.socket_acks.append(json.loads(msg.data))
        finally:
            sender.cancel()
        return ws
    async def _download(self, request: web.Request) -> web.Response:
        """url_private: the content with the bot token; Slack's sign-in page without."""
        auth = request.headers.get("Authorization", "")
        fid = request.match_info["file_id"]
        self._record("download", {"file_id": fid, "authorization": auth})
        entry = self.files.get(fid)
        if entry is None:
            return web.Response(status=404, text="not found")
        if auth != f"Bearer {self.token}":
            return web.Response(text="<!DOCTYPE html><html>Sign in to Slack</html>",
                                content_type="text/html")
        return web.Response(body=entry[1], content_type="text/csv")

    async def _upload(self, request: web.Request) -> web.Response:
        """An upload URL from files.getUploadURLExternal: takes the bytes (Slack answers
        ``OK - <length>``); an id it never handed out is a 404."""
        body = await request.read()
        fid = request.match_info["file_id"]
        self._record("upload", {"file_id": fid, "size": len(body), "_body": body})
        with self.lock:
            if fid not in self.announced:
                return web.Response(status=404, text="not found")
            self.uploaded[fid] = body
        return web.Response(text="OK - " + str(len(body)))
