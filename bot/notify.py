"""Proactive messages (reminders, follow-ups, digests, alerts) as channel-neutral data.

The reminder jobs decide *what* to say and *to whom*; a ``Notifier`` per platform (Slack,
Teams) decides *how*. Option values in these messages are handled by the platform's
interactivity the same way engine options are: ``pick||<customer id>`` starts a grading,
``rem|snooze|<delivery id>|<days>`` snoozes, ``rem|away|<delivery id>`` asks for an
out-of-office date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from bot.engine.prompts import Option
from storage.models import Person


@dataclass(frozen=True)
class DueItem:
    customer_id: int
    name: str
    letter: str | None
    last_graded: str | None  # ISO date, or None when never graded
    stale: bool = False  # the grade is older than the worksheet's validity


@dataclass(frozen=True)
class ReminderMessage:
    """A reminder thread: the parent line, the due list (with Grade buttons), controls."""

    delivery_id: int
    title: str                      # e.g. "Q1 2027 re-grading: 7 customers due"
    intro: str                      # one or two sentences
    items: list[DueItem]
    controls: list[Option] = field(default_factory=list)  # snooze a day/week, out of office


@dataclass(frozen=True)
class ThreadRef:
    """Where a proactive thread lives, to reply to it or update its parent later."""

    channel: str
    thread_ts: str


@dataclass(frozen=True)
class DigestMessage:
    title: str
    lines: list[str]


class Notifier(Protocol):
    """One implementation per platform. Every method raises on failure (the caller
    releases its claim so a later sweep retries); none swallows errors."""

    platform: str

    async def send_reminder(self, person: Person, msg: ReminderMessage) -> ThreadRef: ...

    async def send_followup(self, person: Person, where: ThreadRef,
                            msg: ReminderMessage) -> None: ...

    async def close_reminder(self, person: Person, where: ThreadRef, text: str) -> None:
        """Update the parent to say everything is graded."""
        ...

    async def send_digest(self, channel: str, msg: DigestMessage) -> None: ...

    async def send_alert(self, person: Person, text: str, options: list[Option]) -> None: ...
