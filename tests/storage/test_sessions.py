"""Grading sessions: one active per rep and customer, answers with history, retried inputs,
the optimistic lock, an atomic save, and idle expiry."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage import sessions as sessions_db
from storage.engine import session_scope
from storage.errors import Conflict, NotFound
from storage.models import (
    Answer,
    Customer,
    Grade,
    GradingSession,
    Person,
    SessionStatus,
    Workspace,
)
from storage.types import utcnow
from tests.storage.helpers import count_statements, customer, grade, person, utc


def start(session: Session, ws: Workspace, who: Person, c: Customer | None,
          **kw: Any) -> GradingSession:
    return sessions_db.start_session(
        session, workspace_id=ws.id, person_id=who.id,  # type: ignore[arg-type]
        customer_id=c.id if c else None, cadence=kw.pop("cadence", "annual"),
        worksheet_id="default", worksheet_version=1, platform="slack", **kw)


def ans(qid: str, value: Any, raw: str = "") -> dict[str, Any]:
    return {"question_id": qid, "value": value, "raw_text": raw or str(value), "source": "text"}


@pytest.fixture
def acme(session: Session, workspace: Workspace, rep: Person) -> Customer:
    return customer(session, workspace, "Acme", rep)


def test_one_active_session_per_rep_and_customer(session: Session, workspace: Workspace,
                                                 rep: Person, acme: Customer) -> None:
    gs = start(session, workspace, rep, acme, channel="D1", thread_ts="111.1")
    assert gs.id is not None
    assert gs.status == SessionStatus.OPEN
    assert gs.version == 1
    with pytest.raises(sessions_db.ActiveSessionExists) as exc:
        start(session, workspace, rep, acme)
    assert exc.value.existing.id == gs.id
    assert isinstance(exc.value, Conflict)
    # another rep, or another customer, may grade at the same time
    other = person(session, workspace, "other")
    start(session, workspace, other, acme)
    beta = customer(session, workspace, "Beta", rep)
    start(session, workspace, rep, beta)
    assert sessions_db.active_session(session, rep.id, acme.id).id == gs.id  # type: ignore
    assert sessions_db.session_by_thread(session, "D1", "111.1").id == gs.id  # type: ignore
    assert len(sessions_db.active_sessions_of(session, rep.id)) == 2  # type: ignore[arg-type]
    # paused still counts as active; once saved, a new grading may start
    sessions_db.update_session(session, gs, status=SessionStatus.PAUSED)
    with pytest.raises(sessions_db.ActiveSessionExists):
        start(session, workspace, rep, acme)
    sessions_db.finish_session(session, gs, grade=None, customer=None)
    assert start(session, workspace, rep, acme).id != gs.id


def start_review(session: Session, ws: Workspace, who: Person) -> GradingSession:
    """Start a strategic review of ``who``'s book (no customer)."""
    return start(session, ws, who, None, kind="strategic", cadence="strategic")


def test_one_active_strategic_review_per_rep(session: Session, workspace: Workspace,
                                             rep: Person, acme: Customer,
                                             engine: Engine) -> None:
    first = start_review(session, workspace, rep)
    with count_statements(engine) as sql, \
            pytest.raises(sessions_db.ActiveSessionExists) as exc:
        start_review(session, workspace, rep)
    assert exc.value.existing.id == first.id
    # the database refused the INSERT (no look-up beforehand that a race could slip past)
    assert any(st.startswith("INSERT INTO grading_session") for st in sql.statements)
    assert isinstance(exc.value, Conflict)
    assert str(exc.value) == "A strategic review is already in progress."
    # a customer grading neither blocks nor is blocked by the review; another rep may review
    graded = start(session, workspace, rep, acme)
    other = start_review(session, workspace, person(session, workspace, "other"))
    assert len({first.id, graded.id, other.id}) == 3
    # paused still counts as active; once saved, or discarded, a new review may start
    sessions_db.update_session(session, first, status=SessionStatus.PAUSED)
    with pytest.raises(sessions_db.ActiveSessionExists) as exc:
        start_review(session, workspace, rep)
    assert exc.value.existing.id == first.id
    sessions_db.finish_session(session, first, grade=None, customer=None)
    second = start_review(session, workspace, rep)
    assert second.id not in (first.id, other.id)
    sessions_db.update_session(session, second, status=SessionStatus.DISCARDED)
    third = start_review(session, workspace, rep)
    assert sessions_db.active_session(session, rep.id, None,  # type: ignore[arg-type]
                                      kind="strategic").id == third.id  # type: ignore[union-attr]
    assert session.exec(select(func.count()).select_from(GradingSession).where(
        GradingSession.person_id == rep.id, col(GradingSession.customer_id).is_(None))).one() == 3


