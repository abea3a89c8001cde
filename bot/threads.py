"""Where a grading lives in a channel: its thread and the messages/cards it posted.

Channels keep references on the grading session (``GradingSession.channel``/``thread_ts``
and the ``refs`` dict: Slack's ``q:<question id>`` → message ts, Teams' live card …), never
rebuilt from the platform's history. This is the one place that reads and writes them, so no
channel opens a transaction: every call is one short transaction of its own, tried once more
on a dropped connection (each is safe to redo) and re-read on a lost optimistic-lock race.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from bot.engine.form import asked
from bot.engine.kinds import SessionKind
from bot.engine.prompts import Progress
from scoring import Question, Worksheet
from storage import sessions as sessions_db
from storage.engine import once_more_if_dropped, session_scope
from storage.errors import Conflict, NotFound
from storage.models import GradingSession

log = logging.getLogger("gradebot.threads")
RETRIES = 5


@dataclass(frozen=True, slots=True)
class Thread:
    """A grading as a channel sees it: what to title it and where its messages are."""

    session_id: int
    kind: SessionKind
    cadence: str
    customer: str
    questions: tuple[Question, ...] = ()
    channel: str | None = None
    thread_ts: str | None = None
    refs: dict[str, Any] = field(default_factory=dict)

    @property
    def dm(self) -> str:
        """The channel of the grading's thread (every caller runs after the thread was
        opened: a grading without one is a bug to report, not a platform error)."""
        if not self.channel:
            raise RuntimeError(f"grading session {self.session_id} has no thread yet")
        return self.channel

    @property
    def parent(self) -> str:
        """The thread's first message (Slack: its ts)."""
        if not self.thread_ts:
            raise RuntimeError(f"grading session {self.session_id} has no thread yet")
        return self.thread_ts

    @property
    def title(self) -> str:
        """The thread's heading (Slack's first message)."""
        if self.kind == SessionKind.STRATEGIC:
            return "Strategic review of your book"
        if self.kind == SessionKind.OPINION:
            return f"Second opinion on {self.customer} ({self.cadence})"
        return f"Grading {self.customer} ({self.cadence})"

    def question(self, key: str) -> tuple[str, Progress] | None:
        """For a ``q:<question id>`` ref: the question as asked and where it sits."""
        qs = self.questions
        q = next((x for x in qs if f"q:{x.id}" == key), None)
        if q is None:
            return None
        return asked(q, self.customer), Progress(index=qs.index(q) + 1, total=len(qs))


class Threads:
    """``worksheet``: to list a grading's questions (``Thread.question``); without one,
    threads carry their references only (what Teams' live card needs)."""

    def __init__(self, db: Engine, worksheet: Worksheet | None = None) -> None:
        self.db = db
        self.ws = worksheet

    def _view(self, gs: GradingSession) -> Thread:
        kind = SessionKind(gs.kind)
        assert gs.id is not None  # (a stored row)
        return Thread(
            session_id=gs.id,
            kind=kind,
            cadence=gs.cadence,
            customer=str(gs.state.get("customer", "")),
            questions=self.ws.questions_for(gs.cadence)
            if self.ws is not None and kind != SessionKind.STRATEGIC
            else (),
            channel=gs.channel,
            thread_ts=gs.thread_ts,
            refs=dict(gs.refs or {}),
        )

    def load(self, session_id: int) -> Thread:
        """The grading's thread (raises ``NotFound`` for an id that is gone)."""

        def read() -> Thread:
            with Session(self.db) as s:
                return self._view(sessions_db.get_session(s, session_id))

        return once_more_if_dropped(read)

    def find(self, session_id: int | None) -> Thread | None:
        """``load``, or None when there is no such grading."""
        if session_id is None:
            return None
        try:
            return self.load(session_id)
        except NotFound:
            return None

    def by_thread(self, channel: str, thread_ts: str) -> int | None:
        """The grading a platform thread belongs to (Slack: the DM thread of a reply)."""

        def read() -> int | None:
            with Session(self.db) as s:
                gs = sessions_db.session_by_thread(s, channel, thread_ts)
                return gs.id if gs else None

        return once_more_if_dropped(read)

    def update(
        self,
        session_id: int,
        *,
        refs: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
        **fields: Any,
    ) -> Thread:
        """Merge ``refs`` into the stored ones (and drop the keys in ``drop``), and set
        ``fields`` (channel, thread_ts). Re-read and tried again when the engine moved the
        session meanwhile: by now the rep's input is recorded and the prompts are posted,
        so failing here would apologise for an answer that was saved."""

        def store() -> Thread | None:
            with session_scope(self.db) as s:
                gs = sessions_db.get_session(s, session_id)
                merged = {
                    k: v for k, v in {**(gs.refs or {}), **(refs or {})}.items() if k not in drop
                }
                try:
                    return self._view(sessions_db.update_session(s, gs, **fields, refs=merged))
                except Conflict:
                    return None

        for _ in range(RETRIES):
            thread = once_more_if_dropped(store)
            if thread is not None:
                return thread
        raise Conflict(f"could not store the channel references of session {session_id}")

    def active_of(self, person_id: int) -> list[tuple[int, str]]:
        """A person's gradings still open, in review or paused, newest first: (id, what)."""

        def read() -> list[tuple[int, str]]:
            with Session(self.db) as s:
                return [
                    (gs.id, str(gs.state.get("customer") or "your strategic review"))
                    for gs in sessions_db.active_sessions_of(s, person_id)
                    if gs.id is not None
                ]

        return once_more_if_dropped(read)
