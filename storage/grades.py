"""Grades and books: the latest grade of a customer, its history, a rep's or a team's book."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, tzinfo
from functools import partial
from itertools import groupby
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Table, and_, bindparam, or_, true
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from scoring import BookEntry, Cadence, Good, RegradePolicy
from scoring.cadence import period_start
from scoring.grading import Grade as ScoredGrade
from scoring.sheet import DatedAnswer, carried_of
from storage.models import Customer, CustomerStatus, Grade, Person
from storage.names import normalize_name
from storage.overrides import shown
from storage.prepared import Prepared
from storage.types import utcnow


class UngradedError(ValueError):
    """A grade below the worksheet's coverage floor has no letter: it stays a draft."""


def grade_row(scored: ScoredGrade, *, workspace_id: int, customer: Customer,
              grader_id: int | None, period: str, answers: Mapping[str, Any],
              session_id: int | None = None, summary: str | None = None,
              sources: Mapping[str, Any] | None = None,
              explanation: list[str] | None = None) -> Grade:
    """The immutable row for a computed grade (not yet added to a session). ``answers`` are
    all the answers it was computed over; ``sources`` says which came from earlier gradings
    (``MergedSheet.sources_json``). A grade without a letter is refused: it is a draft."""
    if scored.letter is None or scored.recommendation is None:
        raise UngradedError(scored.not_enough)
    return Grade(
        workspace_id=workspace_id, customer_id=customer.id, session_id=session_id,
        previous_grade_id=customer.latest_grade_id, grader_id=grader_id,
        cadence=scored.cadence.value, period=period, worksheet_id=scored.worksheet_id,
        worksheet_version=scored.worksheet_version, total=scored.total, letter=scored.letter,
        recommendation=scored.recommendation.value,
        profile=scored.profile.value if scored.profile else None, coverage=scored.coverage,
        dimensions={d.id: d.score for d in scored.dimensions},
        goods={g.value: s for g, s in scored.goods.items()},
        explanation=explanation if explanation is not None else scored.explanation(),
        answers=dict(answers), summary=summary[:1000] if summary else None,
        sources=dict(sources) if sources else None,
        carrier=scored.carrier.value if scored.carrier else None,
        provisional=scored.provisional,
    )


def add_grade(session: Session, row: Grade, customer: Customer) -> Grade:
    """Add ``row`` and move the customer's latest-grade pointer (and its copies of the
    letter and time), without committing: the caller commits them together with whatever
    else the save changes."""
    session.add(row)
    session.flush()
    customer.latest_grade_id = row.id
    customer.latest_letter = row.letter
    customer.latest_graded_at = row.created_at
    customer.updated_at = utcnow()
    session.add(customer)
    return row


def save_grade(session: Session, row: Grade, customer: Customer) -> Grade:
    add_grade(session, row, customer)
    session.commit()
    return row


def latest_grade(session: Session, customer: Customer) -> Grade | None:
    if customer.latest_grade_id is None:
        return None
    return session.get(Grade, customer.latest_grade_id)


class LatestGrade(NamedTuple):
    """A customer with its latest grade, as the look-ups need it (one query). A named tuple:
    immutable like a frozen dataclass, but several times cheaper to build."""

    customer_id: int
    name: str
    owner_id: int | None
    grade_id: int | None
    letter: str | None
    total: float | None
    recommendation: str | None
    created_at: datetime | None


# Core on the tables (not ORM entities), built once with bound parameters.
_C: Table = Customer.__table__  # type: ignore[attr-defined]
_G: Table = Grade.__table__  # type: ignore[attr-defined]
# Every /customer and /grade starts here, so it runs as a Prepared statement (see
# storage/prepared.py): the same Core SQL without SQLAlchemy's per-execute work.
_latest = Prepared(
    select(_C.c.id, _C.c.name, _C.c.owner_id, _G.c.id, _G.c.letter, _G.c.total,
           _G.c.recommendation, _G.c.created_at)
    .select_from(_C.outerjoin(_G, _G.c.id == _C.c.latest_grade_id))
    .where(_C.c.workspace_id == bindparam("ws"), _C.c.normalized_name == bindparam("key"))
)


def _core(session: Session) -> Any:
    """The session's connection, for Core statements (flushing first, as the session's own
    ``execute`` would, so pending changes are seen)."""
    if session.autoflush:
        session.flush()
    return session.connection()


def latest_grade_by_name(session: Session, workspace_id: int, name: str) -> LatestGrade | None:
    """The latest grade of the customer with this (normalized) name, in one indexed query."""
    row = _latest.first(_core(session), {"ws": workspace_id, "key": normalize_name(name)})
    return LatestGrade._make(row) if row is not None else None


