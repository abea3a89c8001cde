"""Deduplication of platform events (Slack retries an event it thinks failed)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from storage.models import ProcessedEvent
from storage.types import utcnow


def record_event(session: Session, scope: str, event_id: str, kind: str = "",
                 at: datetime | None = None) -> bool:
    """True the first time ``(scope, event_id)`` is seen, False for every repeat — also
    when two replicas receive the same retry at the same moment (the unique key decides).
    ``at``: when, by the caller's clock (the reminder sweep's), so that pruning by that
    same clock keeps the claim as long as it matters."""
    session.add(ProcessedEvent(scope=scope[:64], event_id=event_id[:128], kind=kind[:32],
                               created_at=at or utcnow()))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


# How long each kind of claim must be remembered. Kinds not listed are never pruned.
RETENTION: dict[str, timedelta] = {
    "event": timedelta(days=3),     # Slack retries an event within minutes
    "activity": timedelta(days=3),  # Teams redeliveries likewise
    "alert": timedelta(days=30),    # drop alerts only look at grades of the last days
}
# "digest" claims (one per workspace and quarter) are kept: forgetting one would send that
# quarter's digest again.


def prune_events(session: Session, now: datetime | None = None,
                 retention: dict[str, timedelta] | None = None) -> int:
    """Forget claims that can no longer matter, each kind after its own retention (every
    Slack event adds a row, so without this the table grows forever). Returns how many."""
    now = now or utcnow()
    removed = 0
    for kind, keep in (RETENTION if retention is None else retention).items():
        res = session.execute(delete(ProcessedEvent).where(
            col(ProcessedEvent.kind) == kind, col(ProcessedEvent.created_at) < now - keep))
        removed += int(res.rowcount or 0)  # type: ignore[attr-defined]
    session.commit()
    return removed
