"""Recording an outcome with a tap (``bot.engine.outcomes``), on every backend: who may, the
day (today in the workspace's zone, or the date input), once per click, the renewal question
closed with the outcome in one transaction, and every stale, forged or garbled value refused
in words."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select

from bot.engine.options import RecordOutcome, encode
from bot.engine.outcomes import NOT_YET_DAYS, outcome_menu, record_click, renewal_options
from storage import deliveries as dl
from storage import people as people_db
from storage import renewals as renewals_db
from storage.deliveries import RENEWAL
from storage.models import DeliveryStatus, Outcome, Person, Role, Workspace
from tests.storage.helpers import customer, person

# 23:30 UTC on 1 December is already 2 December in Auckland
NOW = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)


def _value(cid: int, kind: str, ask: int | None = None) -> str:
    return encode(RecordOutcome(cid, kind, ask))


def _rows(session: Session) -> list[tuple[str, date, str, int | None]]:
    return [
        (o.kind, o.happened_on, o.source, o.recorded_by_id)
        for o in session.exec(select(Outcome).order_by(Outcome.id)).all()
    ]


def test_the_owner_records_today_in_the_workspaces_zone(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    people_db.update_workspace_settings(session, workspace, timezone="Pacific/Auckland")
    acme = customer(session, workspace, "Acme <!channel>", rep)
    first = record_click(session, rep, _value(acme.id, "renewed"), "", NOW)
    again = record_click(session, rep, _value(acme.id, "renewed"), None, NOW)  # double click
    assert first.done
    assert again.done
    assert first.text == "✓ Recorded: Acme <!channel> renewed on 2026-12-02."
    assert again.text == "✓ Already recorded: Acme <!channel> renewed on 2026-12-02."
    assert _rows(session) == [("renewed", date(2026, 12, 2), "card", rep.id)]


def test_another_day_from_the_date_input_and_refusals_of_bad_days(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    acme = customer(session, workspace, "Acme", rep)
    out = record_click(session, rep, _value(acme.id, "defaulted_or_paid_late"), "2026-10-15", NOW)
    assert out.text == "✓ Recorded: Acme defaulted or paid late on 2026-10-15."
    future = record_click(session, rep, _value(acme.id, "churned"), "2027-01-05", NOW)
    assert not future.done
    assert "is in the future" in future.text
    garbled = record_click(session, rep, _value(acme.id, "churned"), "15/10/2026", NOW)
    assert (garbled.done, garbled.text) == (False, "Pick the day it happened (YYYY-MM-DD).")
    assert [r[0] for r in _rows(session)] == ["defaulted_or_paid_late"]


def test_who_may_record(session: Session, workspace: Workspace, rep: Person) -> None:
    boss = person(session, workspace, "U0BOSS", role=Role.MANAGER)
    people_db.set_role(session, rep, Role.REP, boss)
    stranger = person(session, workspace, "U0OTHER")
    other_boss = person(session, workspace, "U0OTHERBOSS", role=Role.MANAGER)
    admin = person(session, workspace, "U0ADMIN", role=Role.ADMIN)
    acme = customer(session, workspace, "Acme", rep)
    for who in (stranger, other_boss):
        out = record_click(session, who, _value(acme.id, "churned"), "", NOW)
        assert not out.done
        assert out.text == (
            "Acme is in Rita Rep's book: only they, their manager or an admin "
            "can record what happened to it."
        )
    assert _rows(session) == []
    assert record_click(session, boss, _value(acme.id, "expanded"), "", NOW).done
    assert record_click(session, admin, _value(acme.id, "referred"), "", NOW).done
    assert [(k, by) for k, _, _, by in _rows(session)] == [
        ("expanded", boss.id),
        ("referred", admin.id),
    ]


@pytest.mark.parametrize(
    "value", ["out|x|renewed", "out|1|renewal", "pick||1", "", "out|1", "out|1|later", "zz" * 400]
)
def test_a_stale_or_garbled_value_is_refused_in_words(
    session: Session, workspace: Workspace, rep: Person, value: str
) -> None:
    customer(session, workspace, "Acme", rep)
    out = record_click(session, rep, value, "", NOW)
    assert not out.done
    assert out.text.startswith("That button is no longer valid")
    assert "Traceback" not in out.text
    assert _rows(session) == []


def test_a_customer_of_another_workspace_or_gone_is_refused(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    other_ws = people_db.get_or_create_workspace(session, "slack", "T0OTHER", "Other")
    theirs = customer(session, other_ws, "Theirs", None)
    for cid in (theirs.id, 987654):
        out = record_click(session, rep, _value(cid, "renewed"), "", NOW)
        assert (out.done, out.text) == (False, "That customer no longer exists.")
    assert _rows(session) == []


def test_the_renewal_question_is_answered_with_the_outcome(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    acme = customer(session, workspace, "Acme", rep)
    d = dl.claim_delivery(
        session,
        workspace_id=workspace.id,
        person_id=rep.id,
        cadence=RENEWAL,
        period=renewals_db.ask_period(acme.id, date(2026, 11, 30)),
        claimer="t",
        now=NOW,
    )
    assert d is not None
    dl.mark_sent(
        session, d, channel=None, thread_ts=None, customers_due=1, next_followup_at=None, now=NOW
    )
    values = [o.value for o in renewal_options(acme.id, d.id)]
    assert values == [
        f"out|{acme.id}|renewed|{d.id}",
        f"out|{acme.id}|expanded|{d.id}",
        f"out|{acme.id}|churned|{d.id}",
        f"out|{acme.id}|later|{d.id}",
    ]
    later = record_click(session, rep, values[3], "", NOW)
    assert later.text == "OK — I'll ask about Acme's renewal again on 2026-12-15."
    row = renewals_db.get_ask(session, d.id)
    assert row is not None
    assert row.status == DeliveryStatus.SENT
    # due at the reminder hour of the day promised, not 14 × 24 h after the 23:30 tap
    # (which the 09:00 sweep of 2026-12-15 would not yet have reached)
    assert NOT_YET_DAYS == 14
    assert row.next_followup_at == datetime(2026, 12, 15, 9, tzinfo=UTC)
    out = record_click(session, rep, values[0], "", NOW)
    assert out.text == "✓ Recorded: Acme renewed on 2026-12-01."
    assert _rows(session) == [("renewed", date(2026, 12, 1), "question", rep.id)]
    row = renewals_db.get_ask(session, d.id)
    assert row is not None
    assert row.status == DeliveryStatus.DONE
    stale = record_click(session, rep, values[3], "", NOW)  # not yet, once answered
    assert (stale.done, stale.text) == (False, "That question about Acme is answered already.")


def test_the_menu_offers_every_kind() -> None:
    menu = outcome_menu(7)
    assert [o.label for o in menu.menu] == [
        "Renewed",
        "Expanded",
        "Churned",
        "Defaulted or paid late",
        "Referred a customer",
        "Exited by us",
    ]
    assert all(o.value.startswith("out|7|") for o in menu.menu)