def test_the_database_refuses_a_second_active_strategic_review(
        session: Session, workspace: Workspace, rep: Person, engine: Engine) -> None:
    """The partial unique index, not a look-up in start_session, is the guarantee: a row
    written past start_session is refused too, and an inactive review does not count."""
    def row(status: SessionStatus) -> GradingSession:
        return GradingSession(workspace_id=workspace.id, person_id=rep.id,  # type: ignore
                              customer_id=None, kind="strategic", cadence="strategic",
                              worksheet_id="default", worksheet_version=1, status=status)

    with Session(engine) as s:
        s.add_all([row(SessionStatus.SAVED), row(SessionStatus.EXPIRED), row(SessionStatus.OPEN)])
        s.commit()
    for status in (SessionStatus.OPEN, SessionStatus.REVIEW, SessionStatus.PAUSED):
        with Session(engine) as s:
            s.add(row(status))
            with pytest.raises(IntegrityError):
                s.commit()
    assert session.exec(select(func.count()).select_from(GradingSession)).one() == 3


def test_two_strategic_reviews_started_at_once_make_one(
        engine: Engine, session: Session, workspace: Workspace, rep: Person) -> None:
    """Two threads (two clicks, two replicas) start a review at the same moment, round after
    round: each round exactly one review is created and the other start is refused with
    ActiveSessionExists naming it."""
    rounds = 10
    barrier = threading.Barrier(2, timeout=60)

    def start_one(_name: str) -> int | str:
        with session_scope(engine) as s:
            s.execute(text("SELECT 1"))  # connect before the race, not during it
            s.commit()
            barrier.wait()
            try:
                return start_review(s, workspace, rep).id  # type: ignore[return-value]
            except sessions_db.ActiveSessionExists as exc:
                return f"refused:{exc.existing.id}"

    with ThreadPoolExecutor(2) as pool:
        for _ in range(rounds):
            got = sorted(pool.map(start_one, "ab"), key=str)
            created = [g for g in got if isinstance(g, int)]
            assert len(created) == 1, got
            assert got == [created[0], f"refused:{created[0]}"]
            active = sessions_db.active_sessions_of(session, rep.id)  # type: ignore[arg-type]
            assert [gs.id for gs in active] == created
            sessions_db.update_session(session, active[0], status=SessionStatus.DISCARDED)
    assert session.exec(select(func.count()).select_from(GradingSession)).one() == rounds


def test_record_answers_keeps_history(session: Session, workspace: Workspace, rep: Person,
                                      acme: Customer, engine: Engine) -> None:
    gs = start(session, workspace, rep, acme)
    sessions_db.record_answers(session, gs, [ans("mission", 3)], person_id=rep.id,  # type: ignore
                               position=1)
    sessions_db.record_answers(session, gs, [ans("mission", 5, "actually 5"),  # type: ignore
                                             ans("fit", "yes")], person_id=rep.id, position=2)
    assert (gs.version, gs.position) == (3, 2)
    with Session(engine) as fresh:
        stored = sessions_db.get_session(fresh, gs.id)  # type: ignore[arg-type]
        assert (stored.version, stored.position) == (3, 2)
        current = sessions_db.current_answers(fresh, gs.id)  # type: ignore[arg-type]
        assert {q: a.value for q, a in current.items()} == {"mission": 5, "fit": "yes"}
        history = sessions_db.answer_history(fresh, gs.id, "mission")  # type: ignore[arg-type]
        assert [(a.value, a.raw_text) for a in history] == [(3, "3"), (5, "actually 5")]
        assert history[0].superseded_at is not None
        assert history[1].superseded_at is None
        assert history[0].superseded_at == history[1].created_at


def test_a_retried_input_is_recorded_once(session: Session, workspace: Workspace, rep: Person,
                                          acme: Customer) -> None:
    gs = start(session, workspace, rep, acme)
    first = sessions_db.record_answers(session, gs, [ans("mission", 4)],  # type: ignore
                                       person_id=rep.id, input_key="Ev1", position=1)
    assert [r.duplicate for r in first] == [False]
    again = sessions_db.record_answers(session, gs, [ans("mission", 1)],  # type: ignore
                                       person_id=rep.id, input_key="Ev1", position=9)
    assert [r.duplicate for r in again] == [True]
    assert again[0].answer.id == first[0].answer.id
    assert again[0].answer.value == 4
    multi = [ans("fit", "no"), ans("renewal", 2)]
    sessions_db.record_answers(session, gs, multi, person_id=rep.id, input_key="Ev2")  # type: ignore
    dup = sessions_db.record_answers(session, gs, multi, person_id=rep.id,  # type: ignore
                                     input_key="Ev2")
    assert [r.duplicate for r in dup] == [True, True]
    assert session.exec(select(func.count()).select_from(Answer)).one() == 3
    fresh = sessions_db.get_session(session, gs.id)  # type: ignore[arg-type]
    assert fresh.position == 1
    assert fresh.version == 3


