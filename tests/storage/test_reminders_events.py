"""Reminder deliveries (claims, leases, follow-ups) and event de-duplication, in one process.
The races between processes are in test_concurrency.py."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from storage import deliveries as reminders_db
from storage.events import prune_events, record_event
from storage.models import DeliveryStatus, Person, ProcessedEvent, ReminderDelivery, Workspace
from storage.types import utcnow


def claim(session: Session, ws: Workspace, who: Person, claimer: str, **kw: object
          ) -> ReminderDelivery | None:
    return reminders_db.claim_delivery(session, workspace_id=ws.id,  # type: ignore[arg-type]
                                       person_id=who.id, cadence="quarterly",  # type: ignore
                                       period=kw.pop("period", "2026-Q2"),  # type: ignore
                                       claimer=claimer, **kw)  # type: ignore[arg-type]


def test_claim_once_then_lease_expiry_allows_a_reclaim(session: Session, workspace: Workspace,
                                                       rep: Person) -> None:
    now = utcnow()
    first = claim(session, workspace, rep, "host-a", now=now)
    assert first is not None
    assert (first.status, first.attempts, first.claimed_by) == (DeliveryStatus.CLAIMED, 1,
                                                                "host-a")
    assert first.lease_until == now + reminders_db.LEASE
    assert claim(session, workspace, rep, "host-b", now=now + timedelta(minutes=1)) is None
    # host-a died; its lease ran out
    later = now + reminders_db.LEASE + timedelta(seconds=1)
    again = claim(session, workspace, rep, "host-b", now=later)
    assert again is not None
    assert again.id == first.id
    assert (again.attempts, again.claimed_by) == (2, "host-b")
    assert again.lease_until == later + reminders_db.LEASE
    assert claim(session, workspace, rep, "host-c", now=later) is None  # host-b holds it now
    assert session.exec(select(func.count()).select_from(ReminderDelivery)).one() == 1


def test_a_sent_delivery_is_never_claimed_again(session: Session, workspace: Workspace,
                                                rep: Person) -> None:
    now = utcnow()
    d = claim(session, workspace, rep, "host-a", now=now)
    assert d is not None
    reminders_db.mark_sent(session, d, channel="D1", thread_ts="1.2", customers_due=4,
                           next_followup_at=now + timedelta(days=3), now=now)
    for later in (timedelta(hours=1), timedelta(days=400)):
        assert claim(session, workspace, rep, "host-b", now=now + later) is None
    stored = reminders_db.get_delivery(session, workspace.id, rep.id,  # type: ignore[arg-type]
                                       "quarterly", "2026-Q2")
    assert stored is not None
    assert (stored.status, stored.attempts, stored.claimed_by, stored.customers_due) == (
        DeliveryStatus.SENT, 1, "host-a", 4)
    assert stored.sent_at == now
    assert stored.lease_until is None
    # another period is another delivery
    assert claim(session, workspace, rep, "host-b", period="2026-Q3", now=now) is not None


def test_failed_attempts_release_the_lease_then_give_up(session: Session, workspace: Workspace,
                                                        rep: Person) -> None:
    now = utcnow()
    d = claim(session, workspace, rep, "host-a", now=now)
    assert d is not None
    for attempt in range(1, 4):
        assert d is not None
        assert d.attempts == attempt
        reminders_db.mark_failed_attempt(session, d, "slack said no " * 100, max_attempts=3,
                                         now=now)
        now += timedelta(seconds=1)
        d = claim(session, workspace, rep, "host-a", now=now, max_attempts=3)
    assert d is None
    stored = reminders_db.get_delivery(session, workspace.id, rep.id,  # type: ignore[arg-type]
                                       "quarterly", "2026-Q2")
    assert stored is not None
    assert stored.status == DeliveryStatus.FAILED
    assert stored.attempts == 3
    assert len(stored.last_error or "") == 500


def test_one_followup_per_due_time_and_snooze(session: Session, workspace: Workspace,
                                              rep: Person, engine: Engine) -> None:
    now = utcnow()
    d = claim(session, workspace, rep, "host-a", now=now)
    assert d is not None
    reminders_db.mark_sent(session, d, channel="D1", thread_ts="1.2", customers_due=2,
                           next_followup_at=now + timedelta(days=3), now=now)
    assert reminders_db.followups_due(session, now + timedelta(days=2)) == []
    due_at = now + timedelta(days=3)
    [seen] = reminders_db.followups_due(session, due_at)
    with Session(engine) as other:
        [seen_too] = reminders_db.followups_due(other, due_at)
        assert reminders_db.claim_followup(session, seen, now=due_at,
                                           next_at=due_at + timedelta(days=3))
        assert not reminders_db.claim_followup(other, seen_too, now=due_at,
                                               next_at=due_at + timedelta(days=3))
    fresh = reminders_db.get_delivery(session, workspace.id, rep.id,  # type: ignore[arg-type]
                                      "quarterly", "2026-Q2")
    assert fresh is not None
    assert fresh.followups == 1
    reminders_db.snooze(session, fresh, due_at + timedelta(days=10))
    assert reminders_db.followups_due(session, due_at + timedelta(days=9)) == []
    assert len(reminders_db.followups_due(session, due_at + timedelta(days=10))) == 1
    reminders_db.mark_done(session, fresh)
    assert reminders_db.followups_due(session, due_at + timedelta(days=100)) == []


def test_record_event_once(session: Session) -> None:
    assert record_event(session, "slack:T1", "Ev1", "message")
    assert not record_event(session, "slack:T1", "Ev1", "message")
    assert record_event(session, "slack:T2", "Ev1")  # another workspace's event
    assert record_event(session, "slack:T1", "Ev2")
    assert session.exec(select(func.count()).select_from(ProcessedEvent)).one() == 3


def test_prune_events_forgets_each_kind_after_its_own_retention(session: Session) -> None:
    record_event(session, "slack:T1", "Ev-old", "event")
    record_event(session, "teams:t1", "act-old", "activity")
    record_event(session, "drop", "41", "alert")
    record_event(session, "digest:1", "2026-Q1", "digest")
    now = utcnow()
    assert prune_events(session, now=now) == 0
    assert prune_events(session, now=now + timedelta(days=4)) == 2  # event, activity
    assert record_event(session, "slack:T1", "Ev-old", "event")  # forgotten, so new again
    assert not record_event(session, "drop", "41", "alert")  # alerts: 30 days
    assert prune_events(session, now=now + timedelta(days=31)) == 2  # the alert, Ev-old again
    assert record_event(session, "drop", "41", "alert")
    # a quarter's digest claim is never forgotten: it would be sent again
    assert prune_events(session, now=now + timedelta(days=3650)) >= 1
    assert not record_event(session, "digest:1", "2026-Q1", "digest")


def test_odd_event_ids(session: Session) -> None:
    for event_id in ("x" * 300, "Ev'; DELETE FROM processed_event;--", "Ev 👩‍💻"):
        assert record_event(session, "slack:T1", event_id)
        assert not record_event(session, "slack:T1", event_id)
    assert session.exec(select(func.count()).select_from(ProcessedEvent)).one() == 3
