"""The reminder delivery state machine: one row per (workspace, person, cadence, period).

APScheduler keeps no shared job store (see STACK-NOTES); every process sweeps, and the
database decides who sends. Every transition two processes can race for (claim, lease
take-over, follow-up, close, reopen, give-up) is one conditional statement, so they cannot
both win — that is what makes "each reminder once" hold across replicas, restarts and
kill -9; the rest (mark sent, failed attempt, done, snooze) is written by the claim's holder.

States (``DeliveryStatus``) and transitions::

    (none) ──claim_delivery──▶ CLAIMED ──mark_sent──▶ SENT ──claim_close / mark_done──▶ DONE
                                 │  ▲                  │  ▲                             │
      mark_failed_attempt ───────┘  │   claim_followup ┘  └────────── reopen ───────────┘
      (lease released; the next     │   release_followup
       sweep re-claims)             │   snooze
                                 lease expired: claim_delivery takes it over (attempts + 1)
    CLAIMED ──mark_failed_attempt at max_attempts / give_up_abandoned──▶ FAILED
    CLAIMED ──mark_delivered──▶ DONE      (a one-off notice: an override ending)

A claim is a lease: a process that dies between claim and send leaves a row whose lease
runs out, and the next sweep re-claims it (``attempts`` counts tries; after ``max_attempts``
the row is marked failed instead of retried forever). A row never goes back from SENT to
CLAIMED, so a sent reminder is never sent again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from scoring import Cadence
from storage.models import DeliveryStatus, Person, ReminderDelivery, Workspace
from storage.types import utcnow

# The cadence of a renewal question's row ("Did Acme renew?", ``storage.renewals``): the same
# claims and leases, but its own sweep step.
RENEWAL = "renewal"
# The reminder threads' cadences: the reads of open threads and follow-ups below take only
# these, so a row of any other kind (a renewal question, an override notice, whatever comes
# next) can never be closed or followed up as a reminder thread, whatever its status.
REMINDER_CADENCES = tuple(c.value for c in Cadence)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
ABANDONED = "gave up: the claim expired on every attempt"


def _move(session: Session, *where: Any, **values: Any) -> int:
    """One conditional transition: update the rows matching ``where`` (which always include
    the state the caller saw) and commit; how many moved. Two sessions racing for the same
    transition cannot both see their condition hold, so at most one moves each row."""
    res = session.execute(update(ReminderDelivery).where(*where).values(**values))
    session.commit()
    return int(res.rowcount or 0)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- reads
def get_delivery(
    session: Session, workspace_id: int, person_id: int, cadence: str, period: str
) -> ReminderDelivery | None:
    return session.exec(
        select(ReminderDelivery)
        .where(
            ReminderDelivery.workspace_id == workspace_id,
            ReminderDelivery.person_id == person_id,
            ReminderDelivery.cadence == cadence,
            ReminderDelivery.period == period,
        )
        .execution_options(populate_existing=True)
    ).first()


def existing_deliveries(
    session: Session, workspace_id: int, periods: Iterable[str]
) -> dict[tuple[int, str, str], ReminderDelivery]:
    """The rows of ``periods`` in a workspace, by (person id, cadence, period): what a plan
    must not send again."""
    keys = sorted(set(periods))
    if not keys:
        return {}
    rows = session.exec(
        select(ReminderDelivery).where(
            ReminderDelivery.workspace_id == workspace_id, col(ReminderDelivery.period).in_(keys)
        )
    ).all()
    return {(r.person_id, r.cadence, r.period): r for r in rows}


def claimable(
    row: ReminderDelivery | None, now: datetime, max_attempts: int = MAX_ATTEMPTS
) -> bool:
    """Whether a sweep may try to claim: never claimed, or a claim whose lease ran out.
    (The same condition ``claim_delivery`` applies in SQL; this one filters a plan.)"""
    if row is None:
        return True
    return (
        row.status == DeliveryStatus.CLAIMED
        and row.attempts < max_attempts
        and (row.lease_until is None or row.lease_until < now)
    )


def sent_deliveries(session: Session, workspace_id: int) -> list[tuple[ReminderDelivery, Person]]:
    """A workspace's open reminder threads (SENT) with their reps: candidates for closing."""
    return [
        (d, p)
        for d, p in session.exec(
            select(ReminderDelivery, Person)
            .join(Person, col(Person.id) == ReminderDelivery.person_id)
            .where(
                ReminderDelivery.workspace_id == workspace_id,
                ReminderDelivery.status == DeliveryStatus.SENT,
                col(ReminderDelivery.cadence).in_(REMINDER_CADENCES),
            )
            .order_by(col(ReminderDelivery.id))
        ).all()
    ]


