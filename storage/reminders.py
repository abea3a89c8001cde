"""Reminder deliveries: the claim rows that make "each reminder exactly once" hold.

APScheduler keeps no shared job store (see STACK-NOTES); every process sweeps, and the
database decides who sends: a delivery is claimed by inserting its unique row (workspace,
person, cadence, period). A claim is a lease: a process that dies between claim and send
leaves a row whose lease runs out, and the next sweep re-claims it (``attempts`` counts
tries; after ``max_attempts`` it is marked failed instead of retried forever).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import DeliveryStatus, ReminderDelivery
from storage.types import utcnow

LEASE = timedelta(minutes=5)


def claim_delivery(session: Session, *, workspace_id: int, person_id: int, cadence: str,
                   period: str, claimer: str, now: datetime | None = None,
                   lease: timedelta = LEASE, max_attempts: int = 5) -> ReminderDelivery | None:
    """Claim the delivery for (workspace, person, cadence, period), or None if another
    process holds it or it was already sent. Exactly one concurrent caller wins."""
    now = now or utcnow()
    row = ReminderDelivery(workspace_id=workspace_id, person_id=person_id, cadence=cadence,
                           period=period, status=DeliveryStatus.CLAIMED, attempts=1,
                           claimed_by=claimer[:64], lease_until=now + lease, created_at=now,
                           updated_at=now)
    session.add(row)
    try:
        session.commit()
        return row
    except IntegrityError:
        session.rollback()
    # The row exists: take it over only if its lease ran out before it was sent.
    res = session.execute(
        update(ReminderDelivery)
        .where(col(ReminderDelivery.workspace_id) == workspace_id,
               col(ReminderDelivery.person_id) == person_id,
               col(ReminderDelivery.cadence) == cadence, col(ReminderDelivery.period) == period,
               col(ReminderDelivery.status) == DeliveryStatus.CLAIMED,
               col(ReminderDelivery.lease_until) < now,
               col(ReminderDelivery.attempts) < max_attempts)
        .values(claimed_by=claimer[:64], lease_until=now + lease,
                attempts=ReminderDelivery.attempts + 1, updated_at=now))
    session.commit()
    if res.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return get_delivery(session, workspace_id, person_id, cadence, period)


def get_delivery(session: Session, workspace_id: int, person_id: int, cadence: str,
                 period: str) -> ReminderDelivery | None:
    return session.exec(select(ReminderDelivery).where(
        ReminderDelivery.workspace_id == workspace_id, ReminderDelivery.person_id == person_id,
        ReminderDelivery.cadence == cadence, ReminderDelivery.period == period)
        .execution_options(populate_existing=True)).first()


def mark_sent(session: Session, delivery: ReminderDelivery, *, channel: str | None,
              thread_ts: str | None, customers_due: int, next_followup_at: datetime | None,
              now: datetime | None = None) -> ReminderDelivery:
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


def mark_failed_attempt(session: Session, delivery: ReminderDelivery, error: str,
                        *, max_attempts: int = 5, now: datetime | None = None) -> None:
    """Release the lease so a later sweep retries; give up after ``max_attempts``."""
    now = now or utcnow()
    delivery.last_error = error[:500]
    delivery.lease_until = now
    if delivery.attempts >= max_attempts:
        delivery.status = DeliveryStatus.FAILED
    delivery.updated_at = now
    session.add(delivery)
    session.commit()


def claim_followup(session: Session, delivery: ReminderDelivery, *, now: datetime,
                   next_at: datetime | None) -> bool:
    """Move the follow-up time forward iff it is still the one we saw: one follow-up per
    due time even with several replicas sweeping."""
    res = session.execute(
        update(ReminderDelivery)
        .where(col(ReminderDelivery.id) == delivery.id,
               col(ReminderDelivery.status) == DeliveryStatus.SENT,
               col(ReminderDelivery.next_followup_at) == delivery.next_followup_at)
        .values(next_followup_at=next_at, followups=ReminderDelivery.followups + 1,
                updated_at=now))
    session.commit()
    return res.rowcount == 1  # type: ignore[attr-defined]


def followups_due(session: Session, now: datetime) -> Sequence[ReminderDelivery]:
    return session.exec(select(ReminderDelivery).where(
        ReminderDelivery.status == DeliveryStatus.SENT,
        col(ReminderDelivery.next_followup_at) <= now,
        or_(col(ReminderDelivery.snoozed_until).is_(None),
            col(ReminderDelivery.snoozed_until) <= now))).all()


def snooze(session: Session, delivery: ReminderDelivery, until: datetime, *,
           rearm: bool = True) -> None:
    """Nothing for this reminder before ``until``. ``rearm``: the rep asked to be reminded
    then (Snooze), so a follow-up comes even if there would be none; without it (out of
    office) a follow-up already planned is only moved later."""
    delivery.snoozed_until = until
    if (delivery.next_followup_at is None and rearm) or (
            delivery.next_followup_at is not None and delivery.next_followup_at < until):
        delivery.next_followup_at = until
    delivery.updated_at = utcnow()
    session.add(delivery)
    session.commit()


def mark_done(session: Session, delivery: ReminderDelivery) -> None:
    delivery.status = DeliveryStatus.DONE
    delivery.next_followup_at = None
    delivery.updated_at = utcnow()
    session.add(delivery)
    session.commit()
