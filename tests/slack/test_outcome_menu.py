"""Outcomes recorded in Slack, end to end through signed requests and the fake Web API: the
"Record outcome" select on the /customer card (today, or the datepicker's day), a double
click recorded once, a rep who may not see the customer refused, a garbled value refused;
and the renewal question "Did Acme renew?" asked by a sweep exactly once (two replicas, a
rerun), retried after a failed send, answered by a tap, and asked again 14 days after "not
yet". One app for the module: each test uses customers of its own."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlmodel import select

from bot.config import load_settings
from bot.http import create_asgi
from bot.reminders.sweep import Sweeper
from bot.services import Services, build_services
from bot.slack.app import build_slack_app
from bot.slack.notify import SlackNotifier
from storage import customers as customers_db
from storage import people as people_db
from storage.models import Customer, Outcome, Person, Role, Workspace
from storage.types import utcnow
from tests.conftest import copy_migrated
from tests.fakes.blocks import blocks_of, buttons, texts
from tests.fakes.slack_api import Call, FakeSlackAPI
from tests.fakes.slack_http import SECRET, TEAM, ServerThread
from tests.reminders.conftest import fast_client
from tests.slack.blockkit import check_payload
from tests.slack.conftest import RecordingSender, Rep, settle, shown, wait_until

UMA, BOB, MIA = "U1", "U2", "U3"  # Uma owns the customers; Bob is another rep; Mia, her boss


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlackAPI, migrated_sqlite: Any
) -> Iterator[tuple[Services, RecordingSender, FakeSlackAPI]]:
    with pytest.MonkeyPatch.context() as mp:
        for var in (
            "SLACK_CLIENT_ID",
            "SLACK_CLIENT_SECRET",
            "SLACK_APP_TOKEN",
            "OPENAI_API_KEY",
            "OPENAI_BASE_URL",
            "GRADEBOT_LLM_MODEL",
        ):
            mp.delenv(var, raising=False)
        db = tmp_path_factory.mktemp("outcomes") / "slack.db"
        copy_migrated(migrated_sqlite, db)
        settings = load_settings(
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake_slack.base_url,
            DATABASE_URL=f"sqlite:///{db}",
            GRADEBOT_TIMEZONE="UTC",
        )
        sv = build_services(settings, migrate=False)
        server = ServerThread(create_asgi(sv, build_slack_app(sv))).start()
        sender = RecordingSender(server.url, fake_slack.response_url())
        fake_slack.reset()
        for uid, name in ((UMA, "Uma"), (BOB, "Bob"), (MIA, "Mia")):
            fake_slack.users[uid] = {
                "id": uid,
                "name": name.lower(),
                "tz": "UTC",
                "real_name": name,
                "profile": {"display_name": name},
            }
            sv.actor("slack", TEAM, uid, name)
        with sv.session() as s:
            people = {p.external_id: p for p in s.exec(select(Person)).all()}
            people_db.set_role(s, people[MIA], Role.MANAGER)
            people_db.set_role(s, people[UMA], Role.REP, people[MIA])
        try:
            yield sv, sender, fake_slack
        finally:
            sender.close()
            server.stop()
            sv.db.dispose()


@pytest.fixture
def api(env: tuple[Services, RecordingSender, FakeSlackAPI]) -> Iterator[FakeSlackAPI]:
    """The fake Web API, emptied before each test; what the app sent checked after it."""
    fake = env[2]
    fake.reset()
    users = dict(fake.users)
    yield fake
    settle(fake, timeout=5)
    problems = [f"{c.method}: {p}" for c in fake.calls for p in check_payload(c.method, c.args)]
    fake.users.update(users)
    assert not problems, "\n".join(problems)


def _customer(sv: Services, name: str) -> int:
    with sv.session() as s:
        ws = s.exec(select(Workspace)).one()
        uma = s.exec(select(Person).where(Person.external_id == UMA)).one()
        return customers_db.create_customer(s, ws.id, name, uma.id).id


def _renews(sv: Services, cid: int, on: date) -> None:
    with sv.session() as s:
        c = s.get(Customer, cid)
        assert c is not None
        c.renewal_on = on
        s.add(c)
        s.commit()


def _outcomes(sv: Services, cid: int) -> list[tuple[str, date, str, str]]:
    with sv.session() as s:
        rows = s.exec(
            select(Outcome, Person)
            .join(Person, Person.id == Outcome.recorded_by_id)
            .where(Outcome.customer_id == cid)
            .order_by(Outcome.id)
        ).all()
        return [(o.kind, o.happened_on, o.source, p.external_id) for o, p in rows]


def _card(rep: Rep, name: str) -> dict[str, Any]:
    n = len(rep.responses())
    rep.command("/customer", name)
    return wait_until(lambda: rep.responses()[n:], what="the card")[0].args


def _outcome_select(card: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The card's "Record outcome" select: its block id and the element."""
    for b in card["blocks"]:
        for e in b.get("elements") or []:
            if e.get("type") == "static_select" and e["action_id"].startswith("outcome"):
                return b["block_id"], e
    raise AssertionError(f"no outcome select on {texts(card['blocks'])}")


