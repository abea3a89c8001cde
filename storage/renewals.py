"""The renewal question, "Did Acme renew?": its rows in the delivery state machine.

A customer whose ``renewal_on`` has passed with no decision recorded
(``storage.outcomes.renewals_due``) gets its owner asked once. The question is a
``reminder_delivery`` row of cadence ``RENEWAL`` keyed by (workspace, owner, "renewal",
``<customer id>:<yymmdd of the renewal date>``), so it goes through the same claims and leases
as a reminder (``storage.deliveries``: claimed once across replicas and reruns, a failed send
released for the next sweep) and a new renewal date is a new question. The answer closes it
(SENT → DONE); "not yet" keeps it SENT with ``next_followup_at`` set to when to ask again,
and ``reasks_due`` finds it then (the re-ask itself is ``deliveries.claim_followup``, one per
due time across replicas).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.deliveries import RENEWAL
from storage.models import DeliveryStatus, ReminderDelivery

PERIOD_MAX = 16  # ReminderDelivery.period


def ask_period(customer_id: int, renewal_on: date) -> str:
    """``1234:270331``: the customer and the renewal date a question is about."""
    period = f"{customer_id}:{renewal_on:%y%m%d}"
    if len(period) > PERIOD_MAX:
        raise ValueError(f"customer id {customer_id} is too long for a renewal question key")
    return period


def customer_of(delivery: ReminderDelivery) -> int | None:
    """The customer a renewal question's row is about (None: not a renewal question)."""
    head, sep, _ = delivery.period.partition(":")
    if delivery.cadence != RENEWAL or not sep or not head.isdigit():
        return None
    return int(head)


def get_ask(session: Session, delivery_id: int) -> ReminderDelivery | None:
    """A renewal question's row by id (None: no such row, or not a renewal question)."""
    d = session.get(ReminderDelivery, delivery_id, populate_existing=True)
    return d if d is not None and d.cadence == RENEWAL else None


def reasks_due(session: Session, workspace_id: int, now: datetime) -> Sequence[ReminderDelivery]:
    """A workspace's questions answered "not yet" whose time to ask again has come."""
    return session.exec(
        select(ReminderDelivery)
        .where(
            ReminderDelivery.workspace_id == workspace_id,
            ReminderDelivery.cadence == RENEWAL,
            ReminderDelivery.status == DeliveryStatus.SENT,
            col(ReminderDelivery.next_followup_at) <= now,
        )
        .order_by(col(ReminderDelivery.id))
    ).all()


def defer_ask(
    session: Session, delivery_id: int, person_id: int, until: datetime, now: datetime
) -> bool:
    """Not yet: ask ``person_id``'s open question again at ``until`` (committed). False
    when it is not theirs, not a renewal question, or answered already."""
    res = session.execute(
        update(ReminderDelivery)
        .where(
            col(ReminderDelivery.id) == delivery_id,
            col(ReminderDelivery.person_id) == person_id,
            col(ReminderDelivery.cadence) == RENEWAL,
            col(ReminderDelivery.status) == DeliveryStatus.SENT,
        )
        .values(next_followup_at=until, updated_at=now)
    )
    session.commit()
    return int(res.rowcount or 0) == 1  # type: ignore[attr-defined]


def close_asks(session: Session, customer_id: int, now: datetime) -> int:
    """Every open question about ``customer_id`` answered (SENT → DONE), in the caller's
    transaction — not committed here, so the outcome that answers it commits with it."""
    res = session.execute(
        update(ReminderDelivery)
        .where(
            col(ReminderDelivery.cadence) == RENEWAL,
            col(ReminderDelivery.status) == DeliveryStatus.SENT,
            col(ReminderDelivery.period).startswith(f"{customer_id}:"),
        )
        .values(status=DeliveryStatus.DONE, next_followup_at=None, updated_at=now)
    )
    return int(res.rowcount or 0)  # type: ignore[attr-defined]
