"""The engine ↔ channel protocol as data (docs/protocol.md): an answered question's echo
carries the question and the answer as fields, and a prompt says when it ends the session —
so no channel reads the engine's sentences to find either."""

from __future__ import annotations

from bot.engine import Choose, Kind, SessionKind
from bot.engine import options as opts
from scoring import Cadence
from tests.engine.helpers import Chat, grade_quickly


def _pulse(chat: Chat) -> None:
    chat.start("Acme", Cadence.QUARTERLY)
    chat.pick("Create Acme")


def test_a_tapped_answer_echoes_its_question_and_answer_as_fields(chat: Chat):
    _pulse(chat)
    question = chat.prompt("question")
    chat.pick("4 Solid margin")
    echo = chat.last[0]
    assert echo.kind is Kind.ECHO
    assert echo.answered
    assert echo.question == question.text  # as it was asked, the customer's name in it
    assert "Acme" in echo.question
    assert echo.answer == "4 — Solid margin"
    assert echo.progress is not None
    assert echo.progress.text == "1 of 5"
    assert opts.decode(echo.actions[0].value) == opts.Command("change", 1)


def test_a_typed_answer_echoes_the_same_fields(chat: Chat):
    _pulse(chat)
    chat.say("4")
    echo = chat.last[0]
    assert echo.answered
    assert echo.answer == "4 — Solid margin"


def test_a_strategic_decision_is_acknowledged_but_is_no_answered_question(chat: Chat):
    grade_quickly(chat, "Acme", "43442")
    chat.clear()
    chat.start("", Cadence.STRATEGIC)
    chat.pick("Maintain")
    echo = chat.last[0]
    assert echo.kind is Kind.ECHO
    assert not echo.answered
    assert echo.question is None


def test_a_saved_grade_ends_the_session_and_nothing_before_it_does(chat: Chat):
    _pulse(chat)
    for a in "43442":
        chat.say(a)
        assert not any(p.closed for p in chat.last)
    chat.say("save")
    saved = chat.prompt("saved")
    assert saved.closed


def test_pause_and_discard_end_the_session_here(chat: Chat):
    _pulse(chat)
    chat.send("[Pause]", Choose(opts.command("pause")))
    assert [p.closed for p in chat.last] == [True]
    chat.say("resume")
    assert not any(p.closed for p in chat.last)
    chat.say("discard")
    assert [p.closed for p in chat.last] == [True]


def test_a_strategic_summary_ends_the_session_only_when_every_customer_is_decided(chat: Chat):
    grade_quickly(chat, "Acme", "43442")
    grade_quickly(chat, "Beta", "12211")
    chat.clear()
    chat.start("", Cadence.STRATEGIC)
    chat.say("review")  # half-way: the summary so far, the review goes on
    summary = chat.prompt("summary")
    assert not summary.closed
    chat.say("back")
    chat.pick("Exit")
    chat.pick("Maintain")
    assert chat.prompt("summary").closed


def test_session_kinds_are_the_stored_strings():
    assert SessionKind.GRADE == "grade"
    assert SessionKind.STRATEGIC == "strategic"
    assert SessionKind("strategic") is SessionKind.STRATEGIC


def test_every_command_word_has_one_entry_in_the_engine_s_table():
    """One list of words: what ``command_of`` reads, what the codec lets through and what
    the engine's table runs are the same words."""
    from bot.engine.conversation import COMMANDS
    from bot.engine.inputs import COMMAND_WORDS, command_of

    assert set(COMMANDS) == COMMAND_WORDS
    assert opts.COMMAND_WORDS is COMMAND_WORDS
    for word in COMMAND_WORDS - {"change"}:
        assert command_of(word) == (word, None)
    assert command_of("change 3") == ("change", 3)
