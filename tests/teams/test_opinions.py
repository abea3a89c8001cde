"""Second opinions and overrides end to end through Bot Framework activities and the fake
connector: asked with a Teams @mention, given blind in the assignee's personal chat, the
disagreement flagged on the card and in the digest; an override with a reason and an end,
shown beside the model's grade, its owners told a week before, ended by the clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import time_machine
from sqlmodel import select

from bot.reminders.sweep import Sweeper
from bot.teams.notify import TeamsNotifier
from storage import people as people_db
from storage.models import Grade, Person, Role, Workspace
from storage.types import utcnow
from tests.teams.conftest import (
    USER,
    Env,
    Rep,
    actions,
    activity,
    response_card,
    shown,
    values,
)
from tests.teams.test_lookups_and_reminders import STRONG, seed

DANA = "0d1e2f3a-4b5c-4d6e-8f70-81a2b3c4d5e6"
MIA = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
DIGEST = "19:digest@thread.tacv2"


def _team(env: Env) -> tuple[Rep, Rep, Rep]:
    """Rita (rep, owns Acme, graded strong), Dana (finance), Mia (Rita's manager); each has
    written to the bot once, so it can reach them."""
    seed(env, "Acme", STRONG)
    rita, dana, mia = env.rep(), env.rep(DANA, "Dana"), env.rep(MIA, "Mia")
    for r in (rita, dana, mia):
        r.say("help")
    with env.sv.session() as s:
        people = {p.external_id: p for p in s.exec(select(Person)).all()}
        people_db.set_role(s, people[MIA], Role.MANAGER)
        people_db.set_role(s, people[USER], Role.REP, people[MIA])
    return rita, dana, mia


def _cards(rep: Rep, since: int = 0) -> str:
    return "\n".join(shown(s.card) for s in rep.sent()[since:] if s.cards)


def test_second_opinion_by_mention_blind_and_flagged(env: Env) -> None:
    rita, dana, mia = _team(env)
    with env.sv.session() as s:
        record = s.exec(select(Grade)).one()
    n_dana = len(dana.sent())
    body = activity(
        "message",
        env.connector.url,
        text="grade Acme second-opinion <at>Dana</at>",
        textFormat="plain",
        entities=[
            {
                "type": "mention",
                "text": "<at>Dana</at>",
                "mentioned": {"id": f"29:1{DANA}", "name": "Dana", "aadObjectId": DANA},
            }
        ],
    )
    assert env.post(body).status_code == 200
    assert "Asked Dana for a second opinion on Acme" in shown(rita.sent()[-1].card)
    first = _cards(dana, n_dana)
    assert "Rita Rep asks for your second opinion on Acme" in first
    assert "blind" in first
    assert f"{record.total:g}" not in first
    for _ in range(6):
        q = dana.latest("a|")
        dana.click(q, values(q.card, "a|")[0])
    seen = _cards(dana, n_dana)
    assert "The grade of record, by" not in seen
    assert f"{record.total:g}/100" not in seen
    dana.say("save")
    if "Save an incomplete grade?" in shown(dana.sent()[-1].card):
        dana.say("save")
    saved = _cards(dana, n_dana)
    assert "Saved your second opinion on Acme" in saved
    assert f"The grade of record, by Rita Rep: A ({record.total:g}/100)" in saved
    assert "You disagree" in saved
    assert "Dana gave a second opinion on Acme" in _cards(rita)
    card = shown(rita.ask("customer Acme"))
    assert "⚠️ Second opinions disagree with the grade of record." in card
    assert "Second opinion by Dana" in card
    # named as the worksheet names them, as in the notices ("value" is a stored id)
    assert "Good for you 100 points apart (100 vs 0)" in card
    # the digest, sent by the sweep at the next quarter
    with env.sv.session() as s:
        people_db.update_workspace_settings(
            s, s.exec(select(Workspace)).one(), digest_channel=DIGEST
        )
    from tests.slack.test_opinions import _next_quarter

    notifier = TeamsNotifier.from_settings(env.sv.settings, env.sv.db)
    sweeper = Sweeper(env.sv.db, [notifier], dimension_names=env.sv.dimension_names)
    report = asyncio.run(sweeper.sweep(_next_quarter(utcnow())))
    assert report.digests == 1, report
    (digest,) = [x for x in env.connector.all() if x.conversation == DIGEST]
    assert "Open disagreements (second opinions):" in shown(digest.card)
    assert "by Dana" in shown(digest.card)
    assert "Good for you 100 points apart" in shown(digest.card)  # not "value 100 …"
    # the optimism view: the manager's only
    assert "Rita Rep — 1 second opinion, +" in shown(mia.ask("portfolio optimism"))
    assert shown(rita.ask("portfolio optimism")) == (
        "The optimism view is for managers and admins."
    )


def test_override_beside_the_model_warned_and_expired(env: Env) -> None:
    rita, _dana, mia = _team(env)
    assert "never overrule their own customers" in shown(
        rita.ask("customer Acme override D for 30 days because no")
    )
    set_ = shown(
        mia.ask(
            "customer Acme override B maintain for 10 days because Strategic "
            "logo for the 2027 launch"
        )
    )
    assert "Overridden: letter B and recommendation maintain — by Mia until" in set_
    assert "Model's grade: A, invest more" in set_
    assert "Mia overrode Acme's grade." in _cards(rita)
    card = shown(rita.ask("customer Acme"))
    assert "Overridden: letter B and recommendation maintain — by Mia" in card
    assert "Model's grade: A, invest more" in card
    notifier = TeamsNotifier.from_settings(env.sv.settings, env.sv.db)
    start = utcnow()
    with time_machine.travel(start + timedelta(days=4), tick=False):
        assert asyncio.run(Sweeper(env.sv.db, [notifier]).sweep()).errors == []
    assert "The override on Acme ends on" in _cards(rita)
    assert "The override on Acme ends on" in _cards(mia)
    with time_machine.travel(start + timedelta(days=11), tick=True):
        assert "Overridden" not in shown(rita.ask("customer Acme"))
        asyncio.run(Sweeper(env.sv.db, [notifier]).sweep())
        history = shown(mia.ask("customer Acme overrides"))
    assert "Strategic logo for the 2027 launch" in history
    assert "(expired)" in history
    assert "The override on Acme ended on" in _cards(rita)


def test_override_through_the_card_form(env: Env) -> None:
    rita, _dana, mia = _team(env)
    assert "Override…" not in str(rita.ask("customer Acme"))  # the owner has no button
    card = mia.ask("customer Acme")
    (value,) = values(card, "ovr|")
    opened = response_card(mia.click(mia.sent()[-1], value))
    assert "Override the grade of Acme" in shown(opened)
    (save,) = [a for a in actions(opened) if a["data"]["value"].startswith("ovrsave|")]
    until = (utcnow() + timedelta(days=45)).date().isoformat()
    inputs = {"ovr_letter": "", "ovr_recommendation": "exit", "ovr_until": until, "ovr_reason": ""}
    again = response_card(mia.invoke({**save["data"], **inputs}))
    assert "⚠️ A reason is required." in shown(again)
    done = response_card(
        mia.invoke({**save["data"], **inputs, "ovr_reason": "Fraud investigation"})
    )
    assert f"Overridden: recommendation exit — by Mia until {until}" in shown(done)
    assert "Mia overrode Acme's grade." in _cards(rita)
    assert "Overridden: recommendation exit" in shown(rita.ask("customer Acme"))
    forged = rita.invoke({**save["data"], **inputs, "ovr_reason": "mine"})
    assert "never overrule their own customers" in str(forged)


def test_change_on_a_saved_second_opinions_card_keeps_the_card(env: Env) -> None:
    """Answered cards keep Change; once the opinion is saved a tap on one says so and leaves
    the card as it is (it was replaced by "This grading is saved…", question and answer gone)."""
    rita, dana, _ = _team(env)
    rita.say("grade Acme second-opinion Dana")
    q1 = dana.latest("a|")
    answered = response_card(dana.click(q1, values(q1.card, "a|")[0]))
    [change] = [a for a in actions(answered) if a["data"]["value"].startswith("c|change|")]
    for _ in range(5):
        q = dana.latest("a|")
        dana.click(q, values(q.card, "a|")[0])
    dana.say("save")
    if "Saved your second opinion on Acme" not in _cards(dana):
        dana.say("save")  # part of the sheet answered: it asks once
    assert "Saved your second opinion on Acme" in _cards(dana)
    resp = dana.invoke(change["data"], q1.activity_id)
    assert resp["type"] == "application/vnd.microsoft.activity.message", resp
    assert "This grading is saved" in resp["value"]


def _mention(env: Env, text: str) -> dict:
    return activity(
        "message",
        env.connector.url,
        text=text,
        textFormat="plain",
        entities=[
            {
                "type": "mention",
                "text": "<at>Dana</at>",
                "mentioned": {"id": f"29:1{DANA}", "name": "Dana", "aadObjectId": DANA},
            }
        ],
    )


def test_a_request_withdrawn_by_mention_mid_worksheet(env: Env) -> None:
    rita, dana, _mia = _team(env)
    n_dana = len(dana.sent())
    assert env.post(_mention(env, "grade Acme second-opinion <at>Dana</at>")).status_code == 200
    q = dana.latest("a|")
    dana.click(q, values(q.card, "a|")[0])  # she has started
    old = dana.latest("a|")
    body = _mention(env, "grade Acme second-opinion cancel <at>Dana</at>")
    assert env.post(body).status_code == 200
    assert "Withdrew the request for Dana's second opinion on Acme; they are told." in shown(
        rita.sent()[-1].card)
    told = _cards(dana, n_dana)
    assert "Rita Rep withdrew the request for your second opinion on Acme" in told
    assert "Your answers so far were discarded." in told
    line = "Rita Rep withdrew this request for a second opinion on Acme"
    n = len(dana.sent())
    tapped = dana.click(old, values(old.card, "a|")[0])  # the question card left in her chat
    assert line in str(tapped) + _cards(dana, n)
    # (typed text in Teams goes to the grading open now: there is none, so it is help)
