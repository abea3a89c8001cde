"""``gradebot serve`` and ``gradebot remind``: run the bot, and its reminders by hand."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.context import services
from bot.cli.output import console, err, fail


def serve(
    port: Annotated[int, typer.Option(help="HTTP port (HTTP mode, and /healthz)")] = 3000,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "0.0.0.0",
) -> None:
    """Run the bot: socket mode when SLACK_APP_TOKEN is set, else HTTP at /slack/events."""
    from bot.config import ConfigError
    from bot.runner import run_server

    sv = services()
    try:
        run_server(sv, host=host, port=port)
    except ConfigError as exc:
        fail(str(exc))


def remind(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show who would be reminded "
                                          "(nothing is claimed or sent)")] = False,
    now: Annotated[bool, typer.Option("--now", help="Run one real sweep on every configured "
                                      "platform (Slack, Teams)")] = False,
    at: Annotated[str | None, typer.Option(help="With --dry-run: the moment to plan for, ISO "
                                           "(no offset: GRADEBOT_TIMEZONE)")] = None,
    workspace: Annotated[str | None, typer.Option(help="Only this workspace "
                                                  "(platform:id)")] = None,
) -> None:
    """Reminders: who is due (--dry-run [--at 2027-01-04T09:30]) or send them (--now)."""
    from bot.cli import remind as work
    from bot.config import ConfigError

    if dry_run == now:
        fail("Use exactly one of --dry-run or --now.")
    sv = services()
    try:
        if dry_run:
            when = work.parse_at(at, sv.settings.timezone, sv.clock())
            work.render_plan(console, work.dry_run(sv, when, workspace), when)
            work.render_unreachable(console, work.unreachable(sv, when, workspace))
        else:
            code = work.print_report(console, err, work.sweep_now(sv))
            if code:
                raise typer.Exit(code)
    except ConfigError as exc:
        fail(str(exc))


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(remind)