def _pick(rep: Rep, block_id: str, option: dict[str, Any], day: str | None = None) -> str:
    """Choose ``option`` in the card's select (ephemeral), with the datepicker's state as
    Slack sends it; the text of the answer."""
    state: dict[str, Any] = {
        block_id: {"outcome:0": {"type": "static_select", "selected_option": option}}
    }
    if day is not None:
        state[block_id]["outcomeday"] = {"type": "datepicker", "selected_date": day}
    n = len(rep.responses())
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "test"},
        "user": {"id": rep.user, "name": rep.user.lower(), "team_id": TEAM},
        "api_app_id": "A1",
        "trigger_id": "trig.x",
        "response_url": rep.slack.response_url,
        "container": {
            "type": "message",
            "message_ts": "",
            "channel_id": "C1",
            "is_ephemeral": True,
        },
        "channel": {"id": "C1"},
        "state": {"values": state},
        "actions": [
            {
                "action_id": "outcome:0",
                "block_id": block_id,
                "type": "static_select",
                "selected_option": option,
                "action_ts": "1.0",
            }
        ],
    }
    assert rep.slack.interact(payload).status_code == 200
    answer = wait_until(lambda: rep.responses()[n:], what="the outcome's answer")[0]
    assert answer.args["replace_original"] is False  # the card stays
    return texts(answer.args["blocks"])


def test_the_card_menu_records_an_outcome_once_with_who_recorded_it(env, api) -> None:
    sv, sender, _ = env
    uma = Rep(sv, sender, api, UMA)
    cid = _customer(sv, "Acme <!channel>")
    card = _card(uma, "Acme <!channel>")
    block_id, select_ = _outcome_select(card)
    assert [o["text"]["text"] for o in select_["options"]] == [
        "Renewed",
        "Expanded",
        "Churned",
        "Defaulted or paid late",
        "Referred a customer",
        "Exited by us",
    ]
    renewed = select_["options"][0]
    today = utcnow().date()
    said = _pick(uma, block_id, renewed)
    assert said == f"✓ Recorded: Acme <!channel> renewed on {today}."
    assert "&lt;!channel&gt;" in json.dumps(api.of("response_url")[-1].args)  # pings no one
    assert _pick(uma, block_id, renewed) == (  # a double click
        f"✓ Already recorded: Acme <!channel> renewed on {today}."
    )
    # another day, from the datepicker beside the menu; the manager may record too
    mia = Rep(sv, sender, api, MIA)
    assert _pick(mia, block_id, select_["options"][3], day="2026-10-15") == (
        "✓ Recorded: Acme <!channel> defaulted or paid late on 2026-10-15."
    )
    assert _outcomes(sv, cid) == [
        ("renewed", today, "card", UMA),
        ("defaulted_or_paid_late", date(2026, 10, 15), "card", MIA),
    ]


