"""Overrides: a manager's letter and/or recommendation over the model's grade, with a
required reason and an end date at most 12 months ahead.

Nothing is ever deleted: replacing or removing an override, or its end date passing, sets
``ended_at`` and ``end_reason`` on the row, so the history of who overruled what, why and for
how long stays readable. At most one override per customer is in force (a partial unique
index on the rows not ended). An override whose end date has passed is not in force even
before the sweep marks it ended: readers compare with the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, col, select

from scoring import Recommendation
from scoring.opinions import WARN_DAYS, OverrideTerms, S, as_shown, check_override
from storage.errors import Conflict, InvalidInput
from storage.models import Customer, Person, Table
from storage.names import clean_text
from storage.types import UTCDateTime, utcnow

REASON_MAX = 500
_ACTIVE = "ended_at IS NULL"


class OverrideEnd(StrEnum):
    EXPIRED = "expired"  # its end date passed (the sweep)
    REPLACED = "replaced"  # a new override was set on the customer
    REMOVED = "removed"  # a manager or admin took it off


class GradeOverride(Table, table=True):
    __tablename__ = "grade_override"
    __table_args__ = (
        Index(
            "ux_override_active",
            "customer_id",
            unique=True,
            sqlite_where=text(_ACTIVE),
            postgresql_where=text(_ACTIVE),
        ),
        Index("ix_override_customer", "customer_id", "created_at"),
        Index("ix_override_expiry", "ended_at", "expires_at"),
    )

    id: int = Field(default=None, primary_key=True)  # (see storage.models KEYS)
    workspace_id: int = Field(foreign_key="workspace.id")
    customer_id: int = Field(foreign_key="customer.id")
    letter: str | None = Field(default=None, max_length=2)
    recommendation: str | None = Field(default=None, max_length=16)
    reason: str = Field(max_length=REASON_MAX)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    set_by_id: int = Field(foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_reason: str | None = Field(default=None, max_length=16)
    ended_by_id: int | None = Field(default=None, foreign_key="person.id")
    # when the week-before notice was claimed (the sweep's exactly-once claim)
    warned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    def in_force(self, now: datetime) -> bool:
        return self.ended_at is None and self.expires_at > now

    def terms(self, set_by: str) -> OverrideTerms:
        rec = Recommendation(self.recommendation) if self.recommendation else None
        return OverrideTerms(self.letter, rec, self.reason, set_by, self.expires_at)


def set_override(
    session: Session,
    customer: Customer,
    setter: Person,
    *,
    letter: str | None,
    recommendation: str | None,
    reason: str,
    expires_at: datetime,
    now: datetime | None = None,
) -> GradeOverride:
    """Put an override on ``customer``, ending the one in force (``replaced``), in one
    transaction. ``InvalidInput`` says what is wrong with what was asked (nothing changes);
    permission is the caller's (``visibility.can_override``)."""
    now = now or utcnow()
    letter = letter.strip().upper() if letter else None
    reason = clean_text(reason or "", "The reason", REASON_MAX, required=False)
    problems = check_override(letter, recommendation, reason, expires_at.date(), now.date())
    if problems:
        raise InvalidInput(" ".join(problems))
    row = GradeOverride(
        workspace_id=customer.workspace_id,
        customer_id=customer.id,
        letter=letter,
        recommendation=recommendation,
        reason=reason,
        expires_at=expires_at,
        set_by_id=setter.id,
        created_at=now,
    )
    try:
        _end_current(session, customer.id, OverrideEnd.REPLACED, now, setter.id)
        session.add(row)
        session.commit()
    except IntegrityError:
        session.rollback()  # another override was set at the same moment: theirs stands
        raise Conflict(
            "Someone else changed this customer's override just now; look again and retry."
        ) from None
    return row


def _end_current(
    session: Session, customer_id: int, why: OverrideEnd, now: datetime, by: int | None
) -> int:
    res = session.execute(
        update(GradeOverride)
        .where(col(GradeOverride.customer_id) == customer_id, col(GradeOverride.ended_at).is_(None))
        .values(ended_at=now, end_reason=why.value, ended_by_id=by)
    )
    session.flush()
    return int(res.rowcount)  # type: ignore[attr-defined]


def remove_override(
    session: Session, customer: Customer, by: Person, now: datetime | None = None
) -> bool:
    """End the override in force (``removed``); False when there was none."""
    now = now or utcnow()
    current = active_override(session, customer.id, now)
    if current is None:
        return False
    ended = _end_current(session, customer.id, OverrideEnd.REMOVED, now, by.id)
    session.commit()
    return ended > 0


def active_override(
    session: Session, customer_id: int, now: datetime | None = None
) -> GradeOverride | None:
    now = now or utcnow()
    return session.exec(
        select(GradeOverride).where(
            GradeOverride.customer_id == customer_id,
            col(GradeOverride.ended_at).is_(None),
            GradeOverride.expires_at > now,
        )
    ).first()


