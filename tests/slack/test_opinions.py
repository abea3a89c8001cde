"""Second opinions and overrides end to end through signed Slack requests and the fake Web
API: asked with a mention, given blind in the assignee's DM, the disagreement flagged on the
card and in the manager's digest; an override set by a manager with a reason and an end
date, shown beside the model's grade, its owners told a week before, ended by the clock."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import time_machine
from sqlmodel import select

from bot.reminders.sweep import Sweeper
from bot.slack.notify import SlackNotifier
from storage import people as people_db
from storage.models import Customer, Grade, Person, Role, Workspace
from storage.opinions import OpinionGrade, SecondOpinion
from storage.overrides import GradeOverride
from storage.types import utcnow
from tests.reminders.conftest import fast_client
from tests.slack.conftest import (
    STRONG,
    WEAK,
    Env,
    Rep,
    blocks_of,
    buttons,
    seed_grade,
    settle,
    shown,
    texts,
    wait_until,
)


def _team(env: Env) -> tuple[Rep, Rep, Rep]:
    """U1 Uma (rep, owns Acme, graded strong), U2 Dana (finance), U3 Mia (Uma's manager)."""
    for uid, name in (("U1", "Uma"), ("U2", "Dana"), ("U3", "Mia")):
        env.api.users[uid] = {
            "id": uid,
            "name": name.lower(),
            "tz": "UTC",
            "real_name": name,
            "profile": {"display_name": name},
        }
        env.sv.actor("slack", "T1", uid, name)
    with env.sv.session() as s:
        people = {p.external_id: p for p in s.exec(select(Person)).all()}
        people_db.set_role(s, people["U3"], Role.MANAGER)
        people_db.set_role(s, people["U1"], Role.REP, people["U3"])
    seed_grade(env.sv, "U1", "Acme", STRONG)
    return (
        Rep(env.sv, env.sender, env.api, "U1"),
        Rep(env.sv, env.sender, env.api, "U2"),
        Rep(env.sv, env.sender, env.api, "U3"),
    )


def _next_quarter(now: datetime) -> datetime:
    """10:00 UTC on the first business day of the quarter after ``now``: when the digest of
    the quarter the test graded in is sent."""
    from bot.reminders.plan import first_business_day

    month = (now.month - 1) // 3 * 3 + 4
    year = now.year + (month > 12)
    d = first_business_day(year, (month - 1) % 12 + 1)
    return datetime(d.year, d.month, d.day, 10, tzinfo=UTC)


def _answer(rep: Rep, n: int) -> dict:
    return wait_until(lambda: rep.responses()[n:], what="a response_url answer")[0].args


def _dm_text(rep: Rep) -> str:
    return "\n".join(shown(c) for c in rep.messages())


def test_second_opinion_asked_given_blind_and_flagged(make_env) -> None:
    env = make_env(GRADEBOT_TIMEZONE="UTC")
    uma, dana, mia = _team(env)
    with env.sv.session() as s:
        record = s.exec(select(Grade)).one()
    n = len(uma.responses())
    uma.command("/grade", "Acme second-opinion <@U2|dana>")
    told = _answer(uma, n)
    assert "Asked Dana for a second opinion on Acme" in texts(told["blocks"])
    # Dana's DM: a thread of its own, the whole annual sheet, and nothing of Uma's grade
    parent = wait_until(
        lambda: [c for c in dana.posts() if "thread_ts" not in c.args], what="Dana's thread"
    )[0]
    assert "Second opinion on Acme (annual)" in shown(parent)
    assert "Uma asks for your second opinion on Acme" in shown(parent)
    dana.thread = dana.ts_of(parent)
    dana.question()
    for _ in range(6):
        values = [
            b["value"]
            for b in buttons(blocks_of(dana.question().args))
            if b["value"].startswith("a|")
        ]
        assert values
        dana.answer(0)  # the lowest answer each time
    before_save = _dm_text(dana)
    assert f"{record.total:g}" not in before_save
    assert "grade of record" not in before_save
    assert "Uma" in before_save
    assert " A " not in before_save
    dana.say("save")
    settle(env.api)
    if "Save an incomplete grade?" in _dm_text(dana):
        dana.say("save")
    saved = wait_until(
        lambda: [c for c in dana.messages(dana.thread) if "Saved your second opinion" in shown(c)],
        what="saved",
    )
    assert f"The grade of record, by Uma: A ({record.total:g}/100)" in shown(saved[-1])
    assert "You disagree: letters differ (A vs" in shown(saved[-1])
    note = wait_until(
        lambda: [c for c in uma.posts() if "gave a second opinion" in shown(c)], what="Uma told"
    )
    assert "Dana gave a second opinion on Acme" in shown(note[0])
    with env.sv.session() as s:
        acme = s.exec(select(Customer).where(Customer.name == "Acme")).one()
        assert acme.latest_grade_id == record.id  # the grade of record stays Uma's
        assert len(s.exec(select(OpinionGrade)).all()) == 1
    # the card: the other grade beside the grade of record, and the flag
    n = len(uma.responses())
    uma.command("/customer", "Acme")
    card = texts(_answer(uma, n)["blocks"])
    assert "⚠️ Second opinions disagree with the grade of record." in card
    assert "Second opinion by Dana" in card
    assert "disagrees: letters differ" in card
    assert f"A · {record.total:g}/100" in card
    # the manager's digest lists it
    with env.sv.session() as s:
        ws = s.exec(select(Workspace)).one()
        people_db.update_workspace_settings(s, ws, digest_channel="CDIGEST")
    notifier = SlackNotifier(fast_client(env.api.base_url), db=env.sv.db)
    report = asyncio.run(Sweeper(env.sv.db, [notifier]).sweep(_next_quarter(utcnow())))
    digest = wait_until(
        lambda: [c for c in env.api.of("chat.postMessage") if c.args.get("channel") == "CDIGEST"],
        what="the digest",
    )
    body = shown(digest[0])
    assert report.digests == 1, report
    assert "Open disagreements (second opinions):" in body
    assert "• Acme: A" in body
    assert "(owner Uma) vs" in body
    assert "by Dana" in body
    # Mia's optimism view: Uma grades higher than the second opinion
    n = len(mia.responses())
    mia.command("/portfolio", "optimism")
    view = texts(_answer(mia, n)["blocks"])
    assert "Uma — 1 second opinion, +" in view
    assert "optimistic" in view
    n = len(uma.responses())
    uma.command("/portfolio", "optimism")
    assert texts(_answer(uma, n)["blocks"]) == "The optimism view is for managers and admins."


def test_the_assignee_cannot_read_the_card_until_saving(make_env) -> None:
    env = make_env()
    uma, _dana, mia = _team(env)
    n = len(uma.responses())
    uma.command("/grade", "Acme second-opinion <@U3|mia>")  # her manager, who can see Acme
    _answer(uma, n)
    settle(env.api)
    n = len(mia.responses())
    mia.command("/customer", "Acme")
    assert texts(_answer(mia, n)["blocks"]) == (
        "You were asked for a second opinion on Acme: its grades stay hidden from you until "
        "you save yours."
    )
    n = len(mia.responses())
    mia.command("/grades", "<@U1|uma>")
    assert "Acme" not in texts(_answer(mia, n)["blocks"])  # not in Uma's book either


def test_override_shown_beside_the_model_told_a_week_before_and_expired(make_env) -> None:
    env = make_env()
    uma, _dana, mia = _team(env)
    # a rep cannot overrule their own customer
    n = len(uma.responses())
    uma.command("/customer", "Acme override D exit for 30 days because no")
    assert "a rep can never overrule their own customers" in texts(_answer(uma, n)["blocks"])
    # a reason is required
    n = len(mia.responses())
    mia.command("/customer", "Acme override C for 10 days")
    assert "A reason is required." in texts(_answer(mia, n)["blocks"])
    n = len(mia.responses())
    mia.command(
        "/customer",
        "Acme override C invest-less for 10 days because Finance: <!channel> 3 invoices late",
    )
    set_ = texts(_answer(mia, n)["blocks"])
    assert "Overridden: letter C and recommendation invest less — by Mia until" in set_
    assert "Model's grade: A, invest more" in set_
    told = wait_until(
        lambda: [c for c in uma.posts() if "overrode" in shown(c)], what="the owner told"
    )
    assert "Mia overrode Acme's grade." in shown(told[0])
    assert "<!channel>" in shown(told[0])
    assert "&lt;!channel&gt;" in str(blocks_of(told[0].args))  # escaped: pings no one
    n = len(uma.responses())
    uma.command("/customer", "Acme")
    card = texts(_answer(uma, n)["blocks"])
    assert "Overridden: letter C and recommendation invest less — by Mia" in card
    assert "Model's grade: A, invest more" in card
    assert "A · " in card  # the model's headline stays
    n = len(uma.responses())
    uma.command("/grades")
    book = texts(_answer(uma, n)["blocks"])
    assert "overridden: C, invest less (model: A, invest more)" in book
    from tests.slack.test_home import _open_home

    home = _open_home(uma)  # the App Home's recent grades
    assert "overridden: C, invest less (model: A, invest more)" in texts(home)
    notifier = SlackNotifier(fast_client(env.api.base_url), db=env.sv.db)
    start = utcnow()
    with time_machine.travel(start + timedelta(days=4), tick=False):
        report = asyncio.run(Sweeper(env.sv.db, [notifier]).sweep())
        assert report.errors == [], report
    for who in (uma, mia):  # the setter and the owner, a week before
        warned = [c for c in who.posts() if "The override on Acme ends on" in shown(c)]
        assert len(warned) == 1, [shown(c) for c in who.posts()]
    with time_machine.travel(start + timedelta(days=5), tick=False):
        asyncio.run(Sweeper(env.sv.db, [notifier]).sweep())
    assert len([c for c in uma.posts() if "ends on" in shown(c)]) == 1  # once
    with time_machine.travel(start + timedelta(days=11), tick=True):
        n = len(uma.responses())
        uma.command("/customer", "Acme")  # past its end: the card shows the model only
        card = texts(_answer(uma, n)["blocks"])
        assert "Overridden" not in card
        asyncio.run(Sweeper(env.sv.db, [notifier]).sweep())
        n = len(mia.responses())
        mia.command("/customer", "Acme overrides")
        history = texts(_answer(mia, n)["blocks"])
    assert "Finance: <!channel> 3 invoices late" in history
    assert "(expired)" in history
    assert [c for c in uma.posts() if "The override on Acme ended on" in shown(c)]
    with env.sv.session() as s:
        (o,) = s.exec(select(GradeOverride)).all()
        assert o.end_reason == "expired"


def test_override_through_the_modal(make_env) -> None:
    env = make_env()
    uma, _dana, mia = _team(env)
    n = len(uma.responses())
    uma.command("/customer", "Acme")
    assert "Override…" not in texts(_answer(uma, n)["blocks"])  # the owner has no button
    n = len(mia.responses())
    mia.command("/customer", "Acme")
    card = _answer(mia, n)
    (btn,) = [b for b in buttons(card["blocks"]) if b["text"]["text"] == "Override…"]
    with env.sv.session() as s:
        acme = s.exec(select(Customer).where(Customer.name == "Acme")).one()
    assert btn["value"] == f"ovr|{acme.id}"
    mia.click_ephemeral(card, btn["value"])
    (opened,) = env.api.wait_for("views.open")
    modal = opened.args["view"]
    modal = json.loads(modal) if isinstance(modal, str) else modal
    assert "Override the grade of Acme" in texts(modal["blocks"])

    def submit(values: dict[str, dict], user: str = "U3") -> dict:
        state = {"values": {k: {"answer": v} for k, v in values.items()}}
        payload = {
            "type": "view_submission",
            "team": {"id": "T1", "domain": "test"},
            "user": {"id": user, "name": user.lower(), "team_id": "T1"},
            "api_app_id": "A1",
            "trigger_id": "trig.view.V1",
            "response_urls": [],
            "view": {
                **modal,
                "id": "V1",
                "team_id": "T1",
                "app_id": "A1",
                "state": state,
                "hash": "h1",
            },
        }
        r = env.sender.interact(payload)
        assert r.status_code == 200, r.text
        return r.json() if r.content else {}

    until = (utcnow() + timedelta(days=60)).date().isoformat()
    keep = {"selected_option": {"value": "keep"}}
    fields = {
        "letter": {"selected_option": {"value": "B"}},
        "recommendation": keep,
        "until": {"selected_date": until},
        "reason": {"value": "  "},
    }
    assert submit(fields) == {
        "response_action": "errors",
        "errors": {"reason": "A reason is required."},
    }
    fields["reason"] = {"value": "Board seat, strategic"}
    assert submit(fields) == {}
    done = wait_until(
        lambda: [c for c in mia.posts() if "override set" in shown(c)], what="the setter told"
    )
    assert "Overridden: letter B — by Mia until " + until in shown(done[0])
    assert "Model's grade: A, invest more" in shown(done[0])
    assert wait_until(lambda: [c for c in uma.posts() if "Mia overrode Acme" in shown(c)])
    # the owner cannot, even with a forged submission
    refused = submit(fields, user="U1")  # the owner, with a forged submission
    assert "never overrule their own customers" in refused["errors"]["reason"]


def test_an_override_is_what_the_portfolio_counts_and_the_digest_lists(make_env) -> None:
    """A weak grade (the model says exit) overridden to A / invest more: /portfolio counts
    an A and warns of no exits, the digest lists no exit; once it ends, both are back."""
    env = make_env(GRADEBOT_TIMEZONE="UTC")
    uma, _dana, mia = _team(env)
    seed_grade(env.sv, "U1", "Weakco", WEAK)
    with env.sv.session() as s:
        model = s.exec(select(Grade).where(Grade.letter != "A")).one()
        ws = s.exec(select(Workspace)).one()
        people_db.update_workspace_settings(s, ws, digest_channel="CDIGEST")
    assert (model.letter, model.recommendation) == ("D", "exit")
    n = len(mia.responses())
    mia.command("/customer", "Weakco override A invest-more for 2 months because Board seat")
    assert "Overridden: letter A and recommendation invest more" in texts(
        _answer(mia, n)["blocks"])

    def portfolio() -> str:
        n = len(uma.responses())
        uma.command("/portfolio", "")
        return texts(_answer(uma, n)["blocks"])

    during = portfolio()
    assert "Grades: A 2, B 0, C 0, D 0" in during
    assert "recommended for exit" not in during
    notifier = SlackNotifier(fast_client(env.api.base_url), db=env.sv.db)

    def digest(at: datetime) -> str:
        before = len(env.api.of("chat.postMessage"))
        report = asyncio.run(Sweeper(env.sv.db, [notifier]).sweep(at))
        assert report.digests == 1, report
        posts = env.api.of("chat.postMessage")[before:]
        return "\n".join(shown(c) for c in posts if c.args.get("channel") == "CDIGEST")

    first = _next_quarter(utcnow())  # about a month on: the override is still in force
    assert "Recommended exit" not in digest(first)
    with time_machine.travel(utcnow() + timedelta(days=70), tick=True):
        after = portfolio()  # past its end: the model's grade is counted again
        assert "Grades: A 1, B 0, C 0, D 1" in after
        assert "1 of 2 graded customers are recommended for exit." in after
        body = digest(_next_quarter(utcnow()))
    assert "Recommended exit:" in body
    assert f"• Weakco (D, {model.total:g}/100, provisional) — owner Uma" in body


def test_a_request_withdrawn_mid_worksheet(make_env) -> None:
    """Uma withdraws the request Dana started on: Dana's thread is told and her draft is
    gone; a tap on the old question, or a typed answer, there gets the withdrawn line."""
    env = make_env()
    uma, dana, _mia = _team(env)
    n = len(uma.responses())
    uma.command("/grade", "Acme second-opinion <@U2|dana>")
    _answer(uma, n)
    parent = wait_until(
        lambda: [c for c in dana.posts() if "thread_ts" not in c.args], what="Dana's thread"
    )[0]
    dana.thread = dana.ts_of(parent)
    dana.answer(0)  # she has started
    old_question = dana.question()
    n = len(uma.responses())
    uma.command("/grade", "Acme second-opinion cancel <@U2|dana>")
    assert "Withdrew the request for Dana's second opinion on Acme; they are told." in texts(
        _answer(uma, n)["blocks"])
    told = wait_until(
        lambda: [c for c in dana.posts(dana.thread) if "withdrew the request" in shown(c)],
        what="Dana told in her thread",
    )
    assert "Uma withdrew the request for your second opinion on Acme" in shown(told[0])
    assert "Your answers so far were discarded." in shown(told[0])
    line = "Uma withdrew this request for a second opinion on Acme"
    dana.say("3")
    assert wait_until(lambda: [c for c in dana.posts(dana.thread) if line in shown(c)])
    value = next(b["value"] for b in buttons(blocks_of(old_question.args))
                 if b["value"].startswith("a|"))
    before = len([c for c in dana.posts(dana.thread) if line in shown(c)])
    dana.click(old_question, value)
    assert wait_until(
        lambda: len([c for c in dana.posts(dana.thread) if line in shown(c)]) > before
        or None, what="the withdrawn line for a tap")
    with env.sv.session() as s:
        (req,) = s.exec(select(SecondOpinion)).all()
        assert req.status == "withdrawn"
        assert s.exec(select(OpinionGrade)).all() == []
    n = len(dana.responses())
    dana.command("/customer", "Acme")  # no longer blind (not hers to see either)
    assert texts(_answer(dana, n)["blocks"]) == "Acme is in Uma's book: ask them or their manager."
