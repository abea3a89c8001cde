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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage import deliveries as dl
from storage.deliveries import RENEWAL
from storage.models import DeliveryStatus, Person, ReminderDelivery

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


@dataclass(frozen=True)
class ClaimedAsk:
    """A renewal question claimed for sending: a new one (``again`` False) or a "not yet"
    asked again; ``owner`` is whom to ask."""

    delivery: ReminderDelivery
    owner: Person
    customer_id: int
    customer: str
    renewal_on: date
    again: bool = False


def claim_asks(
    session: Session,
    workspace_id: int,
    through: date,
    now: datetime,
    *,
    reachable: Callable[[Person], bool],
    claimer: str,
    lease: timedelta = dl.LEASE,
    max_attempts: int = dl.MAX_ATTEMPTS,
) -> list[ClaimedAsk]:
    """Claim every question due in the workspace now: renewal dates up to ``through`` with
    no decision (new questions), and "not yet" ones whose time has come. A question whose
    customer got a decision some other way, or changed owner, is closed quietly; owners
    ``reachable`` refuses (away, no DM yet) are left for a later sweep, unclaimed."""
    from storage.outcomes import RenewalDue, renewals_due  # (outcomes imports this module)

    due: dict[int, RenewalDue] = {
        r.customer_id: r for r in renewals_due(session, workspace_id, through)
        if r.owner_id is not None
    }
    periods = {cid: ask_period(cid, r.renewal_on) for cid, r in due.items()}
    existing = dl.existing_deliveries(session, workspace_id, periods.values())
    out: list[ClaimedAsk] = []
    for cid, r in due.items():
        assert r.owner_id is not None
        owner = session.get(Person, r.owner_id)
        if owner is None or not reachable(owner) or not dl.claimable(
            existing.get((r.owner_id, RENEWAL, periods[cid])), now, max_attempts
        ):
            continue
        d = dl.claim_delivery(
            session, workspace_id=workspace_id, person_id=r.owner_id, cadence=RENEWAL,
            period=periods[cid], claimer=claimer, now=now, lease=lease,
            max_attempts=max_attempts,
        )
        if d is not None:
            out.append(ClaimedAsk(d, owner, cid, r.customer, r.renewal_on))
    for d in reasks_due(session, workspace_id, now):
        about = customer_of(d)
        still = due.get(about) if about is not None else None
        if still is None or still.owner_id != d.person_id \
                or periods.get(still.customer_id) != d.period:
            dl.claim_close(session, d.id, now)  # decided elsewhere, or no longer theirs
            continue
        owner = session.get(Person, d.person_id)
        if owner is None or not reachable(owner):
            continue
        if dl.claim_followup(session, d, now=now, next_at=None):
            out.append(ClaimedAsk(d, owner, still.customer_id, still.customer,
                                  still.renewal_on, again=True))
    return out
