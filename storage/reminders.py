"""What reminder sweeps read besides deliveries (``storage.deliveries``): the workspaces a
sweep serves, a quarter's figures for the manager digest, and grades that dropped a letter.

Each read is one query returning plain rows or small records; the wording (digest lines,
alert text) is the bot's (``bot.reminders``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, and_, cast, delete, distinct, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from scoring import Recommendation
from scoring.opinions import Overridden
from storage.models import Customer, CustomerStatus, Grade, Person, ProcessedEvent, Workspace
from storage.overrides import GradeOverride, shown
from storage.types import utcnow

DROP_SCOPE = "drop"  # ProcessedEvent scope: one alert per grade
DROP_LOOKBACK = timedelta(days=2)  # grades newer than this are checked for drop alerts


def digest_scope(workspace_id: int) -> str:
    """ProcessedEvent scope of a workspace's digests (event id: the quarter)."""
    return f"digest:{workspace_id}"


def workspaces(
    session: Session, platforms: Iterable[str] | None, workspace_id: int | None = None
) -> list[Workspace]:
    """The workspaces on ``platforms`` (None: every platform; optionally only one
    workspace), oldest first."""
    stmt = select(Workspace)
    if platforms is not None:
        stmt = stmt.where(col(Workspace.platform).in_(list(platforms)))
    if workspace_id is not None:
        stmt = stmt.where(Workspace.id == workspace_id)
    return list(session.exec(stmt.order_by(col(Workspace.id))).all())


def worse(letter: str | None, previous: str | None) -> bool:
    """A is best, D worst: True when ``letter`` is at least one letter below ``previous``."""
    if not letter or not previous:
        return False
    return letter[0].upper() > previous[0].upper()


def claimed(session: Session, scope: str, event_id: str) -> bool:
    """Whether a once-only send (digest, alert) was already claimed (``record_event``)."""
    return (
        session.exec(
            select(ProcessedEvent.id).where(
                ProcessedEvent.scope == scope, ProcessedEvent.event_id == event_id
            )
        ).first()
        is not None
    )


def unclaim(session: Session, scope: str, event_id: str) -> None:
    """Give a once-only claim back: its send failed, so the next sweep tries again."""
    session.execute(
        delete(ProcessedEvent).where(
            col(ProcessedEvent.scope) == scope, col(ProcessedEvent.event_id) == event_id
        )
    )
    session.commit()


# ---------------------------------------------------------------------- digest figures
@dataclass(frozen=True, slots=True)
class LetterDrop:
    customer: str
    previous_letter: str
    letter: str
    previous_total: float
    total: float
    provisional: bool


@dataclass(frozen=True, slots=True)
class ExitPick:
    customer: str
    letter: str
    total: float
    owner_id: int | None
    provisional: bool
    customer_id: int = 0
    recommendation: str | None = None
    override: Overridden | None = None  # the model's grade, when an override set this one


def people_names(session: Session, workspace_id: int) -> dict[int, str]:
    return {
        p.id: p.display_name
        for p in session.exec(
            select(Person).where(Person.workspace_id == workspace_id)
        ).all()
    }


def graded_per_owner(
    session: Session, workspace_id: int, t0: datetime, t1: datetime
) -> dict[int, int]:
    """Owner id → distinct customers of theirs graded in [t0, t1)."""
    return {
        int(o): int(n)
        for o, n in session.execute(
            select(Customer.owner_id, func.count(distinct(col(Grade.customer_id))))
            .select_from(Grade)
            .join(Customer, col(Customer.id) == Grade.customer_id)
            .where(
                Grade.workspace_id == workspace_id,
                Grade.created_at >= t0,
                Grade.created_at < t1,
                col(Customer.owner_id).is_not(None),
            )
            .group_by(col(Customer.owner_id))
        ).all()
    }


def letter_drops(
    session: Session, workspace_id: int, t0: datetime, t1: datetime
) -> list[LetterDrop]:
    """Grades made in [t0, t1) that are at least a letter below the grade they replaced."""
    prev = aliased(Grade, name="prev")
    rows = session.execute(
        select(Customer.name, prev.letter, Grade.letter, prev.total, Grade.total, Grade.provisional)
        .select_from(Grade)
        .join(Customer, col(Customer.id) == Grade.customer_id)
        .join(prev, col(prev.id) == Grade.previous_grade_id)
        .where(Grade.workspace_id == workspace_id, Grade.created_at >= t0, Grade.created_at < t1)
        .order_by(Customer.name, Grade.created_at)
    ).all()
    return [LetterDrop(*r) for r in rows if worse(r[2], r[1])]


def exit_picks(session: Session, workspace_id: int, now: datetime | None = None
               ) -> list[ExitPick]:
    """Current customers whose grade as shown on ``now`` (default: the clock) recommends
    exit: the model's, or an override's in force over it (``storage.overrides.shown``)."""
    now = now or utcnow()
    overridden_ids = select(GradeOverride.customer_id).where(
        GradeOverride.workspace_id == workspace_id,
        col(GradeOverride.ended_at).is_(None),
        GradeOverride.expires_at > now,
        col(GradeOverride.recommendation).is_not(None),
    )
    rows = session.execute(
        select(Customer.name, Grade.letter, Grade.total, Customer.owner_id, Grade.provisional,
               Customer.id, Grade.recommendation)
        .select_from(Customer)
        .join(Grade, col(Grade.id) == Customer.latest_grade_id)
        .where(
            Customer.workspace_id == workspace_id,
            col(Customer.archived).is_(False),
            Customer.status != CustomerStatus.FORMER,
            or_(col(Grade.recommendation) == Recommendation.EXIT.value,
                col(Customer.id).in_(overridden_ids)),
        )
        .order_by(Customer.name)
    ).all()
    picks = shown(session, [ExitPick(*r) for r in rows], now)
    return [p for p in picks if p.recommendation == Recommendation.EXIT.value]


# ---------------------------------------------------------------------- drop alerts
@dataclass(frozen=True, slots=True)
class DropAlert:
    grade_id: int
    customer_id: int
    customer: str
    owner_id: int
    letter: str
    total: float
    recommendation: str
    previous_letter: str
    previous_total: float
    grader: str


def drop_candidates(session: Session, workspace_id: int, now: datetime) -> list[DropAlert]:
    """Recent grades by someone other than the owner that lowered the letter and have not
    been alerted yet (one query)."""
    prev = aliased(Grade, name="prev")
    grader = aliased(Person, name="grader")
    rows = session.execute(
        select(
            Grade.id,
            Customer.id,
            Customer.name,
            Customer.owner_id,
            Grade.letter,
            Grade.total,
            Grade.recommendation,
            prev.letter,
            prev.total,
            grader.display_name,
        )
        .select_from(Grade)
        .join(Customer, col(Customer.id) == Grade.customer_id)
        .join(prev, col(prev.id) == Grade.previous_grade_id)
        .join(grader, col(grader.id) == Grade.grader_id)
        .outerjoin(
            ProcessedEvent,
            and_(
                col(ProcessedEvent.scope) == DROP_SCOPE,
                col(ProcessedEvent.event_id) == cast(Grade.id, String),
            ),
        )
        .where(
            Grade.workspace_id == workspace_id,
            Grade.created_at >= now - DROP_LOOKBACK,
            Grade.created_at <= now,
            col(Customer.owner_id).is_not(None),
            col(Grade.grader_id) != Customer.owner_id,
            col(ProcessedEvent.id).is_(None),
        )
        .order_by(Grade.id)
    ).all()
    return [DropAlert(*r) for r in rows if worse(r[4], r[7])]
