"""Running the bot process: the ASGI server, socket mode, and background jobs together."""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from bot.http import create_asgi
from bot.services import Services

log = logging.getLogger("gradebot")


def run_server(sv: Services, *, host: str, port: int) -> None:
    asyncio.run(serve_async(sv, host=host, port=port))


async def serve_async(sv: Services, *, host: str, port: int) -> None:
    from bot.slack.app import build_slack_app

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    slack = build_slack_app(sv)
    socket_mode = bool(sv.settings.slack_app_token)
    asgi = create_asgi(sv, None if socket_mode else slack)
    server = uvicorn.Server(uvicorn.Config(asgi, host=host, port=port, log_level="warning",
                                           lifespan="off"))
    tasks = [asyncio.create_task(server.serve())]
    if socket_mode:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(slack, sv.settings.slack_app_token)
        await handler.connect_async()
        log.info("gradebot: socket mode connected; /healthz on port %s", port)
    else:
        log.info("gradebot: listening on http://%s:%s/slack/events", host, port)
    try:
        await asyncio.gather(*tasks)
    finally:
        if socket_mode:
            await handler.close_async()
