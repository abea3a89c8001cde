"""Outcomes recorded in Teams, end to end through Bot Framework activities and the fake
connector: the customer card's "Record outcome" choice set and date (an Action.Execute
invoke), a double tap recorded once, a rep who may not see the customer refused; and the
renewal question asked in the personal chat by a sweep exactly once (a second replica, a
rerun, a failed send retried), answered by a tap, asked again 14 days after "not yet".
One app for the module: each test uses customers of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine
from sqlmodel import select

from bot.config import load_settings
from bot.http import create_asgi
from bot.reminders.sweep import Sweeper
from bot.services import build_services
from bot.teams.notify import TeamsNotifier
from storage import customers as customers_db
from storage import people as people_db
from storage.models import Customer, Outcome, Person, Role, Workspace
from storage.types import utcnow
from tests.conftest import copy_migrated
from tests.fakes.bot_connector import FakeBotConnector, Sent
from tests.fakes.slack_http import ServerThread
from tests.teams.conftest import TEAMS_ENV, USER, Env, Rep, actions, response_card, shown

BOB = "0b0b0b0b-1c1c-4d2d-8e3e-4f4f4f4f4f4f"  # another rep
MIA = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"  # Rita's manager


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory, connector: FakeBotConnector, migrated_sqlite: Path
) -> Iterator[Env]:
    with pytest.MonkeyPatch.context() as mp:
        for var in TEAMS_ENV:
            mp.delenv(var, raising=False)
        tmp = tmp_path_factory.mktemp("teams-outcomes")
        mp.chdir(tmp)
        copy_migrated(migrated_sqlite, tmp / "teams.db")
        settings = load_settings(
            DATABASE_URL=f"sqlite:///{tmp / 'teams.db'}",
            GRADEBOT_LLM_ENABLED=False,
            GRADEBOT_TEAMS_DEV_NO_AUTH=True,
            GRADEBOT_TIMEZONE="UTC",
        )
        sv = build_services(settings, migrate=False)
        server = ServerThread(create_asgi(sv, None)).start()
        e = Env(sv, server, connector, httpx.Client(base_url=server.url, timeout=20))
        connector.reset()
        for user, name in ((USER, "Rita Rep"), (BOB, "Bob"), (MIA, "Mia")):
            e.rep(user, name).say("help")  # each reachable: a conversation reference
        with sv.session() as s:
            people = {p.external_id: p for p in s.exec(select(Person)).all()}
            people_db.set_role(s, people[MIA], Role.MANAGER)
            people_db.set_role(s, people[USER], Role.REP, people[MIA])
        try:
            yield e
        finally:
            e.http.close()
            server.stop()
            sv.db.dispose()


def _customer(env: Env, name: str) -> int:
    with env.sv.session() as s:
        ws = s.exec(select(Workspace)).one()
        rita = s.exec(select(Person).where(Person.external_id == USER)).one()
        return customers_db.create_customer(s, ws.id, name, rita.id).id


def _outcomes(env: Env, cid: int) -> list[tuple[str, date, str, str]]:
    with env.sv.session() as s:
        rows = s.exec(
            select(Outcome, Person)
            .join(Person, Person.id == Outcome.recorded_by_id)
            .where(Outcome.customer_id == cid)
            .order_by(Outcome.id)
        ).all()
        return [(o.kind, o.happened_on, o.source, p.external_id) for o, p in rows]


def _card(rep: Rep, name: str) -> Sent:
    n = len(rep.sent())
    rep.say(f"customer {name}")
    return rep.sent()[n:][-1]


def _record(rep: Rep, card: Sent, choice: str, day: str = "") -> dict[str, Any]:
    """Pick ``choice`` in the card's choice set (and ``day``), tap Record outcome."""
    [button] = [a for a in actions(card.card) if a["data"].get("menu") == "menu_outcome"]
    return rep.invoke(
        {**button["data"], "menu_outcome": choice, "outcome_day": day}, card.activity_id
    )


def test_the_card_records_an_outcome_once_with_who_recorded_it(env: Env) -> None:
    rita = env.rep()
    cid = _customer(env, "Acme <at>everyone</at>")
    card = _card(rita, "Acme <at>everyone</at>")
    [choices] = [n for n in _walk(card.card) if n.get("id") == "menu_outcome"]
    assert [c["title"] for c in choices["choices"]] == [
        "Renewed",
        "Expanded",
        "Churned",
        "Defaulted or paid late",
        "Referred a customer",
        "Exited by us",
    ]
    assert "isRequired" not in choices  # (it would hold Re-grade too until a pick)
    assert any(n.get("type") == "Input.Date" for n in _walk(card.card))
    today = utcnow().date()
    n = len(rita.sent())
    resp = _record(rita, card, f"out|{cid}|renewed")
    said = "✓ Recorded: Acme ‹at›everyone‹/at› renewed on " + today.isoformat() + "."
    assert resp["value"] == said  # the tap's answer: no mention survives
    assert shown(rita.sent()[n:][-1].card) == said  # and posted below the card
    assert _record(rita, card, f"out|{cid}|renewed")["value"].startswith("✓ Already recorded")
    mia = env.rep(MIA, "Mia")
    resp = _record(mia, _card(mia, "Acme <at>everyone</at>"), f"out|{cid}|churned", "2026-10-15")
    assert resp["value"].endswith("churned on 2026-10-15.")
    assert _outcomes(env, cid) == [
        ("renewed", today, "card", USER),
        ("churned", date(2026, 10, 15), "card", MIA),
    ]


