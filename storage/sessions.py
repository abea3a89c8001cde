"""Grading sessions and their answers.

Every write is one transaction guarded by the session's ``version`` (optimistic lock): two
replicas handling two inputs for the same conversation cannot both move it, and the loser
gets ``Conflict`` and re-applies its input on fresh state, so no answer is lost. Retried
inputs carry an ``input_key``; a key seen before records nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.errors import MAX_ID, Conflict, NotFound
from storage.grades import add_grade
from storage.models import (
    ACTIVE_STATUSES,
    Answer,
    Customer,
    Decision,
    Grade,
    GradingSession,
    SessionStatus,
)
from storage.types import utcnow

_MAX_ANSWERS_PER_INPUT = 20


class ActiveSessionExists(Conflict):
    """The rep already has an open grading of this customer (or, for a strategic review, an
    open review of their book): offer resume or restart."""

    def __init__(self, existing: GradingSession) -> None:
        super().__init__("A strategic review is already in progress." if
                         existing.customer_id is None else
                         "A grading of this customer is already in progress.")
        self.existing = existing


def start_session(session: Session, *, workspace_id: int, person_id: int,
                  customer_id: int | None, cadence: str, worksheet_id: str,
                  worksheet_version: int, platform: str, kind: str = "grade",
                  channel: str | None = None, thread_ts: str | None = None,
                  state: Mapping[str, Any] | None = None) -> GradingSession:
    """Open a session; raises ActiveSessionExists if one is active for the same customer, or
    (``customer_id`` None: a strategic review) if the rep has an active review already.

    The database decides, not a look-up beforehand that two replicas could both pass: the
    partial unique indexes ``ux_session_active`` (rep and customer) and
    ``ux_session_strategic_active`` (rep, no customer) refuse the second INSERT, and only then
    is the winner looked up to name it in the exception. Committing (or, on refusal, rolling
    back) ends the caller's transaction either way."""
    gs = GradingSession(workspace_id=workspace_id, person_id=person_id, customer_id=customer_id,
                        cadence=cadence, worksheet_id=worksheet_id, kind=kind,
                        worksheet_version=worksheet_version, platform=platform, channel=channel,
                        thread_ts=thread_ts, state=dict(state or {}))
    session.add(gs)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        # The winner committed before our INSERT was refused (PostgreSQL waits for it; SQLite
        # writes one at a time), so a fresh read sees it. None: the error was something else.
        existing = active_session(session, person_id, customer_id, kind=kind)
        if existing is None and customer_id is not None:  # one of another kind (a second
            existing = session.exec(select(GradingSession).where(  # opinion) holds the index
                GradingSession.person_id == person_id,
                GradingSession.customer_id == customer_id,
                col(GradingSession.status).in_(ACTIVE_STATUSES))).first()
        if existing is None:
            raise
        raise ActiveSessionExists(existing) from None
    return gs


def active_session(session: Session, person_id: int, customer_id: int | None,
                   kind: str = "grade") -> GradingSession | None:
    stmt = select(GradingSession).where(
        GradingSession.person_id == person_id, GradingSession.kind == kind,
        col(GradingSession.status).in_(ACTIVE_STATUSES))
    stmt = stmt.where(col(GradingSession.customer_id).is_(None) if customer_id is None
                      else GradingSession.customer_id == customer_id)
    return session.exec(stmt.order_by(col(GradingSession.id).desc())).first()


def latest_draft(session: Session, person_id: int, customer_id: int) -> GradingSession | None:
    """The newest expired session with answers: an abandoned grading kept as a draft."""
    return session.exec(select(GradingSession).where(
        GradingSession.person_id == person_id, GradingSession.customer_id == customer_id,
        GradingSession.status == SessionStatus.EXPIRED)
        .order_by(col(GradingSession.id).desc())).first()


def active_sessions_of(session: Session, person_id: int) -> Sequence[GradingSession]:
    return session.exec(select(GradingSession).where(
        GradingSession.person_id == person_id,
        col(GradingSession.status).in_(ACTIVE_STATUSES))
        .order_by(col(GradingSession.updated_at).desc())).all()


