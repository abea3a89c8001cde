"""Who may grade whose customers, whose conversation an input may touch, and plain text."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from bot.engine import Choose, Text
from bot.engine.prompts import Prompt
from scoring import Cadence
from storage import customers as customers_db
from storage.engine import session_scope
from storage.models import Answer, Grade, Role
from tests.engine.helpers import Chat, People, grade_quickly, kinds


@pytest.fixture
def team(people: People, db):
    """bob (rep, managed by mia) owns Bobco; carl is another rep; max manages someone else."""
    mia = people.add("mia", Role.MANAGER)
    max_ = people.add("max", Role.MANAGER)
    bob = people.add("bob", manager=mia)
    carl = people.add("carl", manager=max_)
    ada = people.add("ada", Role.ADMIN)
    with session_scope(db) as s:
        customers_db.create_customer(s, bob.workspace_id, "Bobco", bob.person_id)
    return {"mia": mia, "max": max_, "bob": bob, "carl": carl, "ada": ada}


def test_a_rep_cannot_grade_another_reps_customer(conv, team, db):
    chat = Chat(conv, team["carl"])
    chat.start("Bobco", Cadence.QUARTERLY)
    assert [(p.kind.value, p.text) for p in chat.last] == [
        ("error", "Bobco is in bob's book. Ask them or your manager to grade it.")]
    chat.start("bobco")  # any spelling, any cadence
    assert kinds(chat.last) == ["error"]
    with session_scope(db) as s:
        assert s.exec(select(Answer)).all() == []


def test_a_manager_of_someone_else_cannot_either(conv, team):
    chat = Chat(conv, team["max"])
    chat.start("Bobco", Cadence.QUARTERLY)
    assert chat.last[0].kind.value == "error"
    assert chat.last[0].text.startswith("Bobco is in bob's book.")


@pytest.mark.parametrize("who", ["mia", "ada", "bob"])
def test_the_owner_their_manager_and_an_admin_can(conv, team, db, who):
    chat = Chat(conv, team[who])
    saved = grade_quickly(chat, "Bobco", "43442")
    assert saved.text.startswith("Saved: Bobco is graded A")
    with session_scope(db) as s:
        [g] = s.exec(select(Grade)).all()
        assert g.grader_id == team[who].person_id
        bobco = customers_db.find_customer(s, team["bob"].workspace_id, "Bobco").exact
        assert bobco.owner_id == team["bob"].person_id  # grading it does not take it over


def test_nobody_can_act_on_someone_elses_conversation(conv, team, db):
    bob = Chat(conv, team["bob"])
    bob.start("Bobco", Cadence.QUARTERLY)
    bob.say("4")
    button = bob.option("About right").value
    # carl learns the session id (e.g. a forwarded message) and tries it
    for message in (Text("about right"), Choose(button), Text("discard"),
                    Choose(f"c|restart|{bob.session_id}")):
        reply = conv.handle(team["carl"], message, session_id=bob.session_id)
        assert [(p.kind.value, p.text) for p in reply] == [
            ("error", "There is no grading in progress here. Start one with the "
                      "customer's name.")], message
    # even the manager does not type into the rep's own conversation
    reply = conv.handle(team["mia"], Text("about right"), session_id=bob.session_id)
    assert kinds(reply) == ["error"]
    with session_scope(db) as s:
        assert [(a.question_id, a.person_id) for a in s.exec(select(Answer))] == [
            ("pays_now", team["bob"].person_id)]
    bob.say("about right")
    assert bob.last[0].text == "Got it: About right"


def test_a_new_customer_belongs_to_whoever_created_it(conv, team, db):
    chat = Chat(conv, team["carl"])
    chat.start("Carlco")
    chat.pick("Create Carlco")
    with session_scope(db) as s:
        assert customers_db.find_customer(s, team["carl"].workspace_id, "carlco").exact \
            .owner_id == team["carl"].person_id
    other = Chat(conv, team["bob"])
    other.start("Carlco")
    assert other.last[0].text == "Carlco is in carl's book. Ask them or your manager to grade it."


# ---------------------------------------------------------------------- plain text only
_MARKUP = re.compile(r"\*|`|~|\[/?(?:bold|dim|red|green)|<[@!#]|<https?:|&lt;|&gt;|&amp;")


def _texts(p: Prompt) -> list[str]:
    out = [p.text, p.detail, p.customer or ""]
    out += [o.label for o in (*p.choices, *p.actions)]
    if p.review is not None:
        r = p.review
        out += [r.customer, *r.lifted_by, *r.held_back_by, *r.caps]
        out += [f"{a.label} {a.answer}" for a in r.answers]
    return out


def test_the_engine_never_adds_markup_and_user_text_stays_verbatim(chat: Chat):
    name = "<!channel> *x*"
    chat.start(name, Cadence.QUARTERLY)
    chat.pick(f"Create {name}")
    for a in ("4", "about right", "3", "4"):
        chat.say(a)
    chat.say("pause")
    chat.say("resume")
    chat.say("low")
    chat.say("save")
    log = chat.transcript()
    assert "I don't know a customer called <!channel> *x*." in log
    assert "Grading <!channel> *x*: the quarterly worksheet, 5 questions." in log
    assert "How well does <!channel> *x* pay us right now, for the effort they take?" in log
    assert "Saved: <!channel> *x* is graded A (80.6/100, provisional: 37% answered)." in log

    # the name is carried as it was typed, never pre-escaped, and nothing else is markup
    for line in chat.log:
        assert not _MARKUP.search(line.replace(name, "")), line


def test_every_prompt_field_is_plain_for_a_whole_annual_sheet(chat: Chat):
    chat.start("Plain Co")
    chat.pick("Create Plain Co")
    prompts: list[Prompt] = list(chat.last)
    for a in ("4", "1", "3", "yes", "4", "4", "1", "4", "3", "5%", "4", "5", "1", "9",
              "note with *stars* and <@U1>"):
        prompts += chat.say(a)
    prompts += chat.say("review")
    prompts += chat.say("save")
    assert prompts[-1].kind.value == "saved"
    for p in prompts:
        for t in _texts(p):
            t = t.replace("note with *stars* and <@U1>", "")  # the rep's own words, verbatim
            assert not _MARKUP.search(t), (p.kind, t)
    assert any("note with *stars* and <@U1>" in t for p in prompts for t in _texts(p))