def followups_due(session: Session, now: datetime) -> Sequence[ReminderDelivery]:
    """Open threads whose next follow-up time has come and that are not snoozed (reminders
    only: a renewal question asked again is ``storage.renewals.reasks_due``)."""
    return session.exec(
        select(ReminderDelivery)
        .where(
            ReminderDelivery.status == DeliveryStatus.SENT,
            col(ReminderDelivery.cadence).in_(REMINDER_CADENCES),
            col(ReminderDelivery.next_followup_at) <= now,
            or_(
                col(ReminderDelivery.snoozed_until).is_(None),
                col(ReminderDelivery.snoozed_until) <= now,
            ),
        )
        .order_by(col(ReminderDelivery.id))
    ).all()


def followups_due_with(
    session: Session, now: datetime, platforms: Iterable[str]
) -> list[tuple[ReminderDelivery, Person, Workspace]]:
    """``followups_due`` with each row's rep and workspace, only on ``platforms`` (a sweep
    without a notifier for a platform leaves its threads to a process that has one)."""
    wanted = set(platforms)
    due = list(followups_due(session, now))
    if not due or not wanted:
        return []
    people = {
        p.id: p
        for p in session.exec(
            select(Person).where(col(Person.id).in_({d.person_id for d in due}))
        ).all()
    }
    spaces = {
        w.id: w
        for w in session.exec(
            select(Workspace).where(col(Workspace.id).in_({d.workspace_id for d in due}))
        ).all()
    }
    out = []
    for d in due:
        ws, person = spaces.get(d.workspace_id), people.get(d.person_id)
        if ws is not None and person is not None and ws.platform in wanted:
            out.append((d, person, ws))
    return out


