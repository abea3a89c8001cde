"""Inputs delivered twice, and inputs racing each other on the same grading.

Slack retries events and people double-click; two replicas may handle two inputs of the same
conversation at once. A retried input (same ``input_key``) changes nothing; two different
inputs both land (the optimistic lock makes the loser re-run on fresh state).
"""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from bot.engine import Choose, Text
from bot.engine import options as opts
from scoring import Cadence
from storage import sessions as sessions_db
from storage.engine import session_scope
from storage.errors import Conflict
from storage.models import Answer
from tests.engine.helpers import Chat, kinds


@pytest.fixture
def pulse(chat: Chat) -> Chat:
    chat.start("Acme", Cadence.QUARTERLY)
    chat.pick("Create Acme")
    return chat


def _rows(chat: Chat) -> list[tuple[str, object]]:
    with session_scope(chat.conv.db) as s:
        rows = s.exec(select(Answer).where(Answer.session_id == chat.session_id)
                      .order_by(Answer.id)).all()
        return [(a.question_id, a.value) for a in rows]


def _current(chat: Chat) -> dict[str, object]:
    with session_scope(chat.conv.db) as s:
        return {k: a.value for k, a in sessions_db.current_answers(s, chat.session_id).items()}


def _position(chat: Chat) -> int:
    with session_scope(chat.conv.db) as s:
        return sessions_db.get_session(s, chat.session_id).position


def test_the_same_click_delivered_twice_records_once(pulse: Chat):
    button = pulse.option("4 Solid margin")
    first = pulse.send("[4]", Choose(button.value), key="action-1")
    again = pulse.send("[4] again", Choose(button.value), key="action-1")
    assert kinds(first) == ["echo", "question"]
    assert again == []
    assert _rows(pulse) == [("pays_now", 4)]
    assert _position(pulse) == 1


def test_the_same_message_delivered_twice_records_once(pulse: Chat):
    first = pulse.say("4", key="evt-1")
    # the retry reaches the engine after the first moved on to question 2, where "4" would
    # mean "Under-serving": it must not be recorded there
    again = pulse.say("4", key="evt-1")
    assert kinds(first) == ["echo", "question"]
    assert again == []
    assert _rows(pulse) == [("pays_now", 4)]
    assert _position(pulse) == 1


def test_the_same_text_with_new_keys_is_two_answers(pulse: Chat):
    pulse.say("4", key="evt-1")
    pulse.say("4", key="evt-2")
    assert _rows(pulse) == [("pays_now", 4), ("service_level", "under")]


@pytest.mark.parametrize("label", ["Skip", "Back"])
def test_a_double_clicked_skip_or_back_moves_once(pulse: Chat, label: str):
    pulse.say("4")
    pulse.say("about right")
    assert _position(pulse) == 2
    button = pulse.option(label)
    first = pulse.send(label, Choose(button.value))
    again = pulse.send(label, Choose(button.value))
    assert kinds(first) == ["question"]
    assert again == []
    assert _position(pulse) == (3 if label == "Skip" else 1)


def test_an_earlier_questions_button_changes_nothing_and_offers_to_change_it(pulse: Chat):
    q1_buttons = pulse.last
    pulse.say("4")
    pulse.say("about right")
    pulse.last = q1_buttons  # the first question's card is still on screen somewhere
    pulse.pick("2 Thin margin")
    assert kinds(pulse.last) == ["info"]
    assert pulse.last[0].text == ("That question was already answered (Pays now: 4 — Solid "
                                  "margin), so that tap changed nothing. Change it?")
    assert [o.value for o in pulse.last[0].actions] == ["c|change|1"]
    assert _current(pulse) == {"pays_now": 4, "service_level": "right"}
    assert _position(pulse) == 2
    pulse.last = q1_buttons  # the same answer tapped again (a double click): silence
    assert pulse.pick("4 Solid margin") == []


