"""The override notices (a week before an override ends, and once it has ended) through the
reminder delivery state machine, on SQLite and PostgreSQL, against the fake Slack Web API:
a send Slack refuses is retried by the next sweep and never sent twice; two sweeps racing
tell each person once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.reminders.sweep import Sweeper
from bot.slack.notify import SlackNotifier
from storage import overrides as overrides_db
from storage.engine import session_scope
from storage.models import Customer, DeliveryStatus, Person, ReminderDelivery, Role
from tests.fakes.slack_api import FakeSlackAPI
from tests.reminders.conftest import World, fast_client, utc

SET = utc(2027, 3, 1, 9)
ENDS = SET + timedelta(days=10)
WARN = SET + timedelta(days=4)  # within a week of the end
AFTER = ENDS + timedelta(hours=1)


@pytest.fixture
def slack(api: FakeSlackAPI, engine: Engine) -> SlackNotifier:
    return SlackNotifier(fast_client(api.base_url), db=engine)


@pytest.fixture
def override(engine: Engine) -> int:
    """Rita's Acme, overridden by her manager Mia until ``ENDS``."""
    w = World(engine)
    mia = w.person("Mia", uid="U200", role=Role.MANAGER)
    rita = w.person("Rita", uid="U100", manager_id=mia)
    acme = w.customer("Acme", rita, "C", SET - timedelta(days=30))
    with session_scope(engine) as s:
        o = overrides_db.set_override(
            s,
            s.get(Customer, acme),
            s.get(Person, mia),
            letter="A",  # type: ignore[arg-type]
            recommendation=None,
            reason="Board seat",
            expires_at=ENDS,
            now=SET,
        )
        return o.id


def told(api: FakeSlackAPI, words: str) -> list[str]:
    """The channels Slack accepted a post saying ``words`` in (one per DM)."""
    return sorted(
        c.args["channel"]
        for c in api.ok("chat.postMessage")
        if words in str(c.args.get("text", "")) + str(c.args.get("blocks", ""))
    )


def rows(engine: Engine) -> list[tuple[str, str, int]]:
    with session_scope(engine) as s:
        return sorted(
            (d.cadence, d.status, d.attempts) for d in s.exec(select(ReminderDelivery)).all()
        )


async def test_a_refused_notice_is_retried_next_sweep_and_sent_once(
    engine: Engine, api: FakeSlackAPI, slack: SlackNotifier, override: int
) -> None:
    # 4 answers of 500: the SDK's 3 retries of one post all fail, so one notice fails
    api.fail("chat.postMessage", 500, times=4)
    r1 = await Sweeper(engine, [slack]).sweep(WARN)
    assert (r1.alerts, r1.failed_attempts) == (1, 1), r1
    assert len(told(api, "The override on Acme ends on 2027-03-11")) == 1
    assert rows(engine) == [
        ("override-warn", DeliveryStatus.CLAIMED, 1),
        ("override-warn", DeliveryStatus.DONE, 1),
    ]
    r2 = await Sweeper(engine, [slack]).sweep(WARN + timedelta(minutes=5))
    assert (r2.alerts, r2.failed_attempts, r2.errors) == (1, 0, []), r2
    r3 = await Sweeper(engine, [slack]).sweep(WARN + timedelta(days=1))
    assert r3.alerts == 0, r3
    warned = told(api, "The override on Acme ends on 2027-03-11")
    assert len(warned) == 2  # the setter and the owner
    assert len(set(warned)) == 2  # each once
    assert rows(engine) == [
        ("override-warn", DeliveryStatus.DONE, 1),
        ("override-warn", DeliveryStatus.DONE, 2),
    ]
    # the end: the override is marked expired and both are told, again retried once refused
    api.fail("chat.postMessage", 500, times=4)
    r4 = await Sweeper(engine, [slack]).sweep(AFTER)
    assert (r4.alerts, r4.failed_attempts) == (1, 1), r4
    with session_scope(engine) as s:
        assert s.get(overrides_db.GradeOverride, override).end_reason == "expired"  # type: ignore[union-attr]
    await Sweeper(engine, [slack]).sweep(AFTER + timedelta(minutes=5))
    await Sweeper(engine, [slack]).sweep(AFTER + timedelta(days=2))
    ended = told(api, "The override on Acme ended on 2027-03-11")
    assert len(ended) == len(set(ended)) == 2
    assert len(told(api, "ends on")) == 2  # no week-before notice after the end


async def test_a_notice_given_up_after_its_last_attempt(
    engine: Engine, api: FakeSlackAPI, slack: SlackNotifier, override: int
) -> None:
    api.fail("chat.postMessage", 500, times=4 * 2 * 2)  # every post of both, two sweeps
    for i in range(2):
        await Sweeper(engine, [slack], max_attempts=2).sweep(WARN + timedelta(minutes=10 * i))
    assert told(api, "ends on") == []
    assert rows(engine) == [("override-warn", DeliveryStatus.FAILED, 2)] * 2
    r = await Sweeper(engine, [slack], max_attempts=2).sweep(WARN + timedelta(hours=2))
    assert (r.alerts, r.failed_attempts, r.errors) == (0, 0, [])  # not planned again


async def test_two_sweeps_racing_tell_each_person_once(
    engine: Engine, api: FakeSlackAPI, slack: SlackNotifier, override: int
) -> None:
    a = Sweeper(engine, [slack], claimer="replica-a")
    b = Sweeper(engine, [slack], claimer="replica-b")
    reports = await asyncio.gather(a.sweep(WARN), b.sweep(WARN))
    assert sum(r.alerts for r in reports) == 2, reports
    reports = await asyncio.gather(a.sweep(AFTER), b.sweep(AFTER))
    assert sum(r.alerts for r in reports) == 2, reports
    assert len(told(api, "ends on")) == len(set(told(api, "ends on"))) == 2
    assert len(told(api, "ended on")) == len(set(told(api, "ended on"))) == 2
    with session_scope(engine) as s:
        (o,) = s.exec(select(overrides_db.GradeOverride)).all()
        assert (o.end_reason, o.ended_at) == ("expired", ENDS)


def test_a_reminder_line_shows_the_override_with_the_models_letter_beside_it() -> None:
    from bot import display
    from bot.reminders import messages
    from scoring.opinions import OverrideTerms
    from storage.grades import DueCustomer

    due = [DueCustomer(1, "Acme", 7, "C", SET), DueCustomer(2, "Beta", 7, "B", SET)]
    terms = {1: OverrideTerms("A", None, "Board seat", "Mia", ENDS)}
    msg = messages.reminder(9, "quarterly", "2027-Q1", due, now=WARN, overrides=terms)
    assert [display.due_line(it) for it in msg.items] == [
        "Acme · A · overridden: A (model: C) · last graded 2027-03-01",
        "Beta · B · last graded 2027-03-01",
    ]
