"""One grading open in two places (two ``gradebot chat``s; Slack and Teams): a change made in
one is announced in the other at its next step; when one saves or discards, the other gets a
clear end and a way on — never a dead end."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.engine import Choose, Conversation
from scoring import Cadence
from storage import sessions as sessions_db
from tests.engine.helpers import Chat, People


@pytest.fixture
def two(conv: Conversation, db) -> tuple[Chat, Chat]:
    """Ann's laptop (which started grading Acme) and her phone (which resumed it)."""
    ann = People(db).add("ann")
    laptop = Chat(conv, replace(ann, place="laptop"))
    phone = Chat(conv, replace(ann, place="phone"))
    laptop.start("Acme", Cadence.QUARTERLY)
    laptop.pick("Create Acme")
    laptop.say("4")  # pays now
    phone.start("Acme", Cadence.QUARTERLY)
    phone.pick("Resume")
    assert phone.last[-1].question_id == "service_level"
    return laptop, phone


def test_a_change_made_in_one_place_is_announced_in_the_other(two):
    laptop, phone = two
    phone.say("about right")  # service level, answered on the phone
    laptop.pick("Skip")  # offered at question 2, which moved on: stale, but the news comes
    assert [p.text for p in laptop.last] == [
        "Changed on another device: Cost to serve → About right"]
    # the laptop changes the payment risk; the phone hears of it at its next step
    laptop.say("change 5")
    laptop.say("high")
    phone.say("why")
    assert phone.last[0].text == ("Changed on another device: Payment risk → High - often "
                                  "late or disputed")
    phone.say("why")  # told once
    assert not phone.last[0].text.startswith("Changed on another device")
    # the laptop is not told of its own change
    laptop.say("why")
    assert not laptop.last[0].text.startswith("Changed on another device")


def test_a_typed_answer_is_not_put_on_a_question_moved_on_elsewhere(two, db):
    laptop, phone = two
    phone.say("about right")  # the phone answers question 2: the grading is at question 3
    laptop.say("5")  # typed on the laptop, which still shows question 2
    assert [p.text for p in laptop.last[:2]] == [
        "Changed on another device: Cost to serve → About right",
        "That message was not recorded, as the grading moved on another device. Here is "
        "where it stands now:"]
    assert laptop.last[-1].question_id == "outcomes_value"
    with sessions_db.Session(db) as s:
        answers = sessions_db.current_answers(s, laptop.session_id)
    assert {k: a.value for k, a in answers.items()} == {"pays_now": 4,
                                                         "service_level": "right"}
    laptop.say("5")  # now it is read for the question the laptop was shown
    assert laptop.last[0].text.startswith("Got it")


@pytest.mark.parametrize("how", ["discard", "save"])
def test_ended_in_one_place_gives_the_other_a_clear_end_and_a_way_on(two, how: str):
    laptop, phone = two
    if how == "save":
        # the phone answers the rest of the pulse and saves (one answer alone would be kept
        # as a draft: too little of the worksheet for a letter)
        for text in ("about right", "3", "4", "low"):
            phone.say(text)
        phone.say("save")
        assert phone.prompt("saved")
    else:
        phone.say(how)
    for text in ("about right", "resume", "3"):
        laptop.say(text)
        [end] = laptop.last
        assert end.text == ("This grading was saved on another device." if how == "save"
                            else "This grading was discarded on another device: nothing "
                                 "was saved.")
        assert end.closed
        assert [o.label for o in end.choices] == ["Grade Acme again"]
    laptop.pick("Grade Acme again")  # one step to a new grading
    assert laptop.last[-1].kind.value == "question"
    assert laptop.last[-1].progress.index == 1
    # and the phone, which ended the old one, is offered the new one
    phone.start("Acme", Cadence.QUARTERLY)
    assert phone.prompt("resume_or_restart")


def test_a_stale_click_after_the_other_place_started_again_resumes_the_new_grading(two):
    laptop, phone = two
    old = laptop.last[-1]
    phone.say("discard")
    phone.start("Acme", Cadence.QUARTERLY)  # a new grading of Acme, on the phone
    assert phone.last[-1].kind.value == "question"
    new_id = phone.session_id
    # the laptop clicks an answer of the old question
    laptop.send("[old button]", Choose(old.choices[0].value))
    [end] = laptop.last
    assert end.text == "This grading was discarded on another device: nothing was saved."
    assert [o.label for o in end.choices] == ["Resume the open grading of Acme"]
    laptop.pick("Resume the open grading of Acme")
    assert laptop.session_id == new_id
    assert laptop.last[-1].kind.value == "question"


def test_the_same_place_after_its_own_discard_is_not_stuck_either(two):
    laptop, _ = two
    laptop.say("discard")
    laptop.say("resume")
    [end] = laptop.last
    assert end.text == "This grading is discarded and cannot be resumed."
    laptop.pick("Grade Acme again")
    assert laptop.last[-1].kind.value == "question"
