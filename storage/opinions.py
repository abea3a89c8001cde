"""Second opinions: someone other than the owner grades the same customer, blind.

A request (``SecondOpinion``) names the customer, who asked, who is asked and the grading
session the assignee answers in. What they give is stored in ``opinion_grade``, a table of
its own — never in ``grade``: the grade of record stays the owner's, and every query that
reads grades (the book, the portfolio, the digest, the export, the customer's latest-grade
copies, re-scoring, calibration) keeps reading only the record without having to know that
second opinions exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import JSON, Index, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Field, Session, col, select

from scoring.opinions import GradeScores, OpinionPair
from storage.errors import Conflict, InvalidInput
from storage.models import (
    ACTIVE_STATUSES,
    Customer,
    Grade,
    GradingSession,
    Person,
    Table,
)
from storage.types import UTCDateTime, utcnow

OPINION_KIND = "opinion"  # GradingSession.kind of a second-opinion grading


class OpinionStatus(StrEnum):
    OPEN = "open"  # asked; the assignee has not saved yet
    GIVEN = "given"  # saved: an OpinionGrade exists
    CANCELLED = "cancelled"  # discarded (declined) by the assignee
    WITHDRAWN = "withdrawn"  # withdrawn by whoever asked (or the owner, their manager, an admin)


_OPEN = "status = 'open'"


class SecondOpinion(Table, table=True):
    """A request for a second opinion. At most one open request per customer and assignee
    (a partial unique index: two clicks, two replicas)."""

    __tablename__ = "second_opinion"
    __table_args__ = (
        Index(
            "ux_opinion_open",
            "customer_id",
            "assignee_id",
            unique=True,
            sqlite_where=text(_OPEN),
            postgresql_where=text(_OPEN),
        ),
        Index("ix_opinion_customer", "customer_id", "status"),
        Index("ix_opinion_workspace_status", "workspace_id", "status"),
    )

    id: int = Field(default=None, primary_key=True)  # (see storage.models KEYS)
    workspace_id: int = Field(foreign_key="workspace.id")
    customer_id: int = Field(foreign_key="customer.id")
    asked_by_id: int = Field(foreign_key="person.id")
    assignee_id: int = Field(foreign_key="person.id", index=True)
    status: str = Field(default=OpinionStatus.OPEN, max_length=16)
    session_id: int | None = Field(default=None, foreign_key="grading_session.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OpinionGrade(Table, table=True):
    """The grade a second opinion gave: the same figures as a ``Grade`` (and made by the
    same code, ``storage.grades.grade_row``), plus the grade of record it was given beside.
    Immutable like a grade."""

    __tablename__ = "opinion_grade"
    __table_args__ = (Index("ix_opinion_grade_customer", "customer_id", "created_at"),)

    id: int = Field(default=None, primary_key=True)  # (see storage.models KEYS)
    workspace_id: int = Field(foreign_key="workspace.id")
    customer_id: int = Field(foreign_key="customer.id")
    opinion_id: int = Field(foreign_key="second_opinion.id", unique=True)
    grader_id: int | None = Field(default=None, foreign_key="person.id")
    record_grade_id: int | None = Field(default=None, foreign_key="grade.id")
    cadence: str = Field(max_length=16)
    worksheet_id: str = Field(max_length=40)
    worksheet_version: int
    total: float
    letter: str = Field(max_length=2)
    recommendation: str = Field(max_length=16)
    profile: str | None = Field(default=None, max_length=24)
    coverage: float
    provisional: bool = Field(default=False)
    dimensions: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    explanation: list[str] = Field(default_factory=list, sa_type=JSON)
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OpinionExists(Conflict):
    """The assignee already has an open request for this customer."""

    def __init__(self, existing: SecondOpinion) -> None:
        super().__init__("A second opinion on this customer is already asked of them.")
        self.existing = existing


def ask(
    session: Session,
    *,
    customer: Customer,
    asked_by: Person,
    assignee: Person,
    cadence: str,
    worksheet_id: str,
    worksheet_version: int,
    platform: str,
    state: dict[str, Any],
) -> tuple[SecondOpinion, GradingSession]:
    """Record the request and open the assignee's grading of it, together or not at all.
    Raises ``OpinionExists`` when the same request is open already, and
    ``sessions.ActiveSessionExists`` when the assignee is grading this customer already."""
    from storage.sessions import ActiveSessionExists, active_session

    if customer.id is None or assignee.id is None or asked_by.id is None:
        raise InvalidInput("The customer and both people must be stored first.")
    existing = open_request(session, customer.id, assignee.id)
    if existing is not None:
        raise OpinionExists(existing)
    gs = GradingSession(
        workspace_id=customer.workspace_id,
        person_id=assignee.id,
        customer_id=customer.id,
        kind=OPINION_KIND,
        cadence=cadence,
        worksheet_id=worksheet_id,
        worksheet_version=worksheet_version,
        platform=platform,
        state=state,
    )
    try:
        session.add(gs)
        session.flush()
        req = SecondOpinion(
            workspace_id=customer.workspace_id,
            customer_id=customer.id,
            asked_by_id=asked_by.id,
            assignee_id=assignee.id,
            session_id=gs.id,
        )
        session.add(req)
        session.flush()
        gs.state = {**gs.state, "opinion_id": req.id}
        session.add(gs)
        session.commit()
    except IntegrityError:
        session.rollback()
        again = open_request(session, customer.id, assignee.id)
        if again is not None:
            raise OpinionExists(again) from None
        active = active_session(session, assignee.id, customer.id) or active_session(
            session, assignee.id, customer.id, kind=OPINION_KIND
        )
        if active is None:
            raise
        raise ActiveSessionExists(active) from None
    return req, gs


def open_request(session: Session, customer_id: int, assignee_id: int) -> SecondOpinion | None:
    return session.exec(
        select(SecondOpinion).where(
            SecondOpinion.customer_id == customer_id,
            SecondOpinion.assignee_id == assignee_id,
            SecondOpinion.status == OpinionStatus.OPEN,
        )
    ).first()


def request_of_session(session: Session, session_id: int) -> SecondOpinion | None:
    return session.exec(select(SecondOpinion).where(SecondOpinion.session_id == session_id)).first()


def is_blind_to(session: Session, person_id: int, customer_id: int) -> bool:
    """Has ``person_id`` been asked for a second opinion on this customer that they have not
    given yet? Then the customer's grades are hidden from them until they save."""
    return (
        session.exec(
            select(SecondOpinion.id).where(
                SecondOpinion.customer_id == customer_id,
                SecondOpinion.assignee_id == person_id,
                SecondOpinion.status == OpinionStatus.OPEN,
            )
        ).first()
        is not None
    )


