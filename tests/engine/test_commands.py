"""Every command word, typed or clicked; answers that cannot be read; changing an answer."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.engine import Choose
from scoring import Cadence
from storage import grades as grades_db
from storage import sessions as sessions_db
from storage.engine import session_scope
from storage.models import Customer, Grade
from tests.engine.helpers import Chat, dedent, kinds


@pytest.fixture
def pulse(chat: Chat) -> Chat:
    """A quarterly pulse of a new customer, at question 1."""
    chat.start("Acme", Cadence.QUARTERLY)
    chat.pick("Create Acme")
    chat.clear()
    return chat


def _state(chat: Chat) -> tuple[str, int]:
    with session_scope(chat.conv.db) as s:
        gs = sessions_db.get_session(s, chat.session_id)
        return gs.status, gs.position


def _answers(chat: Chat) -> dict[str, object]:
    with session_scope(chat.conv.db) as s:
        return {k: a.value for k, a in sessions_db.current_answers(s, chat.session_id).items()}


def _grades(chat: Chat) -> list[Grade]:
    with session_scope(chat.conv.db) as s:
        return list(s.exec(select(Grade)).all())


def _asked(chat: Chat) -> str:
    q = chat.prompt("question")
    return f"{q.question_id} {q.progress.text}"


# ---------------------------------------------------------------------- moving around
@pytest.mark.parametrize("how", ["text", "button"])
def test_back_and_skip(pulse: Chat, how: str):
    def do(word: str) -> None:
        if how == "text":
            pulse.say(word)
        else:
            pulse.pick(word.capitalize())

    pulse.say("4")
    do("skip")
    assert _asked(pulse) == "outcomes_value 3 of 5"
    do("back")
    assert _asked(pulse) == "service_level 2 of 5"
    do("back")
    assert _asked(pulse) == "pays_now 1 of 5"
    assert "Back" not in [o.label for o in pulse.prompt("question").actions]
    assert _answers(pulse) == {"pays_now": 4}  # going back forgets nothing
    pulse.say("5")  # re-answer question 1: the next unanswered question comes next
    assert _asked(pulse) == "service_level 2 of 5"
    assert _answers(pulse) == {"pays_now": 5}
    for _ in range(4):
        do("skip")
    assert kinds(pulse.last) == ["review"]
    assert _state(pulse) == ("review", 5)


def test_command_synonyms(pulse: Chat):
    pulse.say("next")
    assert _asked(pulse) == "service_level 2 of 5"
    pulse.say("Go back")
    assert _asked(pulse) == "pays_now 1 of 5"
    pulse.say("Why?")
    assert kinds(pulse.last) == ["info"]
    pulse.say("?")
    assert pulse.last[0].text.startswith("Pick a choice or answer in your own words")


@pytest.mark.parametrize("how", ["text", "button"])
def test_why_and_help_explain_without_moving(pulse: Chat, how: str):
    pulse.say("4")
    if how == "text":
        pulse.say("why")
    else:
        pulse.pick("Why?")
    pulse.send("help", Choose("c|help|")) if how == "button" else pulse.say("help")
    lines = pulse.transcript().split("\n")
    assert [lines[-3], lines[-1]] == [
        "[info] Why we ask about cost to serve: Over-serving quietly eats margin; "
        "under-serving a good customer loses them.",
        "[info] Pick a choice or answer in your own words. You can also say: back (previous "
        "question), skip, why (why this question matters), change N (change answer N), review, "
        "pause, resume, save, discard or cancel.",
    ]
    assert _state(pulse) == ("open", 1)


# ---------------------------------------------------------------------- pause / resume
@pytest.mark.parametrize("how", ["text", "button"])
def test_pause_keeps_answers_and_resume_continues(pulse: Chat, how: str):
    pulse.say("4")
    answer_button = pulse.option("About right")  # stays on screen after the pause
    skip_button = pulse.option("Skip")
    if how == "text":
        pulse.say("pause")
    else:
        pulse.send("pause", Choose("c|pause|"))
    assert _state(pulse) == ("paused", 1)
    pulse.say("about right")
    pulse.send("[About right]", Choose(answer_button.value))
    pulse.send("[Skip]", Choose(skip_button.value))  # a button from before: does nothing
    if how == "text":
        pulse.say("resume")
    else:
        pulse.send("resume", Choose(f"c|resume|{pulse.session_id}"))
    assert pulse.transcript() == dedent("""
        > 4
        [echo] Got it: 4 — Solid margin
          actions: Change
        [question 2 of 5] For what Acme brings, are we over-serving or under-serving them?
          choices: Heavily over-serving | Somewhat over-serving | About right | Under-serving
          actions: Back | Skip | Why?
        > pause
        [info] Paused. Say resume when you're ready; your answers are kept.
        > about right
        [info] This grading is paused. Say resume to continue, or help for options.
        > [About right]
        [info] This grading is paused; that answer was not recorded.
        > [Skip]
        (nothing)
        > resume
        [info] Picking up where you left off.
        [question 2 of 5] For what Acme brings, are we over-serving or under-serving them?
          choices: Heavily over-serving | Somewhat over-serving | About right | Under-serving
          actions: Back | Skip | Why?
        """)
    assert _state(pulse) == ("open", 1)
    assert _answers(pulse) == {"pays_now": 4}


def test_starting_a_paused_grading_again_offers_it(pulse: Chat):
    pulse.say("4")
    pulse.say("pause")
    pulse.start("Acme")
    assert pulse.prompt("resume_or_restart").text == (
        "You are already grading Acme (quarterly, 1 answered). Resume it or start over?")
    pulse.pick("Resume")
    assert _asked(pulse) == "service_level 2 of 5"


# ---------------------------------------------------------------------- ending
@pytest.mark.parametrize("word", ["cancel", "discard", "c|cancel|", "c|discard|"])
def test_cancel_and_discard_save_nothing(pulse: Chat, word: str):
    pulse.say("4")
    if word.startswith("c|"):
        pulse.send(word, Choose(word))
    else:
        pulse.say(word)
    assert [p.text for p in pulse.last] == ["Discarded. Nothing was saved as a grade."]
    assert _state(pulse)[0] == "discarded"
    assert _grades(pulse) == []
    pulse.say("about right")
    assert [p.text for p in pulse.last] == [
        "This grading is discarded. Start a new one with the customer's name."]
    pulse.say("resume")
    assert [p.text for p in pulse.last] == ["This grading is discarded and cannot be resumed."]
    assert _state(pulse)[0] == "discarded"


def test_save_midway_asks_once_then_keeps_a_draft_below_the_floor(pulse: Chat):
    """Half-way, "save" may mean "keep my progress": the first one says what the grade would
    cover and asks once; saying it again (or the review's button) with no new answer saves —
    or, with too little of the worksheet answered for a letter, keeps the grading as a draft."""
    pulse.say("save")
    assert [(p.kind.value, p.text) for p in pulse.last] == [
        ("error", "There is nothing to save yet: answer at least one question.")]
    pulse.say("4")
    pulse.say("save")
    assert [(p.kind.value, p.text) for p in pulse.last][:2] == [
        ("confirm", "Only 1 of 5 scored questions are answered (14% of the weighted sheet). "
                    "Save the grade as it is?"),
        ("review", "Acme: Not enough answers to grade yet (1 of 14 questions; a letter needs "
                   "35% of the worksheet).")]
    assert [o.label for o in pulse.last[0].actions] == ["Save anyway", "Answer question 2"]
    assert _grades(pulse) == []
    pulse.say("resume")
    assert pulse.last[-1].question_id == "service_level"
    pulse.say("about right")  # a new answer: the next save asks again
    pulse.say("save")
    assert [p.kind.value for p in pulse.last] == ["confirm", "review"]
    assert _grades(pulse) == []
    # coverage: value 2 * (2 of 4) + fit 1.5 * (1 of 4) = 1.375 of 7 = 19.6%: no letter
    pulse.pick("Keep as draft")
    assert pulse.transcript().split("\n")[-4:] == [
        "> [Keep as draft]",
        "[info] Not enough answers to grade yet (2 of 14 questions; a letter needs 35% of the "
        "worksheet). Kept as a draft: nothing was saved as a grade.",
        "    Say resume to answer more now, or later with the customer's name.",
        "  choices: Resume",
    ]
    assert _grades(pulse) == []
    assert _state(pulse)[0] == "paused"
    assert set(_answers(pulse)) == {"pays_now", "service_level"}  # nothing lost
    pulse.say("resume")
    for a in ("3", "4", "low"):
        pulse.say(a)
    pulse.pick("Save")
    [g] = _grades(pulse)
    assert (g.letter, g.coverage, g.provisional) == ("A", 0.368, True)


def test_review_midway_shows_the_grade_so_far_and_keeps_the_place(pulse: Chat):
    pulse.say("4")
    pulse.say("review")
    assert pulse.transcript().split("\n")[-9:] == dedent("""
        > review
        [review] Acme: Not enough answers to grade yet (1 of 14 questions; a letter needs 35% of the worksheet).
            Answer more (change N), keep it as a draft, or discard.
            1. Pays now: 4 — Solid margin
            2. Cost to serve: (skipped)
            3. Outcomes delivered: (skipped)
            4. Renewal likelihood: (skipped)
            5. Payment risk: (skipped)
          actions: Keep as draft | Change an answer | Discard
        """).split("\n")  # noqa: E501
    assert _state(pulse) == ("open", 1)
    pulse.say("about right")
    assert _asked(pulse) == "outcomes_value 3 of 5"


def test_review_with_nothing_answered_offers_change_or_discard(pulse: Chat):
    pulse.send("review", Choose("c|review|"))
    assert pulse.transcript().split("\n")[1:] == [
        "[review] Nothing about Acme is answered yet, so there is no grade.",
        "    Say change 1 to answer the first question, or discard.",
        "  actions: Change an answer | Discard",
    ]


def test_restart_throws_the_answers_away_and_starts_again(pulse: Chat):
    pulse.say("4")
    pulse.say("about right")
    old = pulse.session_id
    pulse.say("restart")
    assert kinds(pulse.last) == ["info", "question"]
    assert _asked(pulse) == "pays_now 1 of 5"
    assert pulse.session_id != old
    assert _answers(pulse) == {}
    with session_scope(pulse.conv.db) as s:
        assert sessions_db.get_session(s, old).status == "discarded"


# ---------------------------------------------------------------------- change N
def _finish(chat: Chat) -> None:
    for a in ("4", "about right", "3", "4", "low"):
        chat.say(a)
    assert kinds(chat.last) == ["echo", "review"]


def test_an_answer_typed_in_review_says_what_to_do(pulse: Chat):
    _finish(pulse)
    pulse.say("5")
    assert kinds(pulse.last) == ["error", "review"]
    assert pulse.last[0].text == "All questions are answered: say save, discard, or change N."
    assert _state(pulse) == ("review", 5)
    assert _answers(pulse)["renewal"] == 4


@pytest.mark.parametrize("how", ["text", "button"])
def test_change_from_review_returns_to_review(pulse: Chat, how: str):
    _finish(pulse)
    pulse.clear()
    if how == "text":
        pulse.say("change 3")
    else:  # the echo of question 3 carried a Change button: c|change|3
        pulse.send("[Change]", Choose("c|change|3"))
    pulse.say("5")
    assert pulse.transcript() == dedent(f"""
        > {'change 3' if how == 'text' else '[Change]'}
        [question 3 of 5] Are we delivering business outcomes Acme can point to?
          choices: 1 Nothing visible | 2 Little | 3 Some | 4 Clear outcomes | 5 Transformational
          actions: Back | Skip | Why?
        > 5
        [echo] Got it: 5 — Transformational
          actions: Change
        [review] Acme: A (88.1/100, provisional: 37% answered), recommendation: invest more.
            Carried by Good for you, 75. Lifted by Cost to serve: About right (+15.0); Pays now: 4 — Solid margin (+10.0); Outcomes delivered: 5 — Transformational (+7.5). Provisional: 37% of the worksheet answered (5 of 14 questions).
            1. Pays now: 4 — Solid margin
            2. Cost to serve: About right
            3. Outcomes delivered: 5 — Transformational
            4. Renewal likelihood: 4 — Likely
            5. Payment risk: Low - they pay on time
          actions: Save | Change an answer | Discard
        """)  # noqa: E501
    assert _state(pulse) == ("review", 5)


def test_change_an_answer_button_then_skip_returns_to_review(pulse: Chat):
    _finish(pulse)
    pulse.pick("Change an answer")
    assert _asked(pulse) == "pays_now 1 of 5"
    pulse.say("skip")  # keep the answer as it was
    assert kinds(pulse.last) == ["review"]
    assert _answers(pulse)["pays_now"] == 4


@pytest.mark.parametrize("text", ["change 9", "change 0", "edit 6"])
def test_change_to_a_question_that_does_not_exist_is_a_clear_error(pulse: Chat, text: str):
    _finish(pulse)
    pulse.say(text)
    n = text.split()[1]
    assert [(p.kind.value, p.text) for p in pulse.last] == [
        ("error", f"There is no question {n}. Say change and a question number from 1 to 5, "
                  "e.g. change 2.")]
    assert _state(pulse) == ("review", 5)


def test_a_forged_change_button_is_refused(pulse: Chat):
    pulse.send("[Change]", Choose("c|change|"))
    assert [(p.kind.value, p.text) for p in pulse.last] == [
        ("error", "Say change and a question number from 1 to 5, e.g. change 2.")]
    pulse.send("[Change]", Choose("c|change|x"))  # not a value the bot makes: the codec says so
    assert [(p.kind.value, p.text) for p in pulse.last] == [
        ("error", "That button is no longer valid. Type help to see what you can do.")]
    pulse.send("[?]", Choose("zz|1|2"))
    assert kinds(pulse.last) == ["error"]
    assert pulse.last[0].text.startswith("That button is no longer valid")
    assert _state(pulse) == ("open", 0)


def test_changing_an_answer_in_review_keeps_its_history_and_regrades(pulse: Chat):
    _finish(pulse)
    before = pulse.prompt("review").review
    assert (before.letter, before.total) == ("A", 80.6)
    pulse.say("change 1")
    pulse.pick("2 Thin margin")
    after = pulse.prompt("review").review
    assert after.answers[0].answer == "2 — Thin margin"
    assert (after.letter, after.total) == ("C", 60.6)
    pulse.say("save")

    with session_scope(pulse.conv.db) as s:
        history = sessions_db.answer_history(s, pulse.session_id, "pays_now")
        assert [(a.value, a.source, a.raw_text) for a in history] == [
            (4, "rules", "4"), (2, "button", "2")]
        assert history[0].superseded_at is not None
        assert history[1].superseded_at is None
        assert history[0].superseded_at >= history[0].created_at
        [g] = s.exec(select(Grade)).all()
        assert g.answers["pays_now"] == 2
        assert (g.letter, g.total) == ("C", 60.6)
        acme = s.exec(select(Customer)).one()
        assert grades_db.latest_grade(s, acme).id == g.id


# ---------------------------------------------------------------------- unreadable answers
@pytest.mark.parametrize(("answers", "text", "reason", "hint"), [
    ([], "6", "6 is out of range.",
     "Answer 1 to 5 (1 = We lose money, 2 = Thin margin, 3 = Break-even-ish, 4 = Solid margin, "
     "5 = Excellent and growing). Don't know? Say skip."),
    ([], "0", "0 is out of range.", None),
    ([], "3.5", "3.5 is not a whole number.", None),
    ([], "8/10", "This question uses a 1-5 scale, not 1-10.", None),
    ([], "pretty good I guess", "I couldn't read that as a 1-5 answer.", None),
    (["4"], "whatever", "That doesn't match any of the choices.",
     "Pick one: 1 = Heavily over-serving, 2 = Somewhat over-serving, 3 = About right, "
     "4 = Under-serving. Don't know? Say skip."),
    (["4"], "7", "There is no choice 7.", None),
])
def test_unreadable_answers_are_reasked_with_reason_and_hint(pulse: Chat, answers, text,
                                                             reason, hint):
    for a in answers:
        pulse.say(a)
    before = _state(pulse)
    asked = pulse.prompt("question")
    pulse.say(text)
    assert kinds(pulse.last) == ["reask", "question"]
    reask, again = pulse.last
    assert reask.text == reason
    if hint is not None:
        assert reask.detail == hint
    assert reask.question_id == asked.question_id
    assert again.model_dump() == asked.model_dump()  # the very same question, same place
    assert _state(pulse) == before
    assert set(_answers(pulse)) == ({"pays_now"} if answers else set())


def test_unreadable_annual_answers(chat: Chat):
    chat.start("Globex", Cadence.ANNUAL)
    chat.pick("Create Globex")
    for _ in range(3):
        chat.say("skip")
    chat.say("purple")  # yes/no
    assert chat.last[0].text == "I couldn't tell if that was a yes or a no."
    assert chat.last[0].detail == "Answer yes, no or not sure."
    for _ in range(6):
        chat.say("skip")
    assert _asked(chat) == "revenue_share 10 of 15"
    chat.say("150%")
    assert (chat.last[0].text, chat.last[0].detail) == (
        "150 is out of range.", "Answer a percent from 0 to 100, like 35%. Don't know? Say skip.")
    chat.say("lots")
    assert chat.last[0].text == "I couldn't read that as a percent."
    for _ in range(4):
        chat.say("skip")
    assert _asked(chat) == "advocacy 14 of 15"
    chat.say("11")
    assert (chat.last[0].text, chat.last[0].detail) == (
        "11 is out of range.", "Answer a number from 0 to 10. Don't know? Say skip.")
    assert _answers(chat) == {}


def test_an_out_of_range_button_value_is_refused(pulse: Chat):
    pulse.send("[6]", Choose("a|pays_now|6"))
    assert [(p.kind.value, p.text) for p in pulse.last] == [
        ("error", "That is not a valid answer: 6 is out of range.")]
    pulse.send("[?]", Choose("a|no_such_question|1"))
    assert [(p.kind.value, p.text) for p in pulse.last] == [
        ("error", "That answer belongs to a question this grading does not ask.")]
    pulse.send("[mission]", Choose("a|mission|3"))  # an annual-only question
    assert kinds(pulse.last) == ["error"]
    assert _answers(pulse) == {}
    assert _state(pulse) == ("open", 0)


def test_very_long_text_is_refused_not_stored(pulse: Chat):
    pulse.say("4 " + "x" * 5000)
    assert kinds(pulse.last) == ["error"]
    assert "too long" in pulse.last[0].text
    assert _answers(pulse) == {}


def test_start_over_uses_the_sheet_the_rep_asked_for(conv, alice):
    """/grade Acme annual while a quarterly grading is open: "Start over" gives the annual
    sheet, not the quarterly one again."""
    from bot.engine import Kind, Start

    created = conv.handle(alice, Start("Acme", Cadence.QUARTERLY))
    create = next(o for o in created[0].choices if o.value.startswith("create|"))
    first = conv.handle(alice, Choose(create.value))
    assert "quarterly" in first[0].text
    offer = conv.handle(alice, Start("Acme", Cadence.ANNUAL))[0]
    assert offer.kind is Kind.RESUME_OR_RESTART
    restart = next(o for o in offer.choices if o.label == "Start over")
    reply = conv.handle(alice, Choose(restart.value))
    assert "annual worksheet" in reply[0].text
    assert reply[-1].progress is not None
    assert reply[-1].progress.total == 15


def test_change_an_answer_offers_every_question_as_a_menu(pulse: Chat):
    """Channels with menus show one item per question; choosing one goes straight there."""
    _finish(pulse)
    change = pulse.option("Change an answer")
    assert change.value == "c|change|1"  # channels without menus: start at the first
    assert [(o.label, o.value) for o in change.menu] == [
        ("1. Pays now", "c|change|1"), ("2. Cost to serve", "c|change|2"),
        ("3. Outcomes delivered", "c|change|3"), ("4. Renewal likelihood", "c|change|4"),
        ("5. Payment risk", "c|change|5")]
    pulse.send("[4. Renewal likelihood]", Choose(change.menu[3].value))
    assert _asked(pulse) == "renewal 4 of 5"
    pulse.say("2")
    assert kinds(pulse.last) == ["echo", "review"]
    assert _answers(pulse)["renewal"] == 2


def test_echo_progress_says_where_the_answered_question_sits(pulse: Chat):
    """Channels redraw an answered question in place with its "Question N of M" line."""
    pulse.say("4")
    pulse.say("about right")
    echo = pulse.prompt("echo")
    assert echo.question_id == "service_level"
    assert echo.progress is not None
    assert (echo.progress.index, echo.progress.total) == (2, 5)
    assert [o.value for o in echo.actions] == ["c|change|2"]
