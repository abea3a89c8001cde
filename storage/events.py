"""Deduplication of platform events (Slack retries an event it thinks failed)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from storage.models import ProcessedEvent
from storage.types import utcnow


def record_event(session: Session, scope: str, event_id: str, kind: str = "") -> bool:
    """True the first time ``(scope, event_id)`` is seen, False for every repeat — also
    when two replicas receive the same retry at the same moment (the unique key decides)."""
    session.add(ProcessedEvent(scope=scope[:64], event_id=event_id[:128], kind=kind[:32]))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def prune_events(session: Session, older_than: timedelta = timedelta(days=3),
                 now: datetime | None = None) -> int:
    """Forget event ids older than Slack's retry window (minutes) with a wide margin."""
    cutoff = (now or utcnow()) - older_than
    res = session.execute(delete(ProcessedEvent).where(col(ProcessedEvent.created_at) < cutoff))
    session.commit()
    return int(res.rowcount or 0)  # type: ignore[attr-defined]