def blind_customers(session: Session, person_id: int) -> set[int]:
    """The customers ``person_id`` grades blind now (asked, not given yet)."""
    return set(session.exec(select(SecondOpinion.customer_id).where(
        SecondOpinion.assignee_id == person_id,
        SecondOpinion.status == OpinionStatus.OPEN)).all())


def opinion_grade_of(row: Grade, req: SecondOpinion, record_grade_id: int | None) -> OpinionGrade:
    """The opinion's grade from the grade row ``grade_row`` computed (never added)."""
    return OpinionGrade(
        workspace_id=req.workspace_id,
        customer_id=req.customer_id,
        opinion_id=req.id,
        grader_id=row.grader_id,
        record_grade_id=record_grade_id,
        cadence=row.cadence,
        worksheet_id=row.worksheet_id,
        worksheet_version=row.worksheet_version,
        total=row.total,
        letter=row.letter,
        recommendation=row.recommendation,
        profile=row.profile,
        coverage=row.coverage,
        provisional=row.provisional,
        dimensions=dict(row.dimensions),
        explanation=list(row.explanation),
        answers=dict(row.answers),
    )


def give(
    session: Session,
    req: SecondOpinion,
    gs: GradingSession,
    row: Grade,
    customer: Customer,
    **session_changes: Any,
) -> OpinionGrade:
    """Store the opinion's grade, mark the request given and the grading saved — one
    transaction. The customer's grade of record (and its latest-grade copies) is untouched.
    Raises ``Conflict`` when the request is no longer open (given or cancelled meanwhile)."""
    from storage.sessions import finish_session

    if req.status != OpinionStatus.OPEN:
        raise Conflict(f"This second opinion is {req.status} already.")
    og = opinion_grade_of(row, req, customer.latest_grade_id)
    og.created_at = utcnow()
    req.status = OpinionStatus.GIVEN
    req.answered_at = og.created_at
    session.add(og)
    session.add(req)
    finish_session(session, gs, grade=None, customer=None, **session_changes)
    return og


def cancel(
    session: Session, req: SecondOpinion, why: OpinionStatus = OpinionStatus.CANCELLED
) -> bool:
    """End an open request (declined: ``CANCELLED``; ``WITHDRAWN``). Not committed: the
    caller ends the grading in the same transaction. False when it was not open any more
    (given or ended meanwhile): the UPDATE is guarded by the open status, so a withdrawal
    racing a save cannot both win."""
    res = session.execute(
        update(SecondOpinion)
        .where(col(SecondOpinion.id) == req.id, col(SecondOpinion.status) == OpinionStatus.OPEN)
        .values(status=why.value, answered_at=utcnow())
    )
    session.flush()
    session.refresh(req)
    return int(res.rowcount or 0) == 1  # type: ignore[attr-defined]


