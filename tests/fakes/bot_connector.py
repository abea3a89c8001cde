"""A fake Bot Framework connector (the Teams ``serviceUrl``) on 127.0.0.1, in a thread.

Activities the bot sends arrive here the way they reach Teams: ``POST
/v3/conversations/{id}/activities`` (new messages and, with ``replyToId``, replies), ``POST
…/activities/{activity id}`` (replies, the REST form) and ``PUT …/activities/{activity id}``
(updates). Every request is recorded with its body and headers, and answered with the new
activity's id. The fake can also publish Bot Framework–style OpenID metadata and signing
keys (``/v1/.well-known/openidconfiguration`` and ``/v1/.well-known/keys``), so tests can
send tokens the SDK's validator really verifies.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer
from tests.fakes.wait import wait_until


@dataclass
class Sent:
    method: str                   # "create" | "reply" | "update"
    conversation: str
    body: dict[str, Any]
    headers: dict[str, str]
    activity_id: str              # the id the fake gave it (or updated)
    reply_to: str | None = None
    at: float = field(default_factory=time.monotonic)

    @property
    def cards(self) -> list[dict[str, Any]]:
        return [a["content"] for a in self.body.get("attachments") or []
                if a.get("contentType") == "application/vnd.microsoft.card.adaptive"]

    @property
    def card(self) -> dict[str, Any]:
        assert self.cards, f"no adaptive card in {self.body}"
        return self.cards[0]


class FakeBotConnector(LoopbackServer):
    thread_name = "fake-connector"

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Sent] = []
        self.jwks: dict[str, Any] = {"keys": []}
        self.failures: list[int] = []  # statuses to answer the next activity posts with
        self._ids = itertools.count(1_700_000_000_000)
        # GET …/members/{id}: the Teams members API (email, userPrincipalName) by member id
        self.members: dict[str, dict[str, Any]] = {}
        self.member_gets: list[str] = []

    # ------------------------------------------------------------------ control
    @property
    def url(self) -> str:
        """The serviceUrl to put in activities (with the trailing slash Teams sends)."""
        return f"{self.host_url}/"

    @property
    def openid_metadata_url(self) -> str:
        return f"{self.host_url}/v1/.well-known/openidconfiguration"

    def reset(self) -> None:
        with self.lock:
            self.sent.clear()
            self.failures.clear()
            self.members.clear()
            self.member_gets.clear()

    def fail_next(self, status: int, times: int = 1) -> None:
        with self.lock:
            self.failures.extend([status] * times)

    def all(self) -> list[Sent]:
        with self.lock:
            return list(self.sent)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Sent]:
        def enough() -> list[Sent] | None:
            got = self.all()
            return got if len(got) >= count else None

        return wait_until(enough, timeout, f"{count} activities")

    # ------------------------------------------------------------------ server
    def routes(self, app: web.Application) -> None:
        base = "/v3/conversations/{conversation}/activities"
        app.router.add_route("POST", base, self._create)
        app.router.add_route("POST", base + "/{activity}", self._reply)
        app.router.add_route("PUT", base + "/{activity}", self._update)
        app.router.add_route("GET", "/v3/conversations/{conversation}/members/{member}",
                             self._member)
        app.router.add_route("GET", "/v1/.well-known/openidconfiguration", self._openid)
        app.router.add_route("GET", "/v1/.well-known/keys", self._keys)

    # ------------------------------------------------------------------ handlers
    async def _record(self, request: web.Request, method: str,
                      activity_id: str | None = None) -> web.Response:
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            return web.json_response({"error": {"code": "BadSyntax"}}, status=400)
        with self.lock:
            if self.failures:
                return web.json_response({"error": {"code": "ServiceError"}},
                                         status=self.failures.pop(0))
        new_id = activity_id if method == "update" else str(next(self._ids))
        reply_to = body.get("replyToId") or (activity_id if method == "reply" else None)
        if method == "create" and reply_to:
            method = "reply"
        sent = Sent(method, request.match_info["conversation"], body, dict(request.headers),
                    str(new_id), reply_to)
        with self.lock:
            self.sent.append(sent)
        return web.json_response({"id": new_id})

    async def _create(self, request: web.Request) -> web.Response:
        return await self._record(request, "create")

    async def _reply(self, request: web.Request) -> web.Response:
        return await self._record(request, "reply", request.match_info["activity"])

    async def _update(self, request: web.Request) -> web.Response:
        return await self._record(request, "update", request.match_info["activity"])

    async def _member(self, request: web.Request) -> web.Response:
        mid = request.match_info["member"]
        with self.lock:
            self.member_gets.append(mid)
            member = self.members.get(mid)
        if member is None:
            return web.json_response({"error": {"code": "MemberNotFoundInConversation"}},
                                     status=404)
        return web.json_response(member)

    async def _openid(self, _request: web.Request) -> web.Response:
        return web.json_response({"issuer": "https://api.botframework.com",
                                  "jwks_uri": f"{self.host_url}/v1/.well-known/keys",
                                  "id_token_signing_alg_values_supported": ["RS256"]})

    async def _keys(self, _request: web.Request) -> web.Response:
        return web.json_response(self.jwks)
