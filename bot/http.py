"""The ASGI application: Slack's and Teams' HTTP endpoints, health and readiness checks.

One Starlette app so that any ASGI server (uvicorn here) and any load balancer can front
any number of stateless replicas; conversation state is in the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.observability import CURRENT_ACCESS, Access, log_access
from bot.services import Services

log = logging.getLogger("gradebot.http")


Check = Callable[[], Awaitable[str | None]]


def create_asgi(services: Services, slack_app: Any | None = None,
                teams: Any | None = None, checks: dict[str, Check] | None = None) -> Starlette:
    """``teams``: a ``bot.teams.app.TeamsBot`` (built here from the settings when omitted and
    Teams is configured; when it is not, /api/messages refuses every request with a 401).
    ``checks``: more readiness checks beside the database's (name → None when fine, else
    why not), e.g. the socket-mode connection."""
    routes = [Route("/healthz", lambda _r: JSONResponse({"ok": True}), methods=["GET"]),
              Route("/readyz", _ready(services, checks or {}), methods=["GET"]),
              Route("/metrics", _metrics, methods=["GET"])]
    if teams is None and services.settings.teams_enabled:
        from bot.teams.app import build_teams

        teams = build_teams(services)
    if teams is not None:
        routes.append(Route("/api/messages", teams.endpoint, methods=["POST"]))
    else:
        routes.append(Route("/api/messages", _teams_off, methods=["POST"]))
    if slack_app is not None:
        from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler

        handler = AsyncSlackRequestHandler(slack_app)
        ack_first = getattr(slack_app, "ack_first", None)  # bot.slack.app.AckFirst
        secret = (services.settings.slack_signing_secret or "").encode()

        async def slack_events(request: Request) -> Response:
            """Bolt's endpoint, timed from arrival to the ack leaving (the response)."""
            access = Access(time.perf_counter())
            token = CURRENT_ACCESS.set(access)
            outcome = "error"
            try:
                response = await answer(request)
                outcome = "ok" if response.status_code < 400 else f"http_{response.status_code}"
                return response
            finally:
                CURRENT_ACCESS.reset(token)
                log_access("slack", access, outcome)

        async def answer(request: Request) -> Response:
            body = await request.body()
            problem = _shape_problem(body, request.headers.get("content-type", ""))
            if problem is not None and _signed(
                    secret, body, request.headers.get("x-slack-request-timestamp", ""),
                    request.headers.get("x-slack-signature", "")):
                # signed, but shaped so that Bolt's own middleware would fail on it (a 500)
                return JSONResponse({"ok": False, "error": f"malformed request: {problem}"},
                                    status_code=400)
            try:
                if ack_first is None:
                    return await handler.handle(request)
                with ack_first.request():  # follow-up work waits until pending acks are out
                    return await handler.handle(request)
            except Exception as exc:
                # Bolt parses the body before it checks the signature, and raises on one it
                # cannot parse or read (broken JSON, bad encoding, absurd nesting, JSON that
                # is not an object): 401 or 400, not a 500 with a traceback per request
                # (listener errors never get here: Bolt answers those itself)
                log.warning("unreadable Slack request: %s", type(exc).__name__)
                if not _signed(secret, body, request.headers.get("x-slack-request-timestamp",
                                                                 ""),
                               request.headers.get("x-slack-signature", "")):
                    return Response(status_code=401)
                return JSONResponse({"ok": False, "error": "unparseable request body"},
                                    status_code=400)

        routes.append(Route("/slack/events", slack_events, methods=["POST"]))
    asgi = Starlette(routes=routes)
    asgi.state.slack = slack_app  # the Bolt app behind /slack/events (None in socket mode)
    return asgi


_OBJECTS = ("event", "view", "user", "team", "container", "message", "channel")


def _shape_problem(body: bytes, content_type: str) -> str | None:
    """What makes a Slack body unusable although it parses (``event`` a list, ``actions`` a
    string …), or None. Bodies that do not parse at all are left to Bolt (which raises)."""
    try:
        if content_type.startswith("application/json"):
            data = json.loads(body)
        else:
            payload = parse_qs(body.decode("utf-8"), keep_blank_values=True).get("payload")
            if not payload:
                return None
            data = json.loads(payload[0])
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return "not a JSON object"
    for key in _OBJECTS:
        if data.get(key) is not None and not isinstance(data[key], dict):
            return f"{key} is not an object"
    actions = data.get("actions")
    if actions is not None and not (isinstance(actions, list)
                                    and all(isinstance(a, dict) for a in actions)):
        return "actions is not a list of objects"
    return None


def _signed(secret: bytes, body: bytes, timestamp: str, signature: str) -> bool:
    """Slack's v0 signature over the raw bytes (which need not be UTF-8), fresh (5 min)."""
    try:
        if abs(time.time() - int(timestamp)) > 300:
            return False
    except ValueError:
        return False
    mac = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return hmac.compare_digest("v0=" + mac.hexdigest(), signature)


async def _metrics(_request: Request) -> Response:
    from bot.observability import CONTENT_TYPE, metrics_text

    return Response(metrics_text(), media_type=CONTENT_TYPE)


async def _teams_off(request: Request) -> Response:
    from bot.teams.off import refuse_unconfigured  # no Teams SDK import when Teams is off

    return await refuse_unconfigured(request)


def _ready(services: Services, checks: dict[str, Check]) -> Any:
    def ping() -> None:
        with services.db.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def ready(_request: Request) -> Response:
        """200 when the database answers within 3 s and every other check passes; 503 with
        each failing part and why otherwise."""
        body: dict[str, Any] = {"ok": True, "database": "ok"}
        try:
            await asyncio.wait_for(asyncio.to_thread(ping), timeout=3)
        except Exception as exc:
            body.update(ok=False, database=type(exc).__name__)
        for name, check in checks.items():
            try:
                problem = await asyncio.wait_for(check(), timeout=1)
            except Exception as exc:
                problem = f"check failed: {type(exc).__name__}"
            body[name] = problem or "ok"
            if problem:
                body["ok"] = False
        return JSONResponse(body, status_code=200 if body["ok"] else 503)

    return ready
