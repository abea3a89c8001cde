"""Look-ups answered with cards, and proactive reminders through ``TeamsNotifier``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.engine import Choose, Kind, Start, help
from bot.notify import DigestMessage, DueItem, ReminderMessage
from bot.reminders.messages import controls
from bot.teams.notify import NotReachable, TeamsNotifier
from scoring import Cadence
from storage.models import Customer, DeliveryStatus, Person, ReminderDelivery
from tests.teams.conftest import TENANT, USER, Env, Rep, actions, response_card, shown, values

STRONG = {"pays_now": "5", "service_level": "right", "outcomes_value": "5", "renewal": "5",
          "payment_risk": "low"}
WEAK = {"pays_now": "1", "service_level": "heavy_over", "outcomes_value": "1", "renewal": "1",
        "payment_risk": "high"}


def seed(env: Env, name: str, answers: dict[str, str], user: str = USER) -> int:
    """Grade ``name`` as the Teams user straight through the engine; its customer id."""
    sv = env.sv
    actor, _ = sv.actor("teams", TENANT, user, "Rita Rep")
    reply = sv.conversation.handle(actor, Start(name, Cadence.QUARTERLY))
    if reply[0].kind is Kind.CHOOSE_CUSTOMER:
        create = next(o.value for o in reply[0].choices if o.value.startswith("create|"))
        reply = sv.conversation.handle(actor, Choose(create))
    sid = next(p.session_id for p in reply if p.session_id is not None)
    out = sv.conversation.submit_form(actor, sid, answers)
    assert isinstance(out, list)
    assert out[0].kind is Kind.SAVED
    with sv.session() as s:
        return s.exec(select(Customer).where(Customer.name == name)).one().id  # type: ignore


def person(env: Env, user: str = USER) -> Person:
    with env.sv.session() as s:
        return s.exec(select(Person).where(Person.external_id == user)).one()


def test_lookups(env: Env) -> None:
    acme = seed(env, "Acme", STRONG)
    seed(env, "Globex", WEAK)
    rep = env.rep()
    card = rep.ask("customer acme")
    text = shown(card)
    assert "Acme" in text
    assert "A · " in text or "B · " in text
    assert "Graded" in text
    # Re-grade, and Record outcome (its choice set says which: tests/teams/test_outcome_menu.py)
    assert values(card) == [f"pick||{acme}", "c|help|"]
    assert "No customer called Initech" in shown(rep.ask("customer Initech"))
    book = rep.ask("grades")
    assert "Rita Rep's book" in shown(book)
    assert shown(book).index("Acme") < shown(book).index("Globex")  # best first
    assert len(values(book, "pick||")) == 2
    assert "Portfolio — Rita Rep" in shown(rep.ask("portfolio"))
    assert "2 customers, 2 graded" in shown(rep.sent()[-1].card)
    helped = shown(rep.ask("help"))
    for cmd in ("grade <customer>", "customer <customer>", "grades", "portfolio"):
        assert cmd in helped
    assert "grade <customer>" in shown(rep.ask("hello there"))  # no grading open: help
    # Grade from the book: the book card stays, the grading starts below
    n = len(rep.sent())
    resp = rep.click(rep.sent()[n - 4], f"pick||{acme}")
    assert resp["type"] == "application/vnd.microsoft.activity.message"
    assert "Grading Acme" in shown(rep.sent()[-1].card)


def test_help_is_the_table_every_channel_shows(env: Env) -> None:
    """The bare "help" lists every line of ``bot.engine.help`` (Slack's, without the "/");
    "grade help", "customer ?" and "help portfolio" give that command's lines only."""
    rep = env.rep()
    helped = shown(rep.ask("help"))
    for line in help.overview():
        assert f"{line.usage}: {line.what}" in helped
    assert "grade <customer> second-opinion @someone: " in helped
    assert "portfolio optimism: managers and admins" in helped
    for said, command in (("grade help", "grade"), ("customer ?", "customer"),
                          ("help portfolio", "portfolio"), ("/grades help", "grades")):
        one = shown(rep.ask(said))
        lines = help.command_help(command)
        assert all(f"{h.usage}: {h.what}" in one for h in lines), said
        assert len(one.splitlines()) == 1 + len(lines), one  # a heading; no other lines
    first = shown(rep.ask("hello there"))  # no command, no grading: the greeting and all
    assert first.startswith(f"gradebot\n{help.hello()}")
    assert all(f"{h.usage}: {h.what}" in first for h in help.overview())


def test_a_reps_time_zone_comes_from_their_teams_client(env: Env) -> None:
    """Teams puts the client's time zone on each message (a clientInfo entity): the rep's
    calendar follows it; a zone this machine does not know is not stored."""
    from tests.teams.conftest import activity

    def say_from(zone: str) -> None:
        body = activity("message", env.connector.url, text="help", textFormat="plain",
                        entities=[{"type": "clientInfo", "locale": "en-US", "country": "US",
                                   "platform": "Web", "timezone": zone}])
        assert env.post(body).status_code == 200

    def stored() -> str | None:
        with env.sv.session() as s:
            return s.exec(select(Person.timezone).where(Person.external_id == USER)).one()

    say_from("America/Los_Angeles")
    assert stored() == "America/Los_Angeles"
    say_from("Mars/Olympus_Mons")
    assert stored() == "America/Los_Angeles"
    say_from("Europe/Berlin")  # moved, or travelling
    assert stored() == "Europe/Berlin"


async def test_reminder_sent_proactively(env: Env) -> None:
    acme = seed(env, "Acme", STRONG)
    globex = seed(env, "Globex", WEAK)
    rep = env.rep()
    rep.say("help")  # the rep's first message stores where to reach them
    notifier = TeamsNotifier.from_settings(env.sv.settings, env.sv.db)
    msg = ReminderMessage(
        delivery_id=7, title="Q1 2027 re-grading: 2 customers due",
        intro="A new quarter: time for the quick pulse.",
        items=[DueItem(acme, "Acme", "A", "2026-10-01"), DueItem(globex, "Globex", None, None)],
        controls=controls(7))
    n = len(rep.sent())
    where = await notifier.send_reminder(person(env), msg)
    sent = rep.sent()[n:]
    assert len(sent) == 1
    assert sent[0].method == "create"
    card = sent[0].card
    text = shown(card)
    assert "Q1 2027 re-grading: 2 customers due" in text
    assert "Acme · A · last graded 2026-10-01" in text
    assert "Globex · never graded" in text
    grade_buttons = [a for a in actions(card) if a["title"] == "Grade"]
    assert [a["data"]["value"] for a in grade_buttons] == [f"pick||{acme}", f"pick||{globex}"]
    assert {"rem|snooze|7|1", "rem|snooze|7|7", "rem|away|7"} <= set(values(card))
    assert where.thread_ts == sent[0].activity_id
    assert len(where.channel) <= 64  # fits ReminderDelivery.channel
    assert sent[0].body["from"]["id"].startswith("28:")
    assert "authorization" not in {k.lower() for k in sent[0].headers}  # dev: no token
    # a follow-up replies to it; closing updates it in place
    await notifier.send_followup(person(env), where, msg)
    assert rep.sent()[-1].reply_to == where.thread_ts
    await notifier.close_reminder(person(env), where, "Q1 2027 re-grading: All graded ✓")
    last = rep.sent()[-1]
    assert last.method == "update"
    assert last.activity_id == where.thread_ts
    assert "All graded" in shown(last.card)
    # alerts and digests
    await notifier.send_alert(person(env), "Globex dropped from B to D.", [controls(7)[0]])
    assert "Globex dropped" in shown(rep.sent()[-1].card)
    await notifier.send_digest("19:abc@thread.tacv2",
                               DigestMessage("Team digest", ["Rita: 2 graded"]))
    digest = env.connector.all()[-1]
    assert digest.conversation == "19:abc@thread.tacv2"
    assert "Rita: 2 graded" in shown(digest.card)
    # the rep taps Grade in the reminder: the reminder stays, the grading starts below
    resp = rep.click(sent[0], f"pick||{globex}")
    assert resp["type"] == "application/vnd.microsoft.activity.message"
    assert "Grading Globex" in shown(rep.sent()[-1].card)


async def test_reminder_buttons(env: Env) -> None:
    rep = env.rep()
    rep.say("help")
    p = person(env)
    now = env.sv.clock()
    with env.sv.session() as s:
        d = ReminderDelivery(workspace_id=p.workspace_id, person_id=p.id, cadence="quarterly",
                             period="2027-Q1", status=DeliveryStatus.SENT, channel="x",
                             thread_ts="1", next_followup_at=now + timedelta(days=1))
        s.add(d)
        s.commit()
        s.refresh(d)
        did = d.id
    notifier = TeamsNotifier.from_settings(env.sv.settings, env.sv.db)
    msg = ReminderMessage(delivery_id=did, title="Due", intro="Due.", items=[],  # type: ignore
                          controls=controls(did))  # type: ignore[arg-type]
    await notifier.send_reminder(p, msg)
    reminder = rep.latest("rem|")
    n = len(rep.sent())
    resp = rep.click(reminder, f"rem|snooze|{did}|7")
    assert resp["value"].startswith("Snoozed")
    assert rep.sent()[n:] == []  # said once (the answer to the tap), not posted again
    resp = rep.click(reminder, f"rem|away|{did}")
    away = rep.sent()[-1]
    assert "Out of office" in shown(away.card)
    save = values(away.card)[0]
    resp = rep.click(away, save, {"back_on": "1999-01-01"})
    assert "Pick a day after today" in shown(response_card(resp))
    back = (now + timedelta(days=10)).date().isoformat()
    resp = rep.click(away, save, {"back_on": back})
    assert "Out of office until" in shown(response_card(resp))
    assert person(env).away_until is not None
    resp = rep.invoke({"value": "rem|snooze|999999|1", "k": "l"})  # not this rep's
    assert "not yours" in resp["value"]


async def test_unreachable_and_failing_connector(env: Env) -> None:
    notifier = TeamsNotifier.from_settings(env.sv.settings, env.sv.db)
    _, p = env.sv.actor("teams", TENANT, "never-wrote", "Nobody")
    with pytest.raises(NotReachable):
        await notifier.send_alert(p, "hello", [])
    rep = Rep(env, USER, "Rita Rep")
    rep.say("help")
    env.connector.fail_next(500, times=5)
    try:
        with pytest.raises(Exception):  # noqa: B017, PT011 — raised, never swallowed
            await notifier.send_alert(person(env), "hello", [])
    finally:
        env.connector.failures.clear()


def test_a_portfolio_view_that_does_not_exist_gets_the_portfolio_help(env: Env) -> None:
    seed(env, "Acme", STRONG)
    rep = env.rep()
    one = shown(rep.ask("portfolio tem"))
    assert all(f"{h.usage}: {h.what}" in one for h in help.command_help("portfolio"))
    assert "Portfolio —" not in one