def get_session(session: Session, session_id: int) -> GradingSession:
    if not 0 < session_id <= MAX_ID:  # a forged button value: no such row (and no overflow)
        raise NotFound(f"No grading session {session_id}.")
    gs = session.get(GradingSession, session_id, populate_existing=True)
    if gs is None:
        raise NotFound(f"No grading session {session_id}.")
    return gs


def session_by_thread(session: Session, channel: str, thread_ts: str) -> GradingSession | None:
    return session.exec(select(GradingSession).where(
        GradingSession.channel == channel, GradingSession.thread_ts == thread_ts)
        .order_by(col(GradingSession.id).desc())).first()


def current_answers(session: Session, session_id: int) -> dict[str, Answer]:
    """The answer in force for each question (superseded ones are history)."""
    rows = session.exec(select(Answer).where(Answer.session_id == session_id,
                                             col(Answer.superseded_at).is_(None))
                        .order_by(col(Answer.id))).all()
    return {a.question_id: a for a in rows}


def answer_history(session: Session, session_id: int, question_id: str) -> Sequence[Answer]:
    return session.exec(select(Answer).where(Answer.session_id == session_id,
                                             Answer.question_id == question_id)
                        .order_by(col(Answer.id))).all()


def _bump(session: Session, gs: GradingSession, changes: Mapping[str, Any]) -> None:
    """Apply ``changes`` iff nobody moved the session since we read it."""
    now = utcnow()
    values = {**changes, "version": gs.version + 1, "updated_at": now}
    res = session.execute(update(GradingSession)
                          .where(col(GradingSession.id) == gs.id,
                                 col(GradingSession.version) == gs.version)
                          .values(**values))
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("The grading moved on in the meantime.")
    for k, v in values.items():
        setattr(gs, k, v)


def update_session(session: Session, gs: GradingSession, **changes: Any) -> GradingSession:
    """Move the session (position, status, refs, state) atomically; Conflict if stale."""
    try:
        _bump(session, gs, changes)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return gs


@dataclass(frozen=True)
class Recorded:
    answer: Answer
    duplicate: bool  # the same input was delivered before; nothing new was recorded


def record_answers(session: Session, gs: GradingSession, answers: Sequence[Mapping[str, Any]],
                   *, person_id: int, input_key: str | None = None,
                   **changes: Any) -> list[Recorded]:
    """Record one or more answers and move the session, all in one transaction.

    Each answer mapping has ``question_id``, ``value``, ``raw_text``, ``source`` and
    optionally ``confidence``. The previous answer to the same question is kept, marked
    superseded. With an ``input_key`` already seen, nothing changes and the earlier answers
    come back with ``duplicate=True``.
    """
    if len(answers) > _MAX_ANSWERS_PER_INPUT:
        raise ValueError(f"at most {_MAX_ANSWERS_PER_INPUT} answers per input")
    if input_key is not None:
        seen = _answers_with_key(session, gs, input_key)
        if seen:
            return [Recorded(a, True) for a in seen]
    now = utcnow()
    out: list[Recorded] = []
    try:
        for i, a in enumerate(answers):
            qid = a["question_id"]
            session.execute(update(Answer)
                            .where(col(Answer.session_id) == gs.id,
                                   col(Answer.question_id) == qid,
                                   col(Answer.superseded_at).is_(None))
                            .values(superseded_at=now))
            key = None
            if input_key is not None:
                key = input_key if len(answers) == 1 else f"{input_key}#{i}"
            row = Answer(session_id=gs.id, question_id=qid, value=a["value"],
                         raw_text=str(a.get("raw_text", ""))[:3000], source=a["source"],
                         confidence=float(a.get("confidence", 1.0)), person_id=person_id,
                         input_key=key, created_at=now)
            session.add(row)
            out.append(Recorded(row, False))
        session.flush()
        _bump(session, gs, changes)
        session.commit()
    except IntegrityError:
        session.rollback()
        if input_key is None:
            raise
        # the same input won a race in another process: report it as a duplicate
        again = _answers_with_key(session, gs, input_key)
        if not again:
            raise
        return [Recorded(a, True) for a in again]
    except BaseException:
        session.rollback()
        raise
    return out


