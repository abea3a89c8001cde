"""A pulse updates the sheet, on the default worksheet as it ships (floor 60 %): an annual,
then quarterly pulses of the same customer; drafts below the floor; stale answers.

The annual (typed): mission 4, pro-bono none, skills 3, new ground yes, pays now 4, may hire
later likely, refers already, segment fit good, cost to serve about right, 35 % of revenue,
outcomes 4, renewal 5, payment low, would recommend 9, a note. By hand (test_transcripts):
others 47.5, skills 75, value 81.25 carries (skills adds 2.34), fit 72.5, outcomes 90 ->
A 82.2.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.engine import Conversation
from bot.lookups import customer_card
from scoring import Cadence, load_worksheet
from storage import customers as customers_db
from storage import grades as grades_db
from storage.engine import session_scope
from storage.models import Customer, Grade
from tests.engine.helpers import Chat, person

ANNUAL = ("4", "none of it", "3", "yes", "4", "likely", "they already have", "good fit",
          "about right", "35%", "4 clear outcomes", "5", "low", "9", "Champion leaves in May")
SAME_PULSE = ("4", "about right", "4", "5", "low")


@pytest.fixture
def shipped(db, clock, alice) -> Chat:
    """alice grading on the default worksheet exactly as it ships."""
    return Chat(Conversation(db, load_worksheet(), clock=clock), alice)


def _annual(chat: Chat) -> None:
    with session_scope(chat.conv.db) as s:
        customers_db.create_customer(s, chat.actor.workspace_id, "Globex", chat.actor.person_id)
    chat.start("Globex", Cadence.ANNUAL)
    for text in ANNUAL:
        chat.say(text)
    chat.say("save")
    assert chat.prompt("saved").text.startswith("Saved: Globex is graded A (82.2/100).")


def _pulse(chat: Chat, answers: tuple[str, ...]) -> None:
    chat.start("Globex", Cadence.QUARTERLY)
    for text in answers:
        chat.say(text)


def _grades(chat: Chat) -> list[Grade]:
    with session_scope(chat.conv.db) as s:
        rows = s.exec(select(Grade).order_by(Grade.id)).all()
        for r in rows:
            s.expunge(r)
        return list(rows)


def test_an_unchanged_pulse_shows_no_change_and_carries_the_rest(shipped: Chat, clock) -> None:
    _annual(shipped)
    clock.advance(days=60)
    _pulse(shipped, SAME_PULSE)
    review = shipped.prompt("review")
    assert review.review is not None
    assert review.text == "Globex: A (82.2/100), recommendation: invest more. No change " \
                          "since the last grade."
    assert review.review.change == "no change (A 82.2)"
    assert review.review.sheet == "5 answers from this pulse, 9 carried from the annual of " \
                                  "2026-05-12"
    assert review.review.carried_by == "Good for you, 81.2"
    shipped.say("save")
    saved = shipped.prompt("saved")
    assert saved.text == ("Saved: Globex is graded A (82.2/100). Recommendation: invest more. "
                          "No change since the last grade.")
    annual, pulse = _grades(shipped)
    assert (pulse.total, pulse.letter, pulse.profile) == (annual.total, annual.letter,
                                                         annual.profile)
    assert pulse.coverage == 1.0
    assert not pulse.provisional
    # every answer of the sheet, with the carried ones' origin and date
    assert set(pulse.answers) == set(annual.answers) - {"notes"}
    carried = pulse.sources["carried"]
    assert set(carried) == {"mission", "pro_bono", "skill_growth", "new_ground", "hire_later",
                            "refers", "segment_fit", "revenue_share", "advocacy"}
    assert {c["grade_id"] for c in carried.values()} == {annual.id}
    assert {c["cadence"] for c in carried.values()} == {"annual"}
    assert pulse.sources["fresh"] == 5
    assert pulse.explanation[1] == ("5 answers from this pulse, 9 carried from the annual of "
                                    "2026-05-12.")
    # the card says the same, in the reader's words
    with session_scope(shipped.conv.db) as s:
        card = customer_card(s, person(shipped.conv.db, shipped.actor), "Globex")
    assert card.sheet == "5 answers from this pulse, 9 carried from the annual of 2026-05-12"
    assert card.trend == "no change since A (82.2)"
    assert card.carried_by == "Good for you, 81.2"


def test_a_pulse_moves_the_grade_only_through_what_it_changed(shipped: Chat, clock) -> None:
    _annual(shipped)
    clock.advance(days=60)
    # pays now 4 -> 2: value (50 + 75 + 100) / 4 = 56.25 still carries (skills 75 beats it:
    # skills carries at 75, value adds 0.25 * 25 * 6.25 / 50 = 0.78): goods 75.78
    # total = (2 * 75.78 + 1.5 * 72.5 + 1.5 * 90) / 5 = 79.07 -> B
    _pulse(shipped, ("2", "about right", "4", "5", "low"))
    review = shipped.prompt("review").review
    assert review is not None
    assert (review.letter, review.total) == ("B", 79.1)
    assert review.carried_by == "Good at it, 75"
    assert review.change == "A 82.2 → B 79.1 (-3.1)"
    # the profile follows the strongest good: a question the pulse asked (pays now) moved it
    assert review.profile == "Good at it"


def test_a_second_pulse_carries_answers_with_their_first_date(shipped: Chat, clock) -> None:
    _annual(shipped)
    clock.advance(days=60)
    _pulse(shipped, SAME_PULSE)
    shipped.say("save")
    clock.advance(days=90)
    _pulse(shipped, ("5", "about right", "4", "5", "low"))
    shipped.say("save")
    *_, last = _grades(shipped)
    assert {c["at"][:10] for c in last.sources["carried"].values()} == {"2026-05-12"}
    assert last.explanation[1] == ("5 answers from this pulse, 9 carried from the annual of "
                                   "2026-05-12.")


def test_stale_answers_drop_out_and_the_grade_becomes_a_draft(shipped: Chat, clock) -> None:
    _annual(shipped)
    clock.advance(days=500)  # past stale_after_days (456): the annual's answers are too old
    _pulse(shipped, SAME_PULSE)
    review = shipped.prompt("review")
    assert review.review is not None
    assert review.review.letter is None
    assert review.review.sheet == "5 answers from this pulse, 9 too old to count"
    shipped.pick("Keep as draft")
    assert shipped.last[0].text.startswith("Not enough answers to grade yet (5 of 14 "
                                           "questions;")
    assert len(_grades(shipped)) == 1  # only the annual: the draft stores no grade
    with session_scope(shipped.conv.db) as s:
        c = s.exec(select(Customer).where(Customer.name == "Globex")).one()
        assert grades_db.latest_grade(s, c).cadence == "annual"


def test_one_answer_is_not_graded_and_not_saved(shipped: Chat) -> None:
    shipped.start("Initech", Cadence.ANNUAL)
    shipped.pick("Create Initech")
    shipped.say("5")
    shipped.say("save")
    shipped.say("save")
    assert shipped.last[0].text == (
        "Not enough answers to grade yet (1 of 14 questions; a letter needs 60% of the "
        "worksheet). Kept as a draft: nothing was saved as a grade.")
    assert _grades(shipped) == []
    # the draft is offered again, answers kept
    shipped.start("Initech", Cadence.ANNUAL)
    assert shipped.last[0].text == "You are already grading Initech (annual, 1 answered). " \
                                   "Resume it or start over?"


def test_a_question_the_pulse_did_not_ask_is_not_listed_as_skipped(shipped: Chat,
                                                                    clock) -> None:
    _annual(shipped)
    _pulse(shipped, SAME_PULSE)
    review = shipped.prompt("review").review
    assert review is not None
    assert [a.label for a in review.answers] == [
        "Pays now", "Cost to serve", "Outcomes delivered", "Renewal likelihood",
        "Payment risk"]
    assert all(a.answer is not None for a in review.answers)


def test_earlier_answers_walk_back_past_old_unmerged_pulses(shipped: Chat, db) -> None:
    """A grade saved before pulses were merged holds only its own answers."""
    _annual(shipped)
    with session_scope(db) as s:
        c = s.exec(select(Customer).where(Customer.name == "Globex")).one()
        annual = grades_db.latest_grade(s, c)
        old_pulse = Grade(workspace_id=c.workspace_id, customer_id=c.id, cadence="quarterly",
                          period="2026-Q3", worksheet_id="default", worksheet_version=1,
                          total=60, letter="C", recommendation="invest_less", coverage=1.0,
                          answers={"pays_now": 2}, previous_grade_id=annual.id,
                          created_at=datetime(2026, 8, 1, tzinfo=UTC))
        grades_db.save_grade(s, old_pulse, c)
        earlier = grades_db.earlier_answers(s, c.id)
    assert earlier["pays_now"].value == 2
    assert earlier["pays_now"].cadence == "quarterly"
    assert earlier["mission"].value == 4
    assert earlier["mission"].grade_id == annual.id