def test_a_skipped_questions_old_button_changes_nothing(pulse: Chat):
    q1_buttons = pulse.last
    pulse.say("skip")
    pulse.last = q1_buttons
    pulse.pick("2 Thin margin")
    assert "was skipped, so that tap changed nothing" in pulse.last[0].text
    assert _current(pulse) == {}
    assert _position(pulse) == 1


def test_a_lost_race_is_retried_on_fresh_state(pulse: Chat, monkeypatch):
    """Deterministic interleaving: input A reads the session, input B commits, then A writes.
    A's write must hit the optimistic lock, and A must be re-applied, not dropped."""
    conv, actor, sid = pulse.conv, pulse.actor, pulse.session_id
    # B: a confirmation of a later question mentioned in passing (it may be answered early)
    b_value = opts.encode(opts.Confirm("renewal", "4"))
    pulse.say("4")
    pulse.say("about right")

    real = sessions_db.record_answers
    calls: list[str] = []
    replies: dict[str, list] = {}

    def interleaved(session, gs, answers, **kw):
        if not calls:  # A has read the session; now B gets in first
            calls.append("A (stale)")
            replies["B"] = conv.handle(actor, Choose(b_value), session_id=sid)
        else:
            calls.append("next")
        return real(session, gs, answers, **kw)

    conflicts: list[Conflict] = []
    real_bump = sessions_db._bump

    def bump(session, gs, changes):
        try:
            real_bump(session, gs, changes)
        except Conflict as exc:
            conflicts.append(exc)
            raise

    monkeypatch.setattr(sessions_db, "record_answers", interleaved)
    monkeypatch.setattr(sessions_db, "_bump", bump)
    replies["A"] = conv.handle(actor, Text("3"), session_id=sid)

    assert calls == ["A (stale)", "next", "next"]  # A, B, then A again
    assert len(conflicts) == 1
    assert replies["B"][0].text == "Got it: 4 — Likely"
    assert replies["A"][0].text == "Got it: 3 — Some"
    assert replies["A"][1].question_id == "payment_risk"  # renewal is answered already
    assert _current(pulse) == {"pays_now": 4, "service_level": "right", "outcomes_value": 3,
                               "renewal": 4}
    assert _position(pulse) == 4


def test_two_inputs_racing_in_threads_both_land(pulse: Chat):
    """Real concurrency: each round, one thread answers the current question by text while
    another clicks an answer button of question 1 (a stale card): the text lands, the stale
    click changes nothing."""
    conv, actor, sid = pulse.conv, pulse.actor, pulse.session_id
    q1 = {n: pulse.option(label).value
          for n, label in ((1, "1 We lose money"), (2, "2 Thin margin"), (3, "3 Break-even-ish"))}
    pulse.say("5")
    texts = ["about right", "3", "4"]
    errors: list[BaseException] = []

    for round_, text in enumerate(texts, 1):
        barrier = threading.Barrier(2)

        def run(message, _barrier=barrier):
            try:
                _barrier.wait(timeout=5)
                conv.handle(actor, message, session_id=sid)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(Text(text),)),
                   threading.Thread(target=run, args=(Choose(q1[round_]),))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
        assert not errors, errors
        assert _position(pulse) == round_ + 1
        assert _current(pulse)["pays_now"] == 5

    assert _current(pulse) == {"pays_now": 5, "service_level": "right", "outcomes_value": 3,
                               "renewal": 4}
    assert len(_rows(pulse)) == 4  # 4 questions, none lost, none overwritten


def test_the_same_input_from_two_replicas_at_once_records_once(pulse: Chat):
    conv, actor, sid = pulse.conv, pulse.actor, pulse.session_id
    value = pulse.option("4 Solid margin").value
    barrier = threading.Barrier(2)
    replies: list[list] = []
    errors: list[BaseException] = []

    def run():
        try:
            barrier.wait(timeout=5)
            replies.append(conv.handle(actor, Choose(value), session_id=sid,
                                       input_key="action-7"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not errors, errors
    assert sorted(len(r) for r in replies) == [0, 2]  # one answered, the other stayed quiet
    assert _rows(pulse) == [("pays_now", 4)]
    assert _position(pulse) == 1
