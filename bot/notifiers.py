"""The configured platforms' ``Notifier``s, built in one place.

This is the only module that knows which channel adapters exist (``bot.slack``,
``bot.teams``), so the reminder jobs (``bot.reminders``) depend on the ``bot.notify``
protocol alone, and a new channel is added here, not in the reminders.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from bot.config import Settings
from bot.notify import Notifier

# Platforms whose people are reminded (terminal-only users of ``gradebot chat`` are not).
PLATFORMS = ("slack", "teams")


def why_not(settings: Settings, platform: str) -> str | None:
    """Why ``platform`` cannot send with these settings (None: it can)."""
    if platform == "slack":
        return None if settings.slack_bot_token else "SLACK_BOT_TOKEN not set"
    if platform == "teams":
        return (
            None
            if settings.teams_enabled
            else ("CLIENT_ID not set (nor GRADEBOT_TEAMS_DEV_NO_AUTH)")
        )
    return f"no notifier for platform {platform!r}"


def build(
    settings: Settings, db: Engine, platform: str, *, slack_client: Any | None = None
) -> Notifier:
    """``platform``'s notifier on ``db``. ``slack_client``: the serve process's own client
    (shared with the Bolt app); otherwise one is made from the settings."""
    if platform == "slack":
        from bot.slack.app import make_client_for
        from bot.slack.notify import SlackNotifier

        return SlackNotifier(slack_client or make_client_for(settings), db=db)
    if platform == "teams":
        from bot.teams.notify import TeamsNotifier

        return TeamsNotifier.from_settings(settings, db)
    raise ValueError(f"no notifier for platform {platform!r}")


@dataclass(frozen=True)
class Configured:
    """Each platform's notifier, or why it has none."""

    notifiers: dict[str, Notifier]
    skipped: dict[str, str]


@asynccontextmanager
async def configured(settings: Settings, db: Engine) -> AsyncIterator[Configured]:
    """Notifiers for every configured platform, for a one-off sweep (``remind --now``);
    the Slack client made for it is closed on the way out."""
    notifiers: dict[str, Notifier] = {}
    skipped: dict[str, str] = {}
    slack_client: Any = None
    for platform in PLATFORMS:
        why = why_not(settings, platform)
        if why is not None:
            skipped[platform] = why
            continue
        if platform == "slack":
            from bot.slack.app import make_client_for

            slack_client = make_client_for(settings)
        notifiers[platform] = build(settings, db, platform, slack_client=slack_client)
    try:
        yield Configured(notifiers, skipped)
    finally:
        session = slack_client.session if slack_client is not None else None
        if session is not None and not session.closed:  # an aiohttp session it was given
            await session.close()
