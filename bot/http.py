"""The ASGI application: Slack's and Teams' HTTP endpoints, health and readiness checks.

One Starlette app so that any ASGI server (uvicorn here) and any load balancer can front
any number of stateless replicas; conversation state is in the database.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.services import Services


def create_asgi(services: Services, slack_app: Any | None = None,
                teams: Any | None = None) -> Starlette:
    """``teams``: a ``bot.teams.app.TeamsBot`` (built here from the settings when omitted and
    Teams is configured; when it is not, /api/messages refuses every request with a 401)."""
    routes = [Route("/healthz", lambda _r: JSONResponse({"ok": True}), methods=["GET"]),
              Route("/readyz", _ready(services), methods=["GET"]),
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

        async def slack_events(request: Request) -> Response:
            if ack_first is None:
                return await handler.handle(request)
            with ack_first.request():  # follow-up work waits until pending acks are out
                return await handler.handle(request)

        routes.append(Route("/slack/events", slack_events, methods=["POST"]))
    return Starlette(routes=routes)


async def _metrics(_request: Request) -> Response:
    from bot.observability import CONTENT_TYPE, metrics_text

    return Response(metrics_text(), media_type=CONTENT_TYPE)


async def _teams_off(request: Request) -> Response:
    from bot.teams.off import refuse_unconfigured  # no Teams SDK import when Teams is off

    return await refuse_unconfigured(request)


def _ready(services: Services) -> Any:
    def ping() -> None:
        with services.db.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def ready(_request: Request) -> Response:
        try:
            await asyncio.wait_for(asyncio.to_thread(ping), timeout=3)
        except Exception as exc:
            return JSONResponse({"ok": False, "database": type(exc).__name__}, status_code=503)
        return JSONResponse({"ok": True, "database": "ok"})

    return ready