# ---------------------------------------------------------------------- (none) → CLAIMED
def claim_delivery(
    session: Session,
    *,
    workspace_id: int,
    person_id: int,
    cadence: str,
    period: str,
    claimer: str,
    now: datetime | None = None,
    lease: timedelta = LEASE,
    max_attempts: int = MAX_ATTEMPTS,
) -> ReminderDelivery | None:
    """Claim the delivery for (workspace, person, cadence, period), or None if another
    process holds it or it was already sent. Exactly one concurrent caller wins."""
    now = now or utcnow()
    row = ReminderDelivery(
        workspace_id=workspace_id,
        person_id=person_id,
        cadence=cadence,
        period=period,
        status=DeliveryStatus.CLAIMED,
        attempts=1,
        claimed_by=claimer[:64],
        lease_until=now + lease,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    try:
        session.commit()
        return row
    except IntegrityError:
        session.rollback()
    # The row exists: take it over only if its lease ran out before it was sent.
    moved = _move(
        session,
        col(ReminderDelivery.workspace_id) == workspace_id,
        col(ReminderDelivery.person_id) == person_id,
        col(ReminderDelivery.cadence) == cadence,
        col(ReminderDelivery.period) == period,
        col(ReminderDelivery.status) == DeliveryStatus.CLAIMED,
        col(ReminderDelivery.lease_until) < now,
        col(ReminderDelivery.attempts) < max_attempts,
        claimed_by=claimer[:64],
        lease_until=now + lease,
        attempts=ReminderDelivery.attempts + 1,
        updated_at=now,
    )
    if moved != 1:
        return None
    return get_delivery(session, workspace_id, person_id, cadence, period)


# ---------------------------------------------------------------------- CLAIMED → SENT / FAILED
def mark_sent(
    session: Session,
    delivery: ReminderDelivery,
    *,
    channel: str | None,
    thread_ts: str | None,
    customers_due: int,
    next_followup_at: datetime | None,
    now: datetime | None = None,
) -> ReminderDelivery:
    now = now or utcnow()
    delivery.status = DeliveryStatus.SENT
    delivery.channel, delivery.thread_ts = channel, thread_ts
    delivery.customers_due = customers_due
    delivery.sent_at = delivery.sent_at or now
    delivery.next_followup_at = next_followup_at
    delivery.lease_until = None
    delivery.last_error = None
    delivery.updated_at = now
    session.add(delivery)
    session.commit()
    return delivery


def mark_failed_attempt(
    session: Session,
    delivery: ReminderDelivery,
    error: str,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    now: datetime | None = None,
) -> None:
    """Release the lease so a later sweep retries; give up after ``max_attempts``. A thread
    reference set on ``delivery`` (a partly posted thread) is kept, so the retry finishes
    that thread instead of starting a second one."""
    now = now or utcnow()
    delivery.last_error = error[:500]
    delivery.lease_until = now
    if delivery.attempts >= max_attempts:
        delivery.status = DeliveryStatus.FAILED
    delivery.updated_at = now
    session.add(delivery)
    session.commit()


def mark_delivered(session: Session, delivery: ReminderDelivery, *,
                   now: datetime | None = None) -> None:
    """CLAIMED → DONE for a one-off notice (an override ending): sent, no thread to follow
    up or close, so no sweep step ever picks it up again (written by the claim's holder)."""
    now = now or utcnow()
    delivery.status = DeliveryStatus.DONE
    delivery.sent_at = delivery.sent_at or now
    delivery.lease_until = None
    delivery.last_error = None
    delivery.updated_at = now
    session.add(delivery)
    session.commit()


def give_up_abandoned(session: Session, now: datetime, max_attempts: int = MAX_ATTEMPTS) -> int:
    """Claims whose lease ran out ``max_attempts`` times (the sender died each time): FAILED.
    Returns how many."""
    return _move(
        session,
        col(ReminderDelivery.status) == DeliveryStatus.CLAIMED,
        col(ReminderDelivery.lease_until) < now,
        col(ReminderDelivery.attempts) >= max_attempts,
        status=DeliveryStatus.FAILED,
        updated_at=now,
        last_error=ABANDONED,
    )


# ---------------------------------------------------------------------- SENT → SENT (follow-ups)
def claim_followup(
    session: Session, delivery: ReminderDelivery, *, now: datetime, next_at: datetime | None
) -> bool:
    """Move the follow-up time forward iff it is still the one we saw: one follow-up per
    due time even with several replicas sweeping."""
    return (
        _move(
            session,
            col(ReminderDelivery.id) == delivery.id,
            col(ReminderDelivery.status) == DeliveryStatus.SENT,
            col(ReminderDelivery.next_followup_at) == delivery.next_followup_at,
            next_followup_at=next_at,
            followups=ReminderDelivery.followups + 1,
            updated_at=now,
        )
        == 1
    )


def release_followup(
    session: Session, delivery_id: int, *, claimed_next_at: datetime | None, now: datetime
) -> bool:
    """A claimed follow-up that could not be posted: due again at once, not counted. Only
    if the row still carries our claim (``claimed_next_at``); True when released."""
    return (
        _move(
            session,
            col(ReminderDelivery.id) == delivery_id,
            col(ReminderDelivery.status) == DeliveryStatus.SENT,
            col(ReminderDelivery.next_followup_at) == claimed_next_at,
            next_followup_at=now,
            followups=ReminderDelivery.followups - 1,
            updated_at=now,
        )
        == 1
    )


def snooze(
    session: Session, delivery: ReminderDelivery, until: datetime, *, rearm: bool = True
) -> None:
    """Nothing for this reminder before ``until``. ``rearm``: the rep asked to be reminded
    then (Snooze), so a follow-up comes even if there would be none; without it (out of
    office) a follow-up already planned is only moved later."""
    delivery.snoozed_until = until
    if (delivery.next_followup_at is None and rearm) or (
        delivery.next_followup_at is not None and delivery.next_followup_at < until
    ):
        delivery.next_followup_at = until
    delivery.updated_at = utcnow()
    session.add(delivery)
    session.commit()


# ---------------------------------------------------------------------- SENT ⇄ DONE
def _switch(
    session: Session,
    delivery_id: int,
    frm: DeliveryStatus,
    to: DeliveryStatus,
    next_followup_at: datetime | None,
    now: datetime,
) -> bool:
    """``frm`` → ``to`` iff the row is still ``frm``; True for the one caller that moved it."""
    return (
        _move(
            session,
            col(ReminderDelivery.id) == delivery_id,
            col(ReminderDelivery.status) == frm,
            status=to,
            next_followup_at=next_followup_at,
            updated_at=now,
        )
        == 1
    )


def claim_close(session: Session, delivery_id: int, now: datetime) -> bool:
    """SENT → DONE iff still SENT: exactly one process closes a thread (and posts the
    "All graded" update)."""
    return _switch(session, delivery_id, DeliveryStatus.SENT, DeliveryStatus.DONE, None, now)


def reopen(session: Session, delivery_id: int, now: datetime) -> bool:
    """DONE → SENT, follow-up due now: a close that could not be posted is retried by the
    next sweep."""
    return _switch(session, delivery_id, DeliveryStatus.DONE, DeliveryStatus.SENT, now, now)


def mark_done(session: Session, delivery: ReminderDelivery) -> None:
    """DONE after a follow-up found nothing left (this process holds the follow-up claim)."""
    delivery.status = DeliveryStatus.DONE
    delivery.next_followup_at = None
    delivery.updated_at = utcnow()
    session.add(delivery)
    session.commit()
