"""The reminder delivery state machine (``storage.deliveries``) and the sweep's other reads
(``storage.reminders``), on SQLite and PostgreSQL: each transition is one conditional
statement, so of two sessions racing for it exactly one wins. The claim itself, leases,
failed attempts and follow-up claims are in test_reminders_events.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from storage import deliveries as dl
from storage import people as people_db
from storage import reminders as reads
from storage.events import record_event
from storage.models import DeliveryStatus, Person, Platform, ReminderDelivery, Workspace
from storage.types import utcnow
from tests.storage.helpers import customer, grade, person

PERIOD = "2026-Q2"


def claim(
    session: Session, ws: Workspace, who: Person, claimer: str = "host-a", **kw: object
) -> ReminderDelivery:
    d = dl.claim_delivery(
        session,
        workspace_id=ws.id,
        person_id=who.id,  # type: ignore[arg-type]
        cadence="quarterly",
        period=PERIOD,
        claimer=claimer,
        **kw,
    )  # type: ignore[arg-type]
    assert d is not None
    return d


def sent(session: Session, ws: Workspace, who: Person, **kw: object) -> ReminderDelivery:
    now = utcnow()
    d = claim(session, ws, who, now=now)
    return dl.mark_sent(
        session,
        d,
        channel="D1",
        thread_ts="1.2",
        customers_due=2,
        next_followup_at=kw.get("next_at", now + timedelta(days=3)),  # type: ignore[arg-type]
        now=now,
    )


def reread(session: Session, d: ReminderDelivery) -> ReminderDelivery:
    session.expire_all()
    fresh = session.get(ReminderDelivery, d.id)
    assert fresh is not None
    return fresh


def test_a_close_is_claimed_once_and_a_failed_close_reopens(
    session: Session, engine: Engine, workspace: Workspace, rep: Person
) -> None:
    d = sent(session, workspace, rep)
    now = utcnow()
    with Session(engine) as other:
        assert dl.claim_close(session, d.id, now)  # type: ignore[arg-type]
        assert not dl.claim_close(other, d.id, now)  # type: ignore[arg-type]
    d = reread(session, d)
    assert (d.status, d.next_followup_at) == (DeliveryStatus.DONE, None)
    # posting "All graded" failed: back to SENT with a follow-up due now, so the next sweep
    # closes it again; reopening twice changes nothing more
    assert dl.reopen(session, d.id, now)  # type: ignore[arg-type]
    assert not dl.reopen(session, d.id, now)  # type: ignore[arg-type]
    d = reread(session, d)
    assert (d.status, d.next_followup_at) == (DeliveryStatus.SENT, now)
    assert [x.id for x in dl.followups_due(session, now)] == [d.id]


def test_a_claim_never_reopens_or_closes_what_is_not_sent(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    d = claim(session, workspace, rep)
    now = utcnow()
    assert not dl.claim_close(session, d.id, now)  # type: ignore[arg-type]
    assert not dl.reopen(session, d.id, now)  # type: ignore[arg-type]
    assert reread(session, d).status == DeliveryStatus.CLAIMED


def test_a_released_followup_is_due_again_and_not_counted(
    session: Session, engine: Engine, workspace: Workspace, rep: Person
) -> None:
    d = sent(session, workspace, rep)
    due_at = d.next_followup_at
    assert due_at is not None
    next_at = due_at + timedelta(days=3)
    assert dl.claim_followup(session, d, now=due_at, next_at=next_at)
    assert reread(session, d).followups == 1
    # only the process holding the claim (the row still carries its next_at) releases it
    assert not dl.release_followup(
        session,
        d.id,
        claimed_next_at=due_at,  # type: ignore[arg-type]
        now=due_at,
    )
    with Session(engine) as other:
        assert dl.release_followup(
            other,
            d.id,
            claimed_next_at=next_at,  # type: ignore[arg-type]
            now=due_at,
        )
    d = reread(session, d)
    assert (d.followups, d.next_followup_at, d.status) == (0, due_at, DeliveryStatus.SENT)
    # the last follow-up leaves no next one: released all the same (NULL compared as NULL)
    assert dl.claim_followup(session, d, now=due_at, next_at=None)
    assert dl.release_followup(
        session,
        d.id,
        claimed_next_at=None,  # type: ignore[arg-type]
        now=due_at,
    )
    assert reread(session, d).next_followup_at == due_at


def test_claims_abandoned_on_every_attempt_are_given_up(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    now = utcnow()
    d = claim(session, workspace, rep, now=now, lease=timedelta(minutes=5))
    for attempt in range(2, 4):  # the sender died each time; the next sweep took over
        now += timedelta(minutes=6)
        d = claim(session, workspace, rep, f"host-{attempt}", now=now, max_attempts=3)
        assert d.attempts == attempt
    assert dl.give_up_abandoned(session, now, max_attempts=3) == 0  # lease still running
    now += timedelta(minutes=6)
    assert (
        dl.claim_delivery(
            session,
            workspace_id=workspace.id,  # type: ignore[arg-type]
            person_id=rep.id,
            cadence="quarterly",  # type: ignore[arg-type]
            period=PERIOD,
            claimer="host-4",
            now=now,
            max_attempts=3,
        )
        is None
    )
    assert dl.give_up_abandoned(session, now, max_attempts=3) == 1
    assert dl.give_up_abandoned(session, now, max_attempts=3) == 0
    d = reread(session, d)
    assert (d.status, d.last_error) == (DeliveryStatus.FAILED, dl.ABANDONED)


@pytest.mark.parametrize("cadence", [dl.RENEWAL, "override-warn", "override-end", "later-kind"])
def test_only_reminder_rows_are_open_threads_or_follow_ups(
    session: Session, workspace: Workspace, rep: Person, cadence: str
) -> None:
    """A sent row of any cadence but the reminders' (a renewal question, an override
    notice, a kind not invented yet) is never closed or followed up as a reminder thread."""
    now = utcnow()
    other = dl.claim_delivery(session, workspace_id=workspace.id, person_id=rep.id,  # type: ignore[arg-type]
                              cadence=cadence, period="77:261130", claimer="t", now=now)
    assert other is not None
    dl.mark_sent(session, other, channel="D1", thread_ts="9.9", customers_due=1,
                 next_followup_at=now + timedelta(days=1), now=now)
    d = sent(session, workspace, rep, next_at=now + timedelta(days=1))
    assert [x.id for x, _ in dl.sent_deliveries(session, workspace.id)] == [d.id]  # type: ignore[arg-type]
    assert [x.id for x in dl.followups_due(session, now + timedelta(days=2))] == [d.id]


def test_open_threads_and_due_followups_with_their_people(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    other = person(session, workspace, "U0KAI")
    d = sent(session, workspace, rep)
    claim(session, workspace, other)  # claimed, not sent: no thread yet
    assert [(x.id, p.id) for x, p in dl.sent_deliveries(session, workspace.id)] == [  # type: ignore[arg-type]
        (d.id, rep.id)
    ]
    due_at = d.next_followup_at
    assert due_at is not None
    [(row, who, ws)] = dl.followups_due_with(session, due_at, [workspace.platform])
    assert (row.id, who.id, ws.id) == (d.id, rep.id, workspace.id)
    assert dl.followups_due_with(session, due_at, ["teams"]) == []  # no notifier for it here
    assert dl.followups_due_with(session, due_at - timedelta(seconds=1), [workspace.platform]) == []


def test_a_plan_skips_what_exists_unless_its_lease_ran_out(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    now = utcnow()
    assert dl.existing_deliveries(session, workspace.id, []) == {}  # type: ignore[arg-type]
    d = claim(session, workspace, rep, now=now)
    rows = dl.existing_deliveries(session, workspace.id, [PERIOD, "2026-Q3"])  # type: ignore[arg-type]
    assert list(rows) == [(rep.id, "quarterly", PERIOD)]
    assert dl.claimable(None, now)
    assert not dl.claimable(d, now)
    assert dl.claimable(d, now + dl.LEASE + timedelta(seconds=1))
    assert not dl.claimable(d, now + dl.LEASE + timedelta(seconds=1), max_attempts=1)


# ---------------------------------------------------------------------- storage.reminders
def test_workspaces_by_platform(session: Session, workspace: Workspace) -> None:
    slack = people_db.get_or_create_workspace(session, Platform.SLACK, "T1", "Acme Inc")
    assert [w.id for w in reads.workspaces(session, ["slack"])] == [slack.id]
    assert [w.id for w in reads.workspaces(session, None)] == [workspace.id, slack.id]
    assert reads.workspaces(session, ["slack", "cli"], workspace.id) == [workspace]
    assert reads.workspaces(session, []) == []


def test_digest_figures_and_drop_candidates(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    from tests.storage.helpers import utc

    boss = person(session, workspace, "U0BOSS")
    acme = customer(session, workspace, "Acme", rep)
    beta = customer(session, workspace, "Beta", rep)
    grade(session, acme, "A", utc(2026, 1, 10))
    grade(session, acme, "C", utc(2026, 2, 10), grader=boss)  # dropped two letters
    grade(session, beta, "B", utc(2026, 2, 11))
    grade(session, beta, "B", utc(2026, 2, 12), grader=boss)  # same letter: no drop
    t0, t1 = utc(2026, 1, 1), utc(2026, 4, 1)
    assert reads.graded_per_owner(session, workspace.id, t0, t1) == {rep.id: 2}  # type: ignore[arg-type,dict-item]
    assert reads.graded_per_owner(session, workspace.id, t1, t1) == {}  # type: ignore[arg-type]
    [drop] = reads.letter_drops(session, workspace.id, t0, t1)  # type: ignore[arg-type]
    assert (drop.customer, drop.previous_letter, drop.letter) == ("Acme", "A", "C")
    assert reads.exit_picks(session, workspace.id) == []  # type: ignore[arg-type]
    assert reads.people_names(session, workspace.id) == {  # type: ignore[arg-type]
        rep.id: "Rita Rep",
        boss.id: "U0Boss",
    }
    # alerts: the owner hears of a drop by someone else, once per grade
    now = utc(2026, 2, 11)
    [alert] = reads.drop_candidates(session, workspace.id, now)  # type: ignore[arg-type]
    assert (alert.customer, alert.owner_id, alert.grader) == ("Acme", rep.id, "U0Boss")
    assert record_event(session, reads.DROP_SCOPE, str(alert.grade_id), "alert", at=now)
    assert reads.claimed(session, reads.DROP_SCOPE, str(alert.grade_id))
    assert reads.drop_candidates(session, workspace.id, now) == []  # type: ignore[arg-type]
    reads.unclaim(session, reads.DROP_SCOPE, str(alert.grade_id))  # its send failed
    assert not reads.claimed(session, reads.DROP_SCOPE, str(alert.grade_id))
    assert len(reads.drop_candidates(session, workspace.id, now)) == 1  # type: ignore[arg-type]
    assert reads.drop_candidates(session, workspace.id, now + timedelta(days=3)) == []  # type: ignore[arg-type]
