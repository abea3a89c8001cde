"""Whose calendar a date is read in: the rep's own.

A grade's period ("2026-Q4"), the cadence the bot asks for, due dates in a book and which
customers a reminder lists all turn an instant (stored in UTC) into a date, and every one of
them uses the same zone, so a rep in San Francisco who grades on 31 December at 6 pm gets a
Q4 grade and no "still due" reminder for it in January. That zone is the person's own (their
Slack or Teams time zone), else the workspace's ``timezone`` setting, else UTC. A new
workspace's setting starts as ``GRADEBOT_TIMEZONE``; admins change it in Settings.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session

from storage.models import Person, Workspace, WorkspaceSettings

log = logging.getLogger("gradebot.zones")
UTC_ZONE = ZoneInfo("UTC")


def zone(name: str | None, fallback: str | None = None) -> ZoneInfo:
    """The first valid IANA zone among ``name`` and ``fallback``; UTC otherwise."""
    for candidate in (name, fallback):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning("unknown timezone %r; falling back", candidate)
    return UTC_ZONE


def person_zone(person: Person, st: WorkspaceSettings) -> ZoneInfo:
    return zone(person.timezone, st.timezone)


def zone_of(s: Session, person: Person) -> ZoneInfo:
    """``person``'s zone, reading their workspace's settings."""
    ws = s.get(Workspace, person.workspace_id)
    return person_zone(person, ws.get_settings() if ws else WorkspaceSettings())


def local_date(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()