def test_a_stale_copy_gets_conflict_and_changes_nothing(
        session: Session, workspace: Workspace, rep: Person, acme: Customer,
        engine: Engine) -> None:
    gs = start(session, workspace, rep, acme)
    with Session(engine, expire_on_commit=False) as s1, \
            Session(engine, expire_on_commit=False) as s2:
        stale1 = sessions_db.get_session(s1, gs.id)  # type: ignore[arg-type]
        stale2 = sessions_db.get_session(s2, gs.id)  # type: ignore[arg-type]
        s1.commit()
        s2.commit()
        with session_scope(engine) as other:  # another replica moves the session first
            theirs = sessions_db.get_session(other, gs.id)  # type: ignore[arg-type]
            sessions_db.record_answers(other, theirs, [ans("mission", 2)],  # type: ignore
                                       person_id=rep.id, position=1)
        assert stale1.version == stale2.version == 1
        with pytest.raises(Conflict):
            sessions_db.record_answers(s1, stale1, [ans("fit", "yes")],  # type: ignore
                                       person_id=rep.id, position=5)
        with pytest.raises(Conflict):
            sessions_db.update_session(s2, stale2, status=SessionStatus.REVIEW)
    current = sessions_db.get_session(session, gs.id)  # type: ignore[arg-type]
    assert (current.version, current.position, current.status) == (2, 1, SessionStatus.OPEN)
    assert list(sessions_db.current_answers(session, gs.id)) == ["mission"]  # type: ignore
    assert session.exec(select(func.count()).select_from(Answer)).one() == 1
    # re-read and re-apply: the answer lands
    sessions_db.record_answers(session, current, [ans("fit", "yes")],  # type: ignore
                               person_id=rep.id, position=2)
    assert set(sessions_db.current_answers(session, gs.id)) == {"mission", "fit"}  # type: ignore


def test_finish_session_saves_grade_pointer_and_status_together(
        session: Session, workspace: Workspace, rep: Person, acme: Customer,
        engine: Engine) -> None:
    previous = grade(session, acme, "C", utc(2025, 1, 1))
    gs = start(session, workspace, rep, acme)
    row = Grade(workspace_id=workspace.id, customer_id=acme.id, session_id=gs.id,  # type: ignore
                previous_grade_id=acme.latest_grade_id, grader_id=rep.id, cadence="annual",
                period="2026", worksheet_id="default", worksheet_version=1, total=80.0,
                letter="A", recommendation="invest_more", coverage=1.0)
    saved = sessions_db.finish_session(session, gs, grade=row, customer=acme)
    assert saved is not None
    with Session(engine) as fresh:
        assert fresh.get(Customer, acme.id).latest_grade_id == saved.id  # type: ignore
        assert fresh.get(Grade, saved.id).previous_grade_id == previous.id  # type: ignore
        assert fresh.get(GradingSession, gs.id).status == SessionStatus.SAVED  # type: ignore


def _bad_grade(ws: Workspace, c: Customer, gs: GradingSession) -> Grade:
    # total is NOT NULL: the INSERT fails in the database
    return Grade(workspace_id=ws.id, customer_id=c.id, session_id=gs.id,  # type: ignore
                 grader_id=c.owner_id, cadence="annual", period="2026", worksheet_id="default",
                 worksheet_version=1, total=None, letter="A", recommendation="maintain",
                 coverage=1.0)


def test_finish_session_is_atomic_when_the_grade_insert_fails(
        session: Session, workspace: Workspace, rep: Person, acme: Customer,
        engine: Engine) -> None:
    previous = grade(session, acme, "C", utc(2025, 1, 1))
    gs = start(session, workspace, rep, acme)
    sessions_db.update_session(session, gs, status=SessionStatus.REVIEW)
    with pytest.raises(IntegrityError):
        sessions_db.finish_session(session, gs, grade=_bad_grade(workspace, acme, gs),
                                   customer=acme)
    with Session(engine) as fresh:
        stored = fresh.get(GradingSession, gs.id)
        assert stored is not None
        assert (stored.status, stored.version) == (SessionStatus.REVIEW, 2)
        assert fresh.get(Customer, acme.id).latest_grade_id == previous.id  # type: ignore
        assert fresh.exec(select(func.count()).select_from(Grade)).one() == 1
    # the session is still active and can be saved properly afterwards
    assert sessions_db.active_session(session, rep.id, acme.id).id == gs.id  # type: ignore


