"""The renewal question's rows on every backend: claimed once in the delivery state machine,
"not yet" deferred only while the question is open and only by its owner, answered (closed)
with the outcome's transaction, and never mistaken for a reminder thread (nor the other way
round)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session

from storage import deliveries as dl
from storage import renewals as renewals_db
from storage.deliveries import RENEWAL
from storage.models import DeliveryStatus, Person, ReminderDelivery, Workspace
from tests.storage.helpers import customer, person

NOW = datetime(2026, 12, 2, 10, tzinfo=UTC)


def _asked(session: Session, ws: Workspace, owner: Person, customer_id: int) -> ReminderDelivery:
    d = dl.claim_delivery(
        session,
        workspace_id=ws.id,
        person_id=owner.id,
        cadence=RENEWAL,
        period=renewals_db.ask_period(customer_id, date(2026, 11, 30)),
        claimer="test",
        now=NOW,
    )
    assert d is not None
    return dl.mark_sent(
        session, d, channel=None, thread_ts=None, customers_due=1, next_followup_at=None, now=NOW
    )


def test_the_period_names_customer_and_date_and_fits_the_column() -> None:
    assert renewals_db.ask_period(1234, date(2027, 3, 31)) == "1234:270331"
    assert len(renewals_db.ask_period(999_999_999, date(2027, 3, 31))) == 16
    with pytest.raises(ValueError, match="too long"):
        renewals_db.ask_period(10**10, date(2027, 3, 31))
    row = ReminderDelivery(workspace_id=1, person_id=1, cadence=RENEWAL, period="77:261130")
    assert renewals_db.customer_of(row) == 77
    assert (
        renewals_db.customer_of(
            ReminderDelivery(workspace_id=1, person_id=1, cadence="quarterly", period="2026-Q4")
        )
        is None
    )


def test_not_yet_defers_an_open_question_of_its_owner_only(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    other = person(session, workspace, "U0OTHER")
    acme = customer(session, workspace, "Acme", rep)
    d = _asked(session, workspace, rep, acme.id)
    again = dl.claim_delivery(
        session,
        workspace_id=workspace.id,
        person_id=rep.id,
        cadence=RENEWAL,
        period=d.period,
        claimer="b",
        now=NOW,
    )
    assert again is None  # claimed once (a second replica, a rerun)
    later = NOW + timedelta(days=14)
    assert not renewals_db.defer_ask(session, d.id, other.id, later, NOW)  # not theirs
    assert renewals_db.reasks_due(session, workspace.id, later) == []
    assert renewals_db.defer_ask(session, d.id, rep.id, later, NOW)
    assert renewals_db.reasks_due(session, workspace.id, later - timedelta(minutes=1)) == []
    assert [x.id for x in renewals_db.reasks_due(session, workspace.id, later)] == [d.id]
    # a reminder's follow-up query never sees it, nor the threads a sweep may close
    assert dl.followups_due(session, later) == []
    assert dl.sent_deliveries(session, workspace.id) == []
    # answered: closed in the caller's transaction, and no longer deferrable
    assert renewals_db.close_asks(session, acme.id, NOW) == 1
    session.commit()
    done = renewals_db.get_ask(session, d.id)
    assert done is not None
    assert done.status == DeliveryStatus.DONE
    assert not renewals_db.defer_ask(session, d.id, rep.id, later, NOW)
    assert renewals_db.reasks_due(session, workspace.id, later) == []


def test_closing_one_customers_question_leaves_the_others(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    a = customer(session, workspace, "Acme", rep)
    b = customer(session, workspace, "Globex", rep)
    da, db = _asked(session, workspace, rep, a.id), _asked(session, workspace, rep, b.id)
    renewals_db.close_asks(session, a.id, NOW)
    session.rollback()  # not committed by close_asks: the caller's transaction decides
    assert renewals_db.get_ask(session, da.id).status == DeliveryStatus.SENT  # type: ignore[union-attr]
    renewals_db.close_asks(session, a.id, NOW)
    session.commit()
    assert renewals_db.get_ask(session, da.id).status == DeliveryStatus.DONE  # type: ignore[union-attr]
    assert renewals_db.get_ask(session, db.id).status == DeliveryStatus.SENT  # type: ignore[union-attr]
    # a reminder's row is no question: not found as one, never deferred
    r = dl.claim_delivery(
        session,
        workspace_id=workspace.id,
        person_id=rep.id,
        cadence="quarterly",
        period="2026-Q4",
        claimer="t",
        now=NOW,
    )
    assert r is not None
    assert renewals_db.get_ask(session, r.id) is None
    assert not renewals_db.defer_ask(session, r.id, rep.id, NOW, NOW)


def test_claim_asks_claims_each_due_question_once_and_skips_the_unreachable(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    """The sweep's claim loop on every backend: a passed renewal date is claimed once (a
    second claimer gets nothing), an owner ``reachable`` refuses is left unclaimed for a
    later sweep, and a "not yet" whose time has come is claimed as asked again."""
    away = person(session, workspace, "U0AWAY")
    acme, globex = customer(session, workspace, "Acme", rep), customer(
        session, workspace, "Globex", away)
    for c in (acme, globex):
        c.renewal_on = date(2026, 11, 30)
        session.add(c)
    session.commit()

    def claim(by: str, at: datetime) -> list[renewals_db.ClaimedAsk]:
        return renewals_db.claim_asks(session, workspace.id, at.date(), at,
                                      reachable=lambda p: p.id != away.id, claimer=by)

    [first] = claim("a", NOW)
    assert (first.customer, first.owner.id, first.renewal_on, first.again) == (
        "Acme", rep.id, date(2026, 11, 30), False)
    assert first.delivery.period == renewals_db.ask_period(acme.id, date(2026, 11, 30))
    assert claim("b", NOW) == []  # claimed: another replica asks nothing
    dl.mark_sent(session, first.delivery, channel=None, thread_ts=None, customers_due=1,
                 next_followup_at=None, now=NOW)
    assert renewals_db.defer_ask(session, first.delivery.id, rep.id,
                                 NOW + timedelta(days=14), NOW)
    assert claim("a", NOW + timedelta(days=13)) == []
    [again] = claim("a", NOW + timedelta(days=14))
    assert (again.customer_id, again.again) == (acme.id, True)
    assert claim("b", NOW + timedelta(days=14)) == []  # the re-ask, claimed once too