def test_a_rep_who_may_not_see_the_customer_is_refused(env, api) -> None:
    sv, sender, _ = env
    cid = _customer(sv, "Globex")
    bob = Rep(sv, sender, api, BOB)
    assert texts(_card(bob, "Globex")["blocks"]) == (
        "Globex is in Uma's book: ask them or their manager."
    )
    forged = {"text": {"type": "plain_text", "text": "Churned"}, "value": f"out|{cid}|churned"}
    assert _pick(bob, "b", forged) == (
        "Globex is in Uma's book: only they, their manager or an admin can record what "
        "happened to it."
    )
    garbled = {"text": {"type": "plain_text", "text": "x"}, "value": f"out|{cid}|renewed|x"}
    uma = Rep(sv, sender, api, UMA)
    r = uma.slack.select(garbled, "outcome:0", user=UMA)
    assert r.status_code == 200
    settle(api)
    said = [shown(c) for c in api.calls if c.method in ("chat.postMessage", "response_url")]
    assert any("That button is no longer valid" in x for x in said), said
    assert _outcomes(sv, cid) == []


def _questions(api: FakeSlackAPI) -> list[Call]:
    return [
        c
        for c in api.of("chat.postMessage")
        if c.result is not None and "Did Initech renew?" in shown(c)
    ]


def test_the_renewal_question_once_retried_answered_and_asked_again(env, api) -> None:
    sv, sender, _ = env
    renewal = utcnow().date() - timedelta(days=3)
    cid = _customer(sv, "Initech")
    notifier = SlackNotifier(fast_client(api.base_url), db=sv.db)
    one, two = Sweeper(sv.db, [notifier], claimer="a"), Sweeper(sv.db, [notifier], claimer="b")
    start = datetime.combine(utcnow().date(), datetime.min.time(), UTC) + timedelta(hours=10)
    with time_machine.travel(start - timedelta(minutes=1), tick=True):  # Uma's reminders
        asyncio.run(one.sweep(start - timedelta(minutes=1)))
    _renews(sv, cid, renewal)
    # the first send fails: nothing is lost, the next sweep asks
    api.fail("chat.postMessage", 500, times=4)
    with time_machine.travel(start, tick=True):
        first = asyncio.run(one.sweep(start))
    assert first.errors
    assert _questions(api) == []
    with time_machine.travel(start + timedelta(minutes=5), tick=True):
        asyncio.run(one.sweep(start + timedelta(minutes=5)))
        asyncio.run(two.sweep(start + timedelta(minutes=5)))  # a second replica
        asyncio.run(one.sweep(start + timedelta(minutes=10)))  # a rerun
    [asked] = _questions(api)
    assert asked.args["channel"] == "D1"  # Uma's DM
    assert f"Its renewal date was {renewal}" in shown(asked)
    values = [b["value"] for b in buttons(blocks_of(asked.args))]
    assert [b["text"]["text"] for b in buttons(blocks_of(asked.args))] == [
        "Renewed",
        "Expanded",
        "Churned",
        "Not yet (ask in 14 days)",
    ]
    uma = Rep(sv, sender, api, UMA)
    n = len(uma.responses())
    uma.click(asked, values[3])  # not yet
    later = wait_until(lambda: uma.responses()[n:], what="not yet")[0].args
    assert later["replace_original"] is True  # the question's buttons go
    again_on = utcnow().date() + timedelta(days=14)
    assert texts(later["blocks"]) == (f"OK — I'll ask about Initech's renewal again on {again_on}.")
    with time_machine.travel(start + timedelta(days=13), tick=True):
        asyncio.run(one.sweep(start + timedelta(days=13)))
    assert len(_questions(api)) == 1
    with time_machine.travel(start + timedelta(days=14, hours=1), tick=True):
        asyncio.run(one.sweep(start + timedelta(days=14, hours=1)))
        asyncio.run(two.sweep(start + timedelta(days=14, hours=1)))
        [_, asked_again] = _questions(api)
        n = len(uma.responses())
        uma.click(asked_again, next(b["value"] for b in buttons(blocks_of(asked_again.args))))
        done = wait_until(lambda: uma.responses()[n:], what="renewed")[0].args
        answered_on = utcnow().date()
    assert texts(done["blocks"]) == f"✓ Recorded: Initech renewed on {answered_on}."
    assert _outcomes(sv, cid) == [("renewed", answered_on, "question", UMA)]
    with time_machine.travel(start + timedelta(days=40), tick=True):
        asyncio.run(one.sweep(start + timedelta(days=40)))
    assert len(_questions(api)) == 2  # answered: never asked again
    with sv.session() as s:
        assert s.get(Customer, cid) is not None