def test_finish_session_with_a_stale_copy_stores_no_grade(
        session: Session, workspace: Workspace, rep: Person, acme: Customer,
        engine: Engine) -> None:
    gs = start(session, workspace, rep, acme)
    with session_scope(engine) as other:
        sessions_db.update_session(other, sessions_db.get_session(other, gs.id),  # type: ignore
                                   position=3)
    row = Grade(workspace_id=workspace.id, customer_id=acme.id, session_id=gs.id,  # type: ignore
                grader_id=rep.id, cadence="annual", period="2026", worksheet_id="default",
                worksheet_version=1, total=80.0, letter="A", recommendation="maintain",
                coverage=1.0)
    with pytest.raises(Conflict):
        sessions_db.finish_session(session, gs, grade=row, customer=acme)
    with Session(engine) as fresh:
        assert fresh.exec(select(func.count()).select_from(Grade)).one() == 0
        assert fresh.get(Customer, acme.id).latest_grade_id is None  # type: ignore
        assert fresh.get(GradingSession, gs.id).status == SessionStatus.OPEN  # type: ignore


def test_expire_idle_sessions_keeps_answers_as_a_draft(
        session: Session, workspace: Workspace, rep: Person, acme: Customer) -> None:
    beta = customer(session, workspace, "Beta", rep)
    gamma = customer(session, workspace, "Gamma", rep)
    idle = start(session, workspace, rep, acme)
    sessions_db.record_answers(session, idle, [ans("mission", 4)], person_id=rep.id)  # type: ignore
    paused = start(session, workspace, rep, beta)
    sessions_db.update_session(session, paused, status=SessionStatus.PAUSED)
    done = start(session, workspace, rep, gamma)
    sessions_db.finish_session(session, done, grade=None, customer=None)
    now = utcnow()
    assert sessions_db.expire_idle_sessions(session, timedelta(days=7), now=now) == 0
    later = now + timedelta(days=8)
    assert sessions_db.expire_idle_sessions(session, timedelta(days=7), now=later) == 2
    assert sessions_db.get_session(session, idle.id).status == SessionStatus.EXPIRED  # type: ignore
    assert sessions_db.get_session(session, paused.id).status == SessionStatus.EXPIRED  # type: ignore
    assert sessions_db.get_session(session, done.id).status == SessionStatus.SAVED  # type: ignore
    assert sessions_db.active_session(session, rep.id, acme.id) is None  # type: ignore
    draft = sessions_db.latest_draft(session, rep.id, acme.id)  # type: ignore[arg-type]
    assert draft is not None
    assert draft.id == idle.id
    assert set(sessions_db.current_answers(session, draft.id)) == {"mission"}  # type: ignore
    start(session, workspace, rep, acme)  # and a new grading may begin


def test_a_copy_read_before_expiry_cannot_move_the_session(
        session: Session, workspace: Workspace, rep: Person, acme: Customer,
        engine: Engine) -> None:
    gs = start(session, workspace, rep, acme)
    with Session(engine, expire_on_commit=False) as replica:
        copy = sessions_db.get_session(replica, gs.id)  # type: ignore[arg-type]
        replica.commit()
        assert sessions_db.expire_idle_sessions(session, timedelta(days=7),
                                                now=utcnow() + timedelta(days=8)) == 1
        with pytest.raises(Conflict):
            sessions_db.update_session(replica, copy, status=SessionStatus.REVIEW)
    assert sessions_db.get_session(session, gs.id).status == SessionStatus.EXPIRED  # type: ignore


def test_decisions_of_a_strategic_review(session: Session, workspace: Workspace, rep: Person,
                                         acme: Customer) -> None:
    review = start(session, workspace, rep, None, kind="strategic", cadence="strategic")
    d = sessions_db.record_decision(session, review, workspace_id=workspace.id,  # type: ignore
                                    customer_id=acme.id, person_id=rep.id,  # type: ignore
                                    decision="exit", period="2026-05-12", note="n" * 1500,
                                    position=1)
    assert review.position == 1
    assert review.version == 2
    got = sessions_db.decisions_of(session, review.id)  # type: ignore[arg-type]
    assert [x.id for x in got] == [d.id]
    assert len(got[0].note or "") == 1000


def test_get_session_of_nothing(session: Session) -> None:
    with pytest.raises(NotFound):
        sessions_db.get_session(session, 999)