def earlier_answers(session: Session, customer_id: int, limit: int = 20
                    ) -> dict[str, DatedAnswer]:
    """The latest earlier answer to each question of the customer's grades, with the date
    and kind of grading it was given in (carried answers keep their first date), newest
    grade first over its last ``limit`` grades. Grades saved before pulses were merged hold
    only their own answers; walking back finds the annual answers behind them."""
    out: dict[str, DatedAnswer] = {}
    for g in grade_history(session, customer_id, limit):
        carried = carried_of(g.sources)
        for qid, value in (g.answers or {}).items():
            if qid in out or value is None:
                continue
            info = carried.get(qid)
            at = _when(info) if info is not None else None
            if info is not None and at is not None:
                grade_id = info.get("grade_id")
                out[qid] = DatedAnswer(value, at, str(info.get("cadence") or g.cadence),
                                       grade_id if isinstance(grade_id, int) else None)
            else:
                out[qid] = DatedAnswer(value, g.created_at, g.cadence, g.id)
    return out


def _when(info: Any) -> datetime | None:
    """The date a carried answer was given (None when the record is unreadable)."""
    try:
        at = datetime.fromisoformat(str(info["at"]))
    except (TypeError, KeyError, ValueError):
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def grade_history(session: Session, customer_id: int, limit: int = 20) -> Sequence[Grade]:
    """Newest first."""
    return session.exec(select(Grade).where(Grade.customer_id == customer_id)
                        .order_by(col(Grade.created_at).desc(), col(Grade.id).desc())
                        .limit(limit)).all()


def policy_for(by_letter: Mapping[str, Cadence | str] | None) -> RegradePolicy:
    if not by_letter:
        return RegradePolicy()
    return RegradePolicy(by_letter={k: Cadence(v) for k, v in by_letter.items()})


_prev = aliased(Grade, name="prev")
_book_stmt = (
    select(Customer.id, Customer.name, Customer.owner_id, Grade.letter, Grade.total,
           Grade.profile, Grade.recommendation, Grade.created_at, _prev.total, _prev.letter,
           Grade.coverage, Grade.provisional)
    .select_from(Customer)
    .outerjoin(Grade, Grade.id == Customer.latest_grade_id)
    .outerjoin(_prev, _prev.id == Grade.previous_grade_id)
    .where(col(Customer.archived).is_(False), Customer.status != CustomerStatus.FORMER)
)


def _entry(row: Any, policy: RegradePolicy, tz: tzinfo) -> BookEntry:
    cid, name, _owner, letter, total, profile, rec, created, ptotal, pletter, cov, prov = row
    graded_on = created.astimezone(tz).date() if created is not None else None
    return BookEntry(cid, name, letter, total, Good(profile) if profile else None, rec, ptotal,
                     pletter, graded_on, policy.due_date(graded_on, letter), cov,
                     bool(prov))


