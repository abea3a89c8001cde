"""Second opinions in the engine: who may ask whom, the assignee grades blind (nothing
carried, no earlier grade shown), saving stores a second opinion beside the grade of record
and tells whoever asked; declining cancels; the grade of record never moves."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.engine import Start, parse_grade_args
from bot.engine.kinds import SessionKind
from scoring import Cadence
from storage import opinions as opinions_db
from storage.engine import session_scope
from storage.models import Customer, Grade, Role
from tests.engine.helpers import Chat, People, grade_quickly, kinds


@pytest.fixture
def team(people: People, conv, db):
    """bob (rep, managed by mia) graded Bobco A-ish; dana is in finance; carl another rep."""
    mia = people.add("mia", Role.MANAGER)
    bob = people.add("bob", manager=mia)
    dana = people.add("dana", external_id="U0DANA")
    carl = people.add("carl")
    grade_quickly(Chat(conv, bob), "Bobco", "43442")
    return {"mia": mia, "bob": bob, "dana": dana, "carl": carl}


def test_parse_second_opinion_arguments() -> None:
    assert parse_grade_args("Acme Corp second-opinion <@U0DANA|dana>") == Start(
        "Acme Corp", Cadence.ANNUAL, second_opinion="<@U0DANA|dana>"
    )
    assert parse_grade_args("Acme second opinion dana") == Start(
        "Acme", Cadence.ANNUAL, second_opinion="dana"
    )
    assert parse_grade_args("Acme annual") == Start("Acme", Cadence.ANNUAL)


def answer_lowest(chat: Chat, n: int) -> None:
    """Tap the last (lowest) choice of the next ``n`` questions."""
    for _ in range(n):
        q = chat.prompt("question")
        chat.pick(q.choices[-1].label)
        assert kinds(chat.last)[0] == "echo"


def _ask(conv, asker, text: str):  # type: ignore[no-untyped-def]
    start = parse_grade_args(text)
    assert start is not None
    return conv.handle(asker, start)


def test_asked_blind_then_saved_beside_the_grade_of_record(conv, team, db):
    reply = _ask(conv, team["bob"], "Bobco second-opinion <@U0DANA|dana>")
    mine = [p for p in reply if p.for_person_id is None]
    theirs = [p for p in reply if p.for_person_id == team["dana"].person_id]
    assert [p.text for p in mine] == [
        "Asked dana for a second opinion on Bobco. They grade it blind; you will be told "
        "when they save, and the customer card shows it beside the grade of record."
    ]
    assert kinds(theirs) == ["info", "question"]
    assert theirs[0].opening
    assert "bob asks for your second opinion on Bobco" in theirs[0].text
    assert theirs[1].progress.index == 1  # type: ignore[union-attr]
    # dana answers in her own conversation: the whole annual sheet, nothing carried
    dana = Chat(conv, team["dana"])
    dana.session_id = theirs[1].session_id
    dana.last = theirs
    answer_lowest(dana, 6)
    review = dana.say("review")[0]
    assert review.review is not None
    assert review.review.previous_letter is None
    assert review.review.sheet is None
    assert "Bobco" in review.text
    assert "since" not in review.text.lower()
    dana.say("save")
    if kinds(dana.last)[0] == "confirm":  # incomplete: "Save anyway"
        dana.pick("Save anyway")
    saved = dana.prompt("saved")
    assert saved.text.startswith("Saved your second opinion on Bobco: ")
    assert "The grade of record, by bob: " in saved.text
    assert "You disagree" in saved.text
    told = [p for p in dana.last if p.for_person_id == team["bob"].person_id]
    assert len(told) == 1
    assert told[0].text.startswith("dana gave a second opinion on Bobco")
    with session_scope(db) as s:
        c = s.exec(select(Customer).where(Customer.name == "Bobco")).one()
        grades = s.exec(select(Grade)).all()
        assert [g.grader_id for g in grades] == [team["bob"].person_id]
        assert c.latest_grade_id == grades[0].id
        (given,) = opinions_db.given_on(s, c.id)  # type: ignore[arg-type]
        assert given.grader == "dana"
        assert given.record_grade_id == grades[0].id


def test_who_may_ask_and_be_asked(conv, team):
    assert _ask(conv, team["carl"], "Bobco second-opinion dana")[0].text == (
        "Only Bobco's owner or their manager can ask for a second opinion on it."
    )
    assert _ask(conv, team["mia"], "Bobco second-opinion bob")[0].text.startswith("bob owns Bobco")
    assert _ask(conv, team["bob"], "Bobco second-opinion nobody")[0].text.startswith(
        "I don't know nobody here"
    )
    assert _ask(conv, team["bob"], "Nope Co second-opinion dana")[0].text.startswith(
        "I don't know a customer called Nope Co"
    )
    assert kinds(_ask(conv, team["mia"], "Bobco second-opinion carl")) == [
        "info",
        "info",
        "question",
    ]  # the manager may ask
    again = _ask(conv, team["bob"], "Bobco second-opinion carl")
    assert again[0].text == (
        "carl was already asked for a second opinion on Bobco; it is not given yet."
    )


def test_declining_cancels_and_tells_the_asker(conv, team, db):
    reply = _ask(conv, team["bob"], "Bobco second-opinion dana")
    dana = Chat(conv, team["dana"])
    dana.session_id = reply[-1].session_id
    dana.say("discard")
    assert [p.text for p in dana.last if p.for_person_id == team["bob"].person_id] == [
        "dana declined the second opinion on Bobco."
    ]
    assert dana.say("restart")[0].text.startswith("A second opinion cannot be started over")
    with session_scope(db) as s:
        (req,) = s.exec(select(opinions_db.SecondOpinion)).all()
        assert req.status == "cancelled"
        assert s.exec(select(opinions_db.OpinionGrade)).all() == []
    assert SessionKind.OPINION == opinions_db.OPINION_KIND  # one word, in storage and here
    assert SessionKind.OPINION.worksheet
    assert not SessionKind.STRATEGIC.worksheet


def test_restart_is_refused_while_grading(conv, team):
    reply = _ask(conv, team["bob"], "Bobco second-opinion dana")
    dana = Chat(conv, team["dana"])
    dana.session_id = reply[-1].session_id
    assert dana.say("restart")[0].text.startswith("A second opinion cannot be started over")


def test_the_assignee_grading_the_customer_themselves_is_offered_the_opinion(conv, team):
    reply = _ask(conv, team["mia"], "Bobco second-opinion mia")  # a manager asks herself
    assert kinds(reply) == ["info", "info", "question"]
    again = Chat(conv, team["mia"]).start("Bobco")
    assert kinds(again) == ["resume_or_restart"]
    assert again[0].session_id == reply[-1].session_id


def test_asking_without_a_name_or_a_customer_says_what_to_type(conv, team):
    assert _ask(conv, team["bob"], "Bobco second-opinion")[0].text == (
        "Whose second opinion? Say the customer's name second-opinion @someone.")
    assert kinds(_ask(conv, team["bob"], "second-opinion dana")) == ["error"]
    assert _ask(conv, team["bob"], "Bobco second-opinion " + "x" * 5000)[0].kind.value == (
        "error")


def test_parse_withdrawing_a_request() -> None:
    assert parse_grade_args("Acme Corp second-opinion cancel <@U0DANA|dana>") == Start(
        "Acme Corp", Cadence.ANNUAL, second_opinion="<@U0DANA|dana>", withdraw=True
    )
    assert parse_grade_args("Acme second opinion withdraw dana") == Start(
        "Acme", Cadence.ANNUAL, second_opinion="dana", withdraw=True
    )


def test_withdrawn_by_the_asker_discards_the_draft_and_tells_the_assignee(conv, team, db):
    reply = _ask(conv, team["bob"], "Bobco second-opinion dana")
    dana = Chat(conv, team["dana"])
    dana.session_id = reply[-1].session_id
    dana.last = reply
    answer_lowest(dana, 2)  # she has started
    out = _ask(conv, team["bob"], "Bobco second-opinion cancel dana")
    assert [p.text for p in out if p.for_person_id is None] == [
        "Withdrew the request for dana's second opinion on Bobco; they are told."
    ]
    (told,) = [p for p in out if p.for_person_id == team["dana"].person_id]
    assert told.session_id == dana.session_id  # her grading's own thread / chat
    assert told.text == ("bob withdrew the request for your second opinion on Bobco: there is "
                         "nothing left to do. Your answers so far were discarded.")
    line = ("bob withdrew this request for a second opinion on Bobco: nothing you type here "
            "is recorded.")
    assert [p.text for p in dana.say("4")] == [line]  # a later answer in that thread
    assert [p.text for p in dana.say("restart")] == [line]
    with session_scope(db) as s:
        (req,) = s.exec(select(opinions_db.SecondOpinion)).all()
        assert req.status == "withdrawn"
        gs = s.get(opinions_db.GradingSession, dana.session_id)
        assert gs is not None
        assert gs.status == "discarded"
    # gone: withdrawing again says so, and dana may be asked afresh
    assert _ask(conv, team["bob"], "Bobco second-opinion cancel dana")[0].text == (
        "dana has no open request for a second opinion on Bobco: nothing to withdraw.")
    assert kinds(_ask(conv, team["bob"], "Bobco second-opinion dana")) == [
        "info", "info", "question"]


def test_who_may_withdraw(conv, team):
    _ask(conv, team["bob"], "Bobco second-opinion dana")
    refused = "Only whoever asked, Bobco's owner or their manager can withdraw this request."
    assert _ask(conv, team["carl"], "Bobco second-opinion cancel dana")[0].text == refused
    assert _ask(conv, team["dana"], "Bobco second-opinion cancel dana")[0].text == refused
    out = _ask(conv, team["mia"], "Bobco second-opinion cancel dana")  # bob's manager
    assert [p.text for p in out if p.for_person_id == team["bob"].person_id] == [
        "mia withdrew your request for dana's second opinion on Bobco."]
    told = [p for p in out if p.for_person_id == team["dana"].person_id]
    assert told[0].text.endswith("there is nothing left to do.")  # not started: no draft
    assert _ask(conv, team["bob"], "Bobco second-opinion cancel")[0].text == (
        "Whose request? Say the customer's name second-opinion cancel @someone.")
