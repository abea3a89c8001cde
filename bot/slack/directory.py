"""Slack's directory: who an imported email is on Slack, and which workspace a token is for.

People imported by email (``gradebot import people``, or owners of imported customers) are
stand-ins until their Slack user id is known. With a bot token, ``resolve_pending`` asks
Slack (``users.lookupByEmail``, which needs the ``users:read.email`` scope; the time zone
from the user object, or ``users.info`` when it has none) and gives each found person their
user id through ``bot.people.learn_profile`` — the same code that matches them on
first contact, so either way there is one person, never two. It runs after an import and
before each reminder sweep, so the first quarterly wave reaches a team imported on Monday.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine

from bot import people

log = logging.getLogger("gradebot.slack")

RETRY_UNFOUND = timedelta(hours=6)  # how soon an email Slack did not know is asked again


class DirectoryError(Exception):
    """Slack refused the look-up for the whole workspace (a missing scope, a bad token):
    the message says what to do."""


@dataclass
class ResolveReport:
    resolved: list[str] = field(default_factory=list)     # emails now matched to a user id
    not_found: list[str] = field(default_factory=list)    # emails Slack does not know


@dataclass(frozen=True)
class SlackTeam:
    team_id: str
    name: str


async def team_of(client: AsyncWebClient) -> SlackTeam:
    """The workspace the bot token belongs to (``auth.test``)."""
    try:
        res = await client.auth_test()
    except SlackApiError as exc:
        raise DirectoryError(f"SLACK_BOT_TOKEN: Slack refused it ({exc.response.get('error')})"
                             ) from None
    return SlackTeam(str(res["team_id"]), str(res.get("team") or ""))


class Directory:
    """Look-ups for one bot token; remembers (per process) emails Slack did not know, so
    sweeps every few minutes do not ask again until ``RETRY_UNFOUND`` has passed."""

    def __init__(self, client: AsyncWebClient, db: Engine) -> None:
        self.client = client
        self.db = db
        self.unfound: dict[tuple[int, str], datetime] = {}

    async def lookup(self, email: str) -> dict | None:
        """Slack's user for ``email``, or None when Slack has no such user."""
        try:
            res = await self.client.users_lookupByEmail(email=email)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error == "users_not_found":
                return None
            if error in ("missing_scope", "not_allowed_token_type", "invalid_auth",
                         "account_inactive", "token_revoked"):
                raise DirectoryError(
                    f"Slack refused users.lookupByEmail ({error}): add the users:read.email "
                    "scope (see manifest.yml) and reinstall the app." if error == "missing_scope"
                    else f"Slack refused users.lookupByEmail ({error}).") from None
            raise
        user = dict(res.get("user") or {})
        if user.get("deleted") or user.get("is_bot"):
            return None
        if not user.get("tz") and user.get("id"):
            info = await self.client.users_info(user=user["id"])
            user["tz"] = (info.get("user") or {}).get("tz")
        return user

    async def add_known(self, workspace_id: int, emails: list[str]) -> ResolveReport:
        """Owners a customer file names by email who are not imported yet but are in Slack:
        add them as the Slack users they are (``users.lookupByEmail``), so their customers
        import instead of being rejected. Emails Slack does not know stay unknown owners."""
        report = ResolveReport()
        for email in emails[:500]:
            user = await self.lookup(email)
            if user is None or not user.get("id"):
                report.not_found.append(email)
                continue
            prof = user.get("profile") or {}
            name = prof.get("display_name") or user.get("real_name") or email.split("@")[0]
            await asyncio.to_thread(people.learn_profile, self.db, workspace_id,
                                    str(user["id"]), name, email=str(prof.get("email") or email),
                                    timezone=user.get("tz"))
            report.resolved.append(email)
        return report

    async def resolve_pending(self, workspace_id: int, *, now: datetime | None = None,
                              retry_unfound: bool = True) -> ResolveReport:
        """Match every stand-in person of the workspace that Slack knows by email."""
        now = now or datetime.now(UTC)
        report = ResolveReport()
        for _pid, email in await asyncio.to_thread(people.pending_emails, self.db, workspace_id):
            key = (workspace_id, email.lower())
            asked = self.unfound.get(key)
            if retry_unfound and asked is not None and now - asked < RETRY_UNFOUND:
                report.not_found.append(email)
                continue
            user = await self.lookup(email)
            if user is None or not user.get("id"):
                self.unfound[key] = now
                report.not_found.append(email)
                continue
            prof = user.get("profile") or {}
            name = prof.get("display_name") or user.get("real_name") or ""
            await asyncio.to_thread(people.learn_profile, self.db, workspace_id,
                                    str(user["id"]), name, email=email, timezone=user.get("tz"))
            self.unfound.pop(key, None)
            report.resolved.append(email)
        if report.resolved:
            log.info("slack directory: %d imported people matched by email (%d not on Slack "
                     "yet)", len(report.resolved), len(report.not_found))
        return report
