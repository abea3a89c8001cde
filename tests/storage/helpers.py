"""Small builders for storage tests: people, customers and grades with chosen dates, and a
counter of the SQL statements an engine runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event
from sqlmodel import Session

from storage import customers as customers_db
from storage import people as people_db
from storage.grades import save_grade
from storage.models import Customer, Grade, Person, Role, Workspace

LETTER_TOTAL = {"A": 85.0, "B": 70.0, "C": 55.0, "D": 30.0}


def person(session: Session, ws: Workspace, external_id: str, *, role: Role = Role.REP,
           manager: Person | None = None, email: str | None = None) -> Person:
    p = people_db.get_or_create_person(session, ws, external_id, external_id.title(),
                                       email=email)
    if role != Role.REP or manager is not None:
        people_db.set_role(session, p, role, manager)
    return p


def customer(session: Session, ws: Workspace, name: str, owner: Person | None,
             **kw: Any) -> Customer:
    return customers_db.create_customer(session, ws.id, name,  # type: ignore[arg-type]
                                        owner.id if owner else None, **kw)


def grade(session: Session, c: Customer, letter: str, at: datetime, *,
          grader: Person | None = None, cadence: str = "annual", period: str | None = None,
          total: float | None = None, recommendation: str = "maintain") -> Grade:
    """Save a grade for ``c`` dated ``at`` (moves the latest-grade pointer)."""
    row = Grade(workspace_id=c.workspace_id, customer_id=c.id,
                previous_grade_id=c.latest_grade_id,
                grader_id=grader.id if grader else c.owner_id, cadence=cadence,
                period=period or str(at.year), worksheet_id="default", worksheet_version=1,
                total=LETTER_TOTAL[letter] if total is None else total, letter=letter,
                recommendation=recommendation, profile="good_for_you", coverage=1.0,
                dimensions={"value": 80.0}, goods={"good_for_you": 80.0},
                explanation=["because"], answers={"pays_now": "yes"}, created_at=at)
    return save_grade(session, row, c)


def age_grade(db: Engine, name: str, days: int) -> None:
    """Back-date the latest grade of customer ``name`` (and the customer's copy of its
    time), as if given ``days`` ago; grades are immutable to the app, so this goes around
    the ORM."""
    from datetime import timedelta

    from sqlalchemy import update
    from sqlmodel import select

    from storage.types import utcnow

    when = utcnow() - timedelta(days=days)
    with Session(db) as s:
        c = s.exec(select(Customer).where(Customer.name == name)).one()
        s.execute(update(Grade).where(Grade.id == c.latest_grade_id)  # type: ignore[arg-type]
                  .values(created_at=when))
        s.execute(update(Customer).where(Customer.id == c.id)  # type: ignore[arg-type]
                  .values(latest_graded_at=when))
        s.commit()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


class StatementCounter:
    """Counts the statements sent to the database (``before_cursor_execute``)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def count_statements(engine: Engine) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    event.listen(engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", counter)


def head() -> str:
    """The newest migration's revision."""
    from alembic.script import ScriptDirectory

    from storage.engine import alembic_config

    rev = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert rev is not None
    return rev


def seed_outcomes(session: Session, ws: Workspace, sheet: Any, n: int, *, seed: int = 5,
                  outcome_day: Any = None) -> int:
    """``n`` simulated customers (``tests.scoring.calibration_sim``) graded through ``sheet``
    200 days before their outcome, stored with storage's own functions (a grade of record,
    an outcome): enough for calibration from ``n`` ≥ 50. Returns how many churned."""
    from datetime import date, timedelta

    from scoring import grade as grade_of
    from storage.grades import add_grade, grade_row
    from storage.models import OutcomeSource
    from storage.outcomes import record_outcome
    from tests.scoring.calibration_sim import GRADE_LEAD, simulate

    day = outcome_day or date.today() - timedelta(days=30)
    graded_at = datetime.combine(day - timedelta(days=GRADE_LEAD), datetime.min.time(), UTC)
    churned = 0
    for sim in simulate(n, seed=seed, ws=sheet):
        c = customers_db.create_customer(session, ws.id, f"Sim {sim.customer_id:03d}",  # type: ignore[arg-type]
                                         None)
        row = grade_row(grade_of(sheet, sim.answers), workspace_id=ws.id,  # type: ignore[arg-type]
                        customer=c, grader_id=None, period=str(graded_at.year),
                        answers=sim.answers)
        row.created_at = graded_at
        add_grade(session, row, c)  # (committed with the outcome)
        kind = "churned" if sim.churned else "expanded" if sim.expanded else "renewed"
        churned += sim.churned
        record_outcome(session, c, kind, day, source=OutcomeSource.IMPORT, today=date.today())
    return churned