class GivenOpinion(NamedTuple):
    """A second opinion given on a customer, beside the grade of record it was compared
    with (None when the customer had no grade yet)."""

    opinion_id: int
    customer_id: int
    customer: str
    grader: str
    given_at: datetime
    letter: str
    total: float
    recommendation: str
    dimensions: dict[str, Any]
    record_grade_id: int | None
    record_letter: str | None
    record_total: float | None
    record_dimensions: dict[str, Any] | None
    record_grader_id: int | None
    owner_id: int | None

    @property
    def scores(self) -> GradeScores:
        return GradeScores(self.letter, self.total, self.dimensions)

    @property
    def record_scores(self) -> GradeScores | None:
        if self.record_letter is None or self.record_total is None:
            return None
        return GradeScores(self.record_letter, self.record_total, self.record_dimensions or {})


_grader = aliased(Person, name="og_grader")
_given_stmt = (
    select(
        OpinionGrade.opinion_id,
        OpinionGrade.customer_id,
        Customer.name,
        _grader.display_name,
        OpinionGrade.created_at,
        OpinionGrade.letter,
        OpinionGrade.total,
        OpinionGrade.recommendation,
        OpinionGrade.dimensions,
        OpinionGrade.record_grade_id,
        Grade.letter,
        Grade.total,
        Grade.dimensions,
        Grade.grader_id,
        Customer.owner_id,
    )
    .select_from(OpinionGrade)
    .join(Customer, col(Customer.id) == OpinionGrade.customer_id)
    .outerjoin(_grader, col(_grader.id) == OpinionGrade.grader_id)
    .outerjoin(Grade, col(Grade.id) == OpinionGrade.record_grade_id)
)


def given_on(
    session: Session, customer_id: int, since_grade_id: int | None = None, limit: int = 10
) -> list[GivenOpinion]:
    """The second opinions given on a customer, newest first. ``since_grade_id``: only
    those given beside that grade of record (a later grade of record supersedes them)."""
    stmt = _given_stmt.where(OpinionGrade.customer_id == customer_id)
    if since_grade_id is not None:
        stmt = stmt.where(OpinionGrade.record_grade_id == since_grade_id)
    rows = session.execute(
        stmt.order_by(col(OpinionGrade.created_at).desc(), col(OpinionGrade.id).desc()).limit(limit)
    ).all()
    return [GivenOpinion._make(r) for r in rows]


def current_opinions(
    session: Session, workspace_id: int, owner_ids: Iterable[int] | None = None
) -> list[GivenOpinion]:
    """Every second opinion given beside a customer's *current* grade of record (one
    query): what the card and the digest compare. ``owner_ids``: only those customers'."""
    stmt = _given_stmt.where(
        OpinionGrade.workspace_id == workspace_id,
        col(OpinionGrade.record_grade_id) == Customer.latest_grade_id,
        col(Customer.archived).is_(False),
    )
    if owner_ids is not None:
        stmt = stmt.where(col(Customer.owner_id).in_(list(owner_ids)))
    rows = session.execute(stmt.order_by(Customer.name, OpinionGrade.created_at)).all()
    return [GivenOpinion._make(r) for r in rows]


def opinion_pairs(session: Session, workspace_id: int, rep_ids: Iterable[int]) -> list[OpinionPair]:
    """Every second opinion given beside a grade of record by one of ``rep_ids``, as pairs
    for ``scoring.opinions.optimism`` (one query; dates are UTC days)."""
    rows = session.execute(
        select(
            Grade.grader_id,
            OpinionGrade.created_at,
            Grade.total,
            OpinionGrade.total,
            Grade.letter,
            OpinionGrade.letter,
        )
        .select_from(OpinionGrade)
        .join(Grade, col(Grade.id) == OpinionGrade.record_grade_id)
        .where(OpinionGrade.workspace_id == workspace_id, col(Grade.grader_id).in_(list(rep_ids)))
        .order_by(OpinionGrade.created_at)
    ).all()
    return [OpinionPair(rep, at.date(), rt, ot, rl, ol) for rep, at, rt, ot, rl, ol in rows]


def requests_of(session: Session, customer_id: int) -> Sequence[SecondOpinion]:
    """Every request on a customer, newest first (open, given and cancelled)."""
    return session.exec(
        select(SecondOpinion)
        .where(SecondOpinion.customer_id == customer_id)
        .order_by(col(SecondOpinion.id).desc())
    ).all()


def is_opinion_session(gs: GradingSession) -> bool:
    return gs.kind == OPINION_KIND


def active_opinion_session(session: Session, req: SecondOpinion) -> GradingSession | None:
    if req.session_id is None:
        return None
    gs = session.get(GradingSession, req.session_id)
    return gs if gs is not None and gs.status in ACTIVE_STATUSES else None