def _answers_with_key(session: Session, gs: GradingSession, key: str) -> Sequence[Answer]:
    keys = [key, *(f"{key}#{i}" for i in range(_MAX_ANSWERS_PER_INPUT))]
    return session.exec(select(Answer).where(Answer.session_id == gs.id,
                                             col(Answer.input_key).in_(keys))
                        .order_by(col(Answer.id))).all()


def finish_session(session: Session, gs: GradingSession, *, grade: Grade | None,
                   customer: Customer | None, **changes: Any) -> Grade | None:
    """Save: the grade, the customer's latest-grade pointer and the session's status move
    together or not at all."""
    try:
        if grade is not None and customer is not None:
            add_grade(session, grade, customer)
        _bump(session, gs, {"status": SessionStatus.SAVED, **changes})
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return grade


def record_decision(session: Session, gs: GradingSession, *, workspace_id: int,
                    customer_id: int, person_id: int, decision: str, period: str,
                    note: str | None = None, **changes: Any) -> Decision:
    """A strategic-review decision and the review's next position, in one transaction."""
    row = Decision(workspace_id=workspace_id, customer_id=customer_id, person_id=person_id,
                   session_id=gs.id, decision=decision, period=period,
                   note=note[:1000] if note else None)
    try:
        session.add(row)
        session.flush()
        _bump(session, gs, changes)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return row


def decisions_of(session: Session, session_id: int) -> Sequence[Decision]:
    return session.exec(select(Decision).where(Decision.session_id == session_id)
                        .order_by(col(Decision.id))).all()


def expire_idle_sessions(session: Session, idle: timedelta, now: datetime | None = None) -> int:
    """Mark active sessions idle for longer than ``idle`` expired; their answers stay as a
    draft the rep is offered next time. Returns how many expired."""
    cutoff = (now or utcnow()) - idle
    res = session.execute(update(GradingSession)
                          .where(col(GradingSession.status).in_(ACTIVE_STATUSES),
                                 col(GradingSession.updated_at) < cutoff)
                          .values(status=SessionStatus.EXPIRED,
                                  version=GradingSession.version + 1))
    session.commit()
    return int(res.rowcount or 0)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- several places
# One grading may be open in several places at once (two terminals; Slack and Teams). The
# session's state keeps a short log of what each place changed and the last entry each
# place has seen, so the engine can tell a place what happened elsewhere at its next step.
LOG_KEEP = 20


def with_change(state: Mapping[str, Any], place: str, what: str) -> dict[str, Any]:
    """``state`` with ``what`` (e.g. "Payment risk → High") logged as done by ``place``,
    which has thereby seen everything up to it."""
    n = int(state.get("seq", 0)) + 1
    log = [*list(state.get("log", []))[-(LOG_KEEP - 1):], {"n": n, "by": place, "what": what}]
    return {**state, "seq": n, "log": log, "seen": {**dict(state.get("seen", {})), place: n}}


def news_for(state: Mapping[str, Any], place: str) -> tuple[list[str], dict[str, Any] | None]:
    """What other places changed since ``place`` last looked, and the state to store now
    that it has (None when nothing needs storing). A place seen for the first time starts
    from now: it is shown where the grading stands anyway."""
    seq = int(state.get("seq", 0))
    seen = dict(state.get("seen", {}))
    if place not in seen:
        return [], {**state, "seen": {**seen, place: seq}}
    last = int(seen[place])
    if last >= seq:
        return [], None
    news = [str(e["what"]) for e in state.get("log", [])
            if int(e["n"]) > last and e.get("by") != place]
    return news, {**state, "seen": {**seen, place: seq}}
