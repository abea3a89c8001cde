"""Running the bot process: the ASGI server, socket mode, and background jobs together."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import uvicorn

from bot.config import ConfigError
from bot.http import create_asgi
from bot.observability import configure_logging
from bot.services import Services

log = logging.getLogger("gradebot")


def run_server(sv: Services, *, host: str, port: int) -> None:
    asyncio.run(serve_async(sv, host=host, port=port))


def _slack_configured(sv: Services) -> bool:
    return bool(sv.settings.slack_bot_token or sv.settings.slack_signing_secret)


async def serve_async(sv: Services, *, host: str, port: int) -> None:
    """Slack (socket mode or HTTP) and/or Teams, /healthz, /readyz, /metrics, reminders."""
    configure_logging(json_lines=sv.settings.log_json)
    if not _slack_configured(sv) and not sv.settings.teams_enabled:
        raise ConfigError("SLACK_BOT_TOKEN: not set — configure Slack (SLACK_BOT_TOKEN and "
                          "SLACK_SIGNING_SECRET) and/or Teams (CLIENT_ID, CLIENT_SECRET, "
                          "TENANT_ID); see the README")
    slack: Any = None
    if _slack_configured(sv):
        from bot.slack.app import build_slack_app

        slack = build_slack_app(sv)
    socket_mode = slack is not None and bool(sv.settings.slack_app_token)
    teams: Any = None
    if sv.settings.teams_enabled:
        from bot.teams.app import build_teams

        teams = build_teams(sv)
    asgi = create_asgi(sv, None if socket_mode else slack, teams)
    server = uvicorn.Server(uvicorn.Config(asgi, host=host, port=port, log_level="warning",
                                           lifespan="off"))
    tasks = [asyncio.create_task(server.serve())]
    handler: Any = None
    if socket_mode:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(slack, sv.settings.slack_app_token)
        await handler.connect_async()
        log.info("gradebot: Slack socket mode connected; /healthz on port %s", port)
    elif slack is not None:
        log.info("gradebot: Slack at http://%s:%s/slack/events", host, port)
    if teams is not None:
        log.info("gradebot: Teams at http://%s:%s/api/messages", host, port)
    reminders = None
    if sv.settings.sweep_minutes > 0:  # reminder sweeps (the database decides who sends)
        from bot.reminders.scheduler import start_reminders

        others = []
        if teams is not None:
            from bot.teams.notify import TeamsNotifier

            others.append(TeamsNotifier.from_settings(sv.settings, sv.db))
        reminders = start_reminders(sv, slack.client if slack is not None else None, others)
    try:
        await asyncio.gather(*tasks)
    finally:
        if reminders is not None:
            await reminders.shutdown()
        if handler is not None:
            await handler.close_async()
