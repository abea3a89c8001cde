"""Helpers for the engine tests: a controllable clock, people with roles, and a scripted
chat that keeps a plain-text transcript of every input and reply."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import Engine

from bot.engine import Actor, Choose, Conversation, Start, Text
from bot.engine.prompts import Option, Prompt, Reply
from scoring import Cadence
from storage import people as people_db
from storage.engine import session_scope
from storage.models import Person, Role

START = datetime(2026, 5, 12, 9, 0, tzinfo=UTC)  # a Tuesday in Q2 2026


class Clock:
    """The engine's injected clock: the (travelled) wall clock, advanced on demand.

    Time is travelled with time-machine, so what storage stamps (``updated_at``, a grade's
    ``created_at``) moves with the engine's clock when a test advances it."""

    def __init__(self, traveller: time_machine.Coordinates) -> None:
        self._t = traveller

    def __call__(self) -> datetime:
        return datetime.now(UTC)

    def advance(self, **delta: float) -> None:
        self._t.shift(timedelta(**delta))


class People:
    """People of one local workspace, created on demand, as engine actors."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    def add(self, name: str, role: Role = Role.REP, manager: Actor | None = None,
            external_id: str | None = None) -> Actor:
        with session_scope(self.db) as s:
            ws = people_db.get_or_create_workspace(s, "cli", "local", "Local")
            person = people_db.get_or_create_person(s, ws, external_id or name, name)
            if role != Role.REP or manager is not None:
                boss = people_db.get_person(s, manager.person_id) if manager else None
                people_db.set_role(s, person, role, boss)
            return Actor(ws.id, person.id, "cli")  # type: ignore[arg-type]


def person(db: Engine, actor: Actor) -> Person:
    with session_scope(db) as s:
        return people_db.get_person(s, actor.person_id)


def render(reply: Reply) -> list[str]:
    """A reply as plain-text transcript lines: kind, progress, text, detail (except the
    worksheet's help text under questions), the review's answers, choices and actions."""
    lines: list[str] = []
    for p in reply:
        # (an echo's progress only says where its question sat: see test_echo_progress)
        shown = p.progress and p.kind.value != "echo"
        head = p.kind.value + (f" {p.progress.text}" if shown else "")
        lines.append(f"[{head}] {p.text}")
        if p.detail and p.kind.value != "question":
            lines.append(f"    {p.detail}")
        if p.review is not None and p.kind.value == "review":  # (a saved one: the same card)
            lines.extend(f"    {a.number}. {a.label}: {a.answer or '(skipped)'}"
                         for a in p.review.answers)
        if p.choices:
            lines.append("  choices: " + " | ".join(o.label for o in p.choices))
        if p.actions:
            lines.append("  actions: " + " | ".join(o.label for o in p.actions))
    return lines


class Chat:
    """One rep talking to the engine; every input and reply goes into ``log``.

    ``pick(label)`` clicks the option with that label in the last non-empty reply, sending
    back the value the engine put there, exactly as a channel would."""

    def __init__(self, conv: Conversation, actor: Actor) -> None:
        self.conv = conv
        self.actor = actor
        self.session_id: int | None = None
        self.last: Reply = []
        self.log: list[str] = []
        self.inputs = 0  # inputs since the last start: the effort a rep spends

    def send(self, shown: str, message: Start | Text | Choose, key: str | None = None,
             *, keep_session: bool = True) -> Reply:
        self.log.append(f"> {shown}")
        sid = self.session_id if keep_session else None
        reply = self.conv.handle(self.actor, message, session_id=sid, input_key=key)
        if not isinstance(message, Start):
            self.inputs += 1
        self.log.extend(render(reply) or ["(nothing)"])
        for p in reply:
            if p.session_id is not None:
                self.session_id = p.session_id
        if reply:
            self.last = reply
        return reply

    def start(self, customer: str, cadence: Cadence | None = None) -> Reply:
        self.inputs = 0
        shown = f"start {customer}" + (f" {cadence.value}" if cadence else "")
        return self.send(shown, Start(customer, cadence), keep_session=False)

    def say(self, text: str, key: str | None = None, *, keep_session: bool = True) -> Reply:
        return self.send(text or "(empty)", Text(text), key, keep_session=keep_session)

    def option(self, label: str) -> Option:
        opts = [o for p in self.last for o in (*p.choices, *p.actions)]
        hits = [o for o in opts if o.label == label]
        assert hits, f"no option {label!r} in {[o.label for o in opts]}"
        return hits[-1]

    def pick(self, label: str, key: str | None = None) -> Reply:
        return self.send(f"[{label}]", Choose(self.option(label).value), key)

    def transcript(self) -> str:
        return "\n".join(self.log)

    def prompt(self, kind: str) -> Prompt:
        found = [p for p in self.last if p.kind.value == kind]
        assert found, f"no {kind} prompt in {render(self.last)}"
        return found[-1]

    def prompt_kinds(self) -> list[str]:
        return [p.kind.value for p in self.last]

    def clear(self) -> None:
        self.log.clear()


def kinds(reply: Reply) -> list[str]:
    return [p.kind.value for p in reply]


def dedent(text: str) -> str:
    """Expected transcripts are written indented in the tests; strip that margin."""
    return textwrap.dedent(text).strip("\n")


def grade_quickly(chat: Chat, name: str, answers: str,
                  cadence: Cadence = Cadence.QUARTERLY) -> Prompt:
    """Create ``name`` and save a grade from typed answers (e.g. "43442" for the pulse)."""
    chat.start(name, cadence)
    if chat.last and chat.last[0].kind.value == "choose_customer":
        chat.pick(f"Create {name}")
    for a in answers:
        chat.say(a)
        assert chat.last[0].kind.value == "echo", render(chat.last)
    chat.say("save")
    return chat.prompt("saved")
