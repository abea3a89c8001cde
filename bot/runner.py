"""Running the bot process: the ASGI server, socket mode, and background jobs together."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from types import FrameType
from typing import Any

import uvicorn

from bot.config import ConfigError
from bot.http import create_asgi
from bot.observability import configure_logging
from bot.services import Services

DRAIN_SECONDS = 20  # under the usual 30 s between SIGTERM and SIGKILL (Kubernetes, systemd)
log = logging.getLogger("gradebot")


def run_server(sv: Services, *, host: str, port: int) -> None:
    asyncio.run(serve_async(sv, host=host, port=port))


def _clean_up_after_sigterm(server: uvicorn.Server) -> None:
    """uvicorn stops gracefully on SIGTERM and then raises the signal again with the handler
    from before it started — by default one that ends the process at once, before the
    clean-up in ``serve_async`` (acked replies, the reminder sweep). This handler lets that
    clean-up run when the server is already stopping; a SIGTERM before uvicorn took over
    (during start-up) exits at once."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(sig: int, _frame: FrameType | None) -> None:
        if not server.should_exit:
            raise SystemExit(128 + sig)

    signal.signal(signal.SIGTERM, handler)


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
    link: Any = None
    checks: dict[str, Any] = {}
    if socket_mode:
        from bot.slack.app import make_client
        from bot.slack.socket import SocketLink, TimedSocketModeHandler

        # its own client: a connection attempt gives up quickly and SocketLink backs off
        # (the app's client rides out a Web API blip for ~15 s before it gives up)
        link = SocketLink(TimedSocketModeHandler(slack, sv.settings.slack_app_token,
                                                 web_client=make_client(sv, 1)))
        checks["slack_socket_mode"] = link.problem
    asgi = create_asgi(sv, None if socket_mode else slack, teams, checks)
    server = uvicorn.Server(uvicorn.Config(asgi, host=host, port=port, log_level="warning",
                                           lifespan="off"))
    _clean_up_after_sigterm(server)
    tasks = [asyncio.create_task(server.serve())]
    if link is not None:
        link.start()  # in the background: an unreachable Slack must not block a stop
        log.info("gradebot: Slack socket mode connecting; /healthz, /readyz on port %s", port)
    elif slack is not None:
        log.info("gradebot: Slack at http://%s:%s/slack/events", host, port)
    if teams is not None:
        log.info("gradebot: Teams at http://%s:%s/api/messages", host, port)
    reminders = None
    if sv.settings.sweep_minutes > 0:  # reminder sweeps (the database decides who sends)
        from bot import notifiers as platforms
        from bot.reminders.scheduler import start_reminders

        served = {"slack": slack is not None, "teams": teams is not None}
        reminders = start_reminders(sv, [
            platforms.build(sv.settings, sv.db, p,
                            slack_client=slack.client if slack is not None else None)
            for p in platforms.PLATFORMS if served[p]])
    try:
        await asyncio.gather(*tasks)
    finally:
        if link is not None:  # no new envelopes (Slack redelivers unacked ones elsewhere)
            await link.stop()
        # the server has stopped taking requests: let acked work finish (a reply being
        # written, an LLM call) before the process goes, within a deploy's grace period
        follow_ups = getattr(slack, "follow_ups", None)
        if follow_ups is not None and follow_ups.count:
            log.info("gradebot: finishing %d reply(ies) in flight", follow_ups.count)
            left = await follow_ups.idle(DRAIN_SECONDS)
            if left:
                log.warning("gradebot: stopped with %d reply(ies) unfinished", left)
        if reminders is not None:
            await reminders.shutdown()
        log.info("gradebot: stopped")