def active_overrides(
    session: Session, customer_ids: Iterable[int], now: datetime | None = None
) -> dict[int, GradeOverride]:
    """The override in force per customer, for a book or a digest (one query)."""
    ids = list(customer_ids)
    if not ids:
        return {}
    now = now or utcnow()
    rows = session.exec(
        select(GradeOverride).where(
            col(GradeOverride.customer_id).in_(ids),
            col(GradeOverride.ended_at).is_(None),
            GradeOverride.expires_at > now,
        )
    ).all()
    return {r.customer_id: r for r in rows}


def terms_in_force(
    session: Session, customer_ids: Iterable[int], now: datetime | None = None
) -> dict[int, OverrideTerms]:
    """The terms of the override in force per customer, with the setter's name (one query)."""
    ids = sorted(set(customer_ids))
    return _terms(session, col(GradeOverride.customer_id).in_(ids), now) if ids else {}


def terms_in_workspace(
    session: Session, workspace_id: int, now: datetime | None = None
) -> dict[int, OverrideTerms]:
    """``terms_in_force`` for every customer of a workspace (an export)."""
    return _terms(session, col(GradeOverride.workspace_id) == workspace_id, now)


def _terms(session: Session, which: Any, now: datetime | None) -> dict[int, OverrideTerms]:
    rows = session.exec(
        select(GradeOverride, Person.display_name)
        .join(Person, col(Person.id) == GradeOverride.set_by_id)
        .where(
            which,
            col(GradeOverride.ended_at).is_(None),
            GradeOverride.expires_at > (now or utcnow()),
        )
    ).all()
    return {o.customer_id: o.terms(name) for o, name in rows}


def shown(session: Session, items: Sequence[S], now: datetime | None = None) -> list[S]:
    """``items`` (book lines, exit picks) as shown: the override in force over each one's
    model grade (``scoring.opinions.as_shown``, the one rule), the model's kept beside it.
    Every reader that shows or counts grades of record goes through here."""
    return as_shown(items, terms_in_force(session, [i.customer_id for i in items], now))


def history(session: Session, customer_id: int, limit: int = 50) -> Sequence[GradeOverride]:
    """Every override the customer had, newest first."""
    return session.exec(
        select(GradeOverride)
        .where(GradeOverride.customer_id == customer_id)
        .order_by(col(GradeOverride.created_at).desc(), col(GradeOverride.id).desc())
        .limit(limit)
    ).all()


def expire_due(
    session: Session, now: datetime, workspace_id: int | None = None
) -> list[GradeOverride]:
    """Mark every override whose end date has passed as ended (``expired``, at its end
    date): each by an UPDATE guarded by "not ended yet", so two sweeps never both end one;
    committed. Who is told is ``recently_expired``'s (the notices' delivery rows)."""
    ended = col(GradeOverride.ended_at).is_(None)
    stmt = select(GradeOverride).where(ended, GradeOverride.expires_at <= now)
    if workspace_id is not None:
        stmt = stmt.where(GradeOverride.workspace_id == workspace_id)
    mine: list[GradeOverride] = []
    for o in session.exec(stmt).all():
        res = session.execute(
            update(GradeOverride)
            .where(col(GradeOverride.id) == o.id, ended)
            .values(ended_at=o.expires_at, end_reason=OverrideEnd.EXPIRED.value)
        )
        if res.rowcount == 1:  # type: ignore[attr-defined]
            mine.append(o)
    session.commit()
    for o in mine:
        session.refresh(o)
    return mine


# The override notices go through the reminder delivery state machine (storage.deliveries):
# one row per (workspace, person, notice kind, override), so each person is told each notice
# once across sweeps and replicas, and a failed send is retried by the next sweep.
WARN_NOTICE = "override-warn"  # reminder_delivery.cadence: the week-before notice
END_NOTICE = "override-end"  # reminder_delivery.cadence: "the override ended"
END_NOTICE_WITHIN = timedelta(days=WARN_DAYS)  # an expiry older than this is not announced


def notice_period(override_id: int) -> str:
    """The delivery row's ``period`` for a notice about one override."""
    return f"o{override_id}"


def ending_soon(
    session: Session, workspace_id: int, now: datetime, days: int = WARN_DAYS
) -> Sequence[GradeOverride]:
    """Overrides in force that end within ``days``: their setter and owner are due the
    week-before notice."""
    return session.exec(
        select(GradeOverride).where(
            GradeOverride.workspace_id == workspace_id,
            col(GradeOverride.ended_at).is_(None),
            GradeOverride.expires_at > now,
            GradeOverride.expires_at <= now + timedelta(days=days),
        )
    ).all()


def recently_expired(
    session: Session, workspace_id: int, now: datetime, within: timedelta = END_NOTICE_WITHIN
) -> Sequence[GradeOverride]:
    """Overrides that ended by their date (not removed or replaced) within ``within``: their
    setter and owner are due "it ended" (until their delivery rows say it was sent)."""
    return session.exec(
        select(GradeOverride).where(
            GradeOverride.workspace_id == workspace_id,
            GradeOverride.end_reason == OverrideEnd.EXPIRED.value,
            col(GradeOverride.ended_at) > now - within,
            col(GradeOverride.ended_at) <= now,
        )
    ).all()