def test_a_rep_who_may_not_see_the_customer_is_refused(env: Env) -> None:
    cid = _customer(env, "Globex")
    bob = env.rep(BOB, "Bob")
    assert shown(bob.ask("customer Globex")) == (
        "Globex is in Rita Rep's book: ask them or their manager."
    )
    resp = bob.invoke(
        {"value": "c|help|", "menu": "menu_outcome", "menu_outcome": f"out|{cid}|churned", "k": "l"}
    )
    assert resp["value"] == (
        "Globex is in Rita Rep's book: only they, their manager or an "
        "admin can record what happened to it."
    )
    rita = env.rep()
    card = _card(rita, "Globex")
    resp = _record(rita, card, "")  # Record outcome tapped with nothing picked
    assert resp["value"] == "Pick what happened first, then Record outcome."
    resp = _record(rita, card, f"out|{cid}|churned", "31/12/2026")
    assert resp["value"] == "Pick the day it happened (YYYY-MM-DD)."
    assert _outcomes(env, cid) == []


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    from tests.teams.conftest import walk

    return walk(node)


def _questions(rep: Rep) -> list[Sent]:
    return [x for x in rep.sent() if x.cards and "Did Initech renew?" in shown(x.card)]


def test_the_renewal_question_once_retried_answered_and_asked_again(env: Env) -> None:
    rita = env.rep()
    cid = _customer(env, "Initech")

    def sweep(claimer: str, at: datetime) -> Any:
        """One sweep as replica ``claimer`` (a notifier per event loop: its HTTP client is
        bound to the loop that made it)."""
        notifier = TeamsNotifier.from_settings(env.sv.settings, env.sv.db)
        return asyncio.run(Sweeper(env.sv.db, [notifier], claimer=claimer).sweep(at))

    start = datetime.combine(utcnow().date(), datetime.min.time(), UTC) + timedelta(hours=10)
    with time_machine.travel(start - timedelta(minutes=1), tick=True):  # Rita's reminders
        sweep("a", start - timedelta(minutes=1))
    renewal = utcnow().date() - timedelta(days=2)
    with env.sv.session() as s:
        c = s.get(Customer, cid)
        assert c is not None
        c.renewal_on = renewal
        s.add(c)
        s.commit()
    env.connector.fail_next(500)  # (the Teams notifier does not retry within a sweep)
    with time_machine.travel(start, tick=True):
        assert sweep("a", start).errors
    assert _questions(rita) == []
    with time_machine.travel(start + timedelta(minutes=5), tick=True):
        for replica in "aba":  # the retry, a second replica, a rerun
            sweep(replica, start + timedelta(minutes=5))
    [asked] = _questions(rita)
    assert f"Its renewal date was {renewal}" in shown(asked.card)
    titles = [a["title"] for a in actions(asked.card)]
    assert titles == ["Renewed", "Expanded", "Churned", "Not yet (ask in 14 days)"]
    later = rita.click(asked, actions(asked.card)[3]["data"]["value"])
    again_on = utcnow().date() + timedelta(days=14)
    assert shown(response_card(later)) == (
        f"OK — I'll ask about Initech's renewal again on {again_on}."
    )  # the buttons go
    with time_machine.travel(start + timedelta(days=13), tick=True):
        sweep("a", start + timedelta(days=13))
    assert len(_questions(rita)) == 1
    with time_machine.travel(start + timedelta(days=14, hours=1), tick=True):
        sweep("a", start + timedelta(days=14, hours=1))
        sweep("b", start + timedelta(days=14, hours=1))
        [_, again] = _questions(rita)
        done = rita.click(again, actions(again.card)[0]["data"]["value"])
        answered_on = utcnow().date()
    assert shown(response_card(done)) == f"✓ Recorded: Initech renewed on {answered_on}."
    assert _outcomes(env, cid) == [("renewed", answered_on, "question", USER)]
    with time_machine.travel(start + timedelta(days=40), tick=True):
        sweep("a", start + timedelta(days=40))
    assert len(_questions(rita)) == 2
