"""Proactive messages (reminders, follow-ups, digests, alerts) as channel-neutral data.

The reminder jobs decide *what* to say and *to whom*; a ``Notifier`` per platform (Slack,
Teams) decides *how*. Option values in these messages are handled by the platform's
interactivity the same way engine options are: ``pick||<customer id>`` starts a grading,
``rem|snooze|<delivery id>|<days>`` snoozes, ``rem|away|<delivery id>`` asks for an
out-of-office date.

Notifiers translate and send; they never read or write the database. What they need about
a person arrives as a ``Recipient`` (built by the sweep from the stored person and the
workspace's settings); what they learn while sending (a Slack DM channel just opened) goes
back through ``Contacts``, the bot-level service below.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine

from bot.engine.prompts import Option
from storage.models import Person, WorkspaceSettings

if TYPE_CHECKING:
    from scoring.opinions import Overridden


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a proactive message goes to, with what each platform needs to reach them."""

    person_id: int
    workspace_id: int
    external_id: str                    # the platform's user id (Slack ``U…``, Teams ``29:…``)
    display_name: str
    dm_channel: str | None = None       # Slack: the DM with the bot, once known
    conversation_ref: dict[str, Any] | None = None  # Teams: where to post (``bot.teams.refs``)
    reminder_channel: str | None = None  # the workspace's reminder channel, when an admin set one

    @classmethod
    def of(cls, person: Person, settings: WorkspaceSettings | None = None) -> Recipient:
        assert person.id is not None
        return cls(person_id=person.id, workspace_id=person.workspace_id,
                   external_id=person.external_id, display_name=person.display_name,
                   dm_channel=person.dm_channel,
                   conversation_ref=dict(person.conversation_ref)
                   if person.conversation_ref else None,
                   reminder_channel=settings.reminder_channel if settings else None)


class Contacts(Protocol):
    """What a notifier hands back to the bot while sending (it opens no transaction)."""

    async def remember_dm(self, person_id: int, channel: str) -> None:
        """The DM channel just opened with this person, so the next message reuses it."""
        ...


class StoredContacts:
    """``Contacts`` on the database: a DM channel is stored on the person
    (``bot.people.remember_dm``, the same write the Slack app's own DMs use)."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    async def remember_dm(self, person_id: int, channel: str) -> None:
        from bot import people

        await asyncio.to_thread(people.remember_dm, self.db, person_id, channel)


@dataclass(frozen=True)
class DueItem:
    customer_id: int
    name: str
    letter: str | None
    last_graded: str | None  # ISO date, or None when never graded
    stale: bool = False  # the grade is older than the worksheet's validity
    # an override in force over the model's letter (scoring.opinions.as_shown, the one rule)
    recommendation: str | None = None
    override: Overridden | None = None


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


class PartiallySent(Exception):
    """A notifier posted the thread's parent but not all of its body. The sweep keeps the
    thread reference so the retry completes *that* thread instead of posting a second one."""

    def __init__(self, where: ThreadRef, cause: BaseException) -> None:
        super().__init__(f"reminder partially sent to {where.channel}/{where.thread_ts}: "
                         f"{cause}")
        self.where = where
        self.cause = cause


class Notifier(Protocol):
    """One implementation per platform. Every method raises on failure (the caller
    releases its claim so a later sweep retries); none swallows errors. A reminder whose
    parent went out but not its list raises ``PartiallySent``."""

    platform: str

    async def send_reminder(self, to: Recipient, msg: ReminderMessage) -> ThreadRef: ...

    async def send_followup(self, to: Recipient, where: ThreadRef,
                            msg: ReminderMessage) -> None: ...

    async def close_reminder(self, to: Recipient, where: ThreadRef, text: str) -> None:
        """Update the parent to say everything is graded."""
        ...

    async def send_digest(self, channel: str, msg: DigestMessage) -> None: ...

    async def send_alert(self, to: Recipient, text: str, options: list[Option]) -> None: ...

    async def prepare(self, workspace_id: int, now: Any) -> None:
        """Before a sweep plans a workspace: make people reachable if the platform can
        (Slack matches people imported by email to their user). May raise: the sweep logs
        it and plans anyway (those people are simply not reachable yet)."""
        ...