def book(session: Session, owner_ids: Iterable[int], policy: RegradePolicy | None = None,
         tz: tzinfo = UTC, now: datetime | None = None) -> dict[int, list[BookEntry]]:
    """Each owner's customers with latest and previous grade and due date (one query);
    grading dates, and so due dates, are the days in ``tz`` (the reader's calendar). The
    grade is the one shown: an override in force on ``now`` (default: the clock) over the
    model's, the model's kept beside it (``storage.overrides.shown``; one more query)."""
    ids = list(owner_ids)
    policy = policy or RegradePolicy()
    out: dict[int, list[BookEntry]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = session.execute(_book_stmt.where(col(Customer.owner_id).in_(ids))
                           .order_by(Customer.name)).all()
    owners = [row[2] for row in rows]
    for owner, e in zip(owners, shown(session, [_entry(r, policy, tz) for r in rows], now),
                        strict=True):
        out[owner].append(e)
    return out


def rep_book(session: Session, person_id: int, policy: RegradePolicy | None = None,
             tz: tzinfo = UTC, now: datetime | None = None) -> list[BookEntry]:
    return book(session, [person_id], policy, tz, now)[person_id]


def team_book(session: Session, manager: Person, policy: RegradePolicy | None = None,
              tz: tzinfo = UTC, now: datetime | None = None) -> dict[int, list[BookEntry]]:
    """The book of each of the manager's reports (admins: everyone), keyed by person id."""
    from storage.people import team_of

    return book(session, [p.id for p in team_of(session, manager) if p.id is not None],
                policy, tz, now)


class DueCustomer(NamedTuple):
    customer_id: int
    name: str
    owner_id: int
    letter: str | None
    graded_at: datetime | None


def due_customers(session: Session, workspace_id: int, today: date,
                  policy: RegradePolicy | None = None,
                  owner_ids: Iterable[int] | None = None,
                  tz: tzinfo = UTC) -> dict[int, list[DueCustomer]]:
    """Everything due for re-grading on ``today``, grouped by owner, in one query.

    A customer is due when never graded, or when its latest grade is older than the start of
    the current period of the cadence its letter calls for: midnight in ``tz``, the owners'
    zone (``today`` is a date there). Planning a large workspace reads hundreds of thousands
    of rows, so this is Core on the tables and named tuples."""
    policy = policy or RegradePolicy()
    cutoffs: dict[Cadence, datetime] = {}
    for c in (Cadence.QUARTERLY, Cadence.ANNUAL):
        start = period_start(today, c)
        cutoffs[c] = datetime(start.year, start.month, start.day, tzinfo=tz).astimezone(UTC)
    letter_col, graded_col = _C.c.latest_letter, _C.c.latest_graded_at
    known = list(policy.by_letter)
    conds: list[ColumnElement[bool]] = [graded_col.is_(None)]
    for cad in (Cadence.QUARTERLY, Cadence.ANNUAL):
        letters = [k for k, v in policy.by_letter.items() if v == cad]
        if letters:
            conds.append(and_(letter_col.in_(letters), graded_col < cutoffs[cad]))
    if policy.default in cutoffs:
        conds.append(and_(letter_col.not_in(known) if known else true(),
                          graded_col < cutoffs[policy.default]))
    # One table: the customer carries its latest grade's letter and time (see add_grade).
    stmt = (select(_C.c.id, _C.c.name, _C.c.owner_id, letter_col, graded_col)
            .where(_C.c.workspace_id == workspace_id, _C.c.archived.is_(False),
                   _C.c.owner_id.is_not(None), _C.c.status != CustomerStatus.FORMER.value,
                   or_(*conds))
            .order_by(_C.c.owner_id, _C.c.name))
    if owner_ids is not None:
        stmt = stmt.where(_C.c.owner_id.in_(list(owner_ids)))
    conn = _core(session)
    with _gc_paused():
        # The largest read the bot makes: take the driver's tuples from the cursor (Row
        # objects would double what is built per customer) and make each one a DueCustomer
        # without a Python call per row. Timestamps need converting only where the driver
        # does not already hand back UTC (SQLite text; a PostgreSQL session in another zone).
        result = conn.execute(stmt)
        try:
            rows = result.cursor.fetchall()
        finally:
            result.close()
        to_utc = _utc_converter(conn)
        if to_utc is not None:
            rows = [(cid, name, owner, letter, to_utc(at))
                    for cid, name, owner, letter, at in rows]
        return {owner: list(map(_due, group)) for owner, group in groupby(rows, itemgetter(2))}


_due = partial(tuple.__new__, DueCustomer)  # a DueCustomer from a row tuple, unchecked


def _utc_converter(conn: Any) -> Callable[[Any], datetime | None] | None:
    """What turns a raw ``latest_graded_at`` into an aware UTC datetime on this connection,
    or None when the driver's values are that already (psycopg in a UTC session: see
    engine.py)."""
    if (conn.dialect.name == "postgresql"
            and conn.connection.driver_connection.info.timezone is UTC):
        return None
    processor: Callable[[Any], datetime | None] | None = (
        _C.c.latest_graded_at.type.result_processor(conn.dialect, None))
    return processor


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector while a large result is turned into objects: none
    of them form cycles, and collections triggered by the allocations would otherwise
    re-scan every row built so far (about half the time of planning a 500k-customer
    workspace). Re-enabled afterwards unless it was off already."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class StoredGrade(NamedTuple):
    """A stored grade as a re-score needs it: what it said, and the answers it said it on."""

    grade_id: int
    customer_id: int
    customer: str
    cadence: str
    created_at: datetime
    worksheet_version: int
    letter: str
    total: float
    answers: dict[str, Any]


def stored_grades(session: Session, workspace_id: int | None = None) -> Iterator[StoredGrade]:
    """Every stored grade (of one workspace, or all), each customer's oldest first; read in
    batches so a large history is not held in memory twice."""
    stmt = (select(_G.c.id, _G.c.customer_id, _C.c.name, _G.c.cadence, _G.c.created_at,
                   _G.c.worksheet_version, _G.c.letter, _G.c.total, _G.c.answers)
            .select_from(_G.join(_C, _C.c.id == _G.c.customer_id))
            .order_by(_G.c.customer_id, _G.c.created_at, _G.c.id))
    if workspace_id is not None:
        stmt = stmt.where(_G.c.workspace_id == workspace_id)
    for row in session.execute(stmt.execution_options(yield_per=1000)):
        yield StoredGrade._make(row)
