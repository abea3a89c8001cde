"""Which worksheet is asked (explicit, or what is due), and the strategic review of a book."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.engine import Choose
from scoring import Cadence
from storage import customers as customers_db
from storage import grades as grades_db
from storage.engine import session_scope
from storage.models import Decision, GradingSession
from tests.engine.helpers import Chat, dedent, grade_quickly, kinds


def _intro(chat: Chat) -> str:
    return chat.last[0].text


def test_never_graded_gets_the_annual_sheet(chat: Chat):
    chat.start("Acme")
    chat.pick("Create Acme")
    assert _intro(chat) == "Grading Acme: the annual worksheet, 15 questions."


def test_graded_this_year_gets_the_quarterly_pulse(chat: Chat, clock):
    grade_quickly(chat, "Acme", "43442")
    clock.advance(days=100)  # next quarter, same year
    chat.start("Acme")
    assert _intro(chat) == "Grading Acme: the quarterly worksheet, 5 questions."


def test_graded_last_year_gets_the_annual_sheet(chat: Chat, clock):
    grade_quickly(chat, "Acme", "43442")
    clock.advance(days=240)  # 2027-01-07
    chat.start("Acme")
    assert _intro(chat) == "Grading Acme: the annual worksheet, 15 questions."


@pytest.mark.parametrize(("cadence", "expected"), [
    (Cadence.ANNUAL, "the annual worksheet, 15 questions"),
    (Cadence.QUARTERLY, "the quarterly worksheet, 5 questions"),
])
def test_an_explicit_cadence_wins(chat: Chat, cadence, expected):
    grade_quickly(chat, "Acme", "43442")  # graded this year: the default would be quarterly
    chat.start("Acme", cadence)
    assert _intro(chat) == f"Grading Acme: {expected}."


def test_strategic_for_one_customer_uses_the_strategic_questions(chat: Chat):
    chat.start("Acme", Cadence.STRATEGIC)
    chat.pick("Create Acme")
    assert _intro(chat) == "Grading Acme: the strategic worksheet, 4 questions."
    assert chat.prompt("question").question_id == "mission"


def test_a_strategic_review_of_an_empty_book_says_what_to_do(chat: Chat):
    chat.start("", Cadence.STRATEGIC)
    assert [(p.kind.value, p.text) for p in chat.last] == [
        ("error", "Your book is empty: grade a customer first with the customer's name.")]


def test_starting_without_a_name_asks_for_one(chat: Chat):
    chat.start("  ")
    assert [(p.kind.value, p.text) for p in chat.last] == [
        ("error", "Which customer? Try Acme (optionally followed by quarterly, annual "
                  "or strategic).")]


def test_strategic_review_of_a_book_weakest_first(chat: Chat, alice, db):
    grade_quickly(chat, "Acme", "53551")    # strongest
    grade_quickly(chat, "Beta", "12211")    # weakest
    grade_quickly(chat, "Gamma", "33332")
    chat.clear()
    chat.start("", Cadence.STRATEGIC)
    exit_click = chat.option("Exit").value
    chat.pick("Exit")
    chat.send("[Exit] again", Choose(exit_click))  # a double click: decided already
    chat.say("maintain")
    chat.pick("Invest more")

    assert chat.transcript() == dedent("""
        > start  strategic
        [info] Strategic review of your book: 3 customers, weakest first. For each: invest more, maintain, invest less or exit.
        [decision 1 of 3] Beta: D (26.2/100, provisional: 37% answered), the grade recommends exit. What do we do?
            Carried by Good for you, 0. Lifted by Payment risk: Low - they pay on time (+3.8). Held back by Pays now: 1 — We lose money (-20.0); Renewal likelihood: 1 — Almost certainly not (-3.8); Outcomes delivered: 2 — Little (-3.8). Provisional: 37% of the worksheet answered (5 of 14 questions).
          choices: Invest more | Maintain | Invest less | Exit
          actions: Skip | Pause
        > [Exit]
        [echo] Recorded: exit for Beta.
        [decision 2 of 3] Gamma: B (65.4/100, provisional: 37% answered), the grade recommends maintain. What do we do?
            Carried by Good for you, 50. Lifted by Cost to serve: About right (+15.0); Payment risk: Some - occasionally late (+0.4). Provisional: 37% of the worksheet answered (5 of 14 questions).
          choices: Invest more | Maintain | Invest less | Exit
          actions: Skip | Pause
        > [Exit] again
        (nothing)
        > maintain
        [echo] Recorded: maintain for Gamma.
        [decision 3 of 3] Acme: A (100/100, provisional: 37% answered), the grade recommends invest more. What do we do?
            Carried by Good for you, 100. Lifted by Pays now: 5 — Excellent and growing (+20.0); Cost to serve: About right (+15.0); Outcomes delivered: 5 — Transformational (+7.5). Provisional: 37% of the worksheet answered (5 of 14 questions).
          choices: Invest more | Maintain | Invest less | Exit
          actions: Skip | Pause
        > [Invest more]
        [echo] Recorded: invest more for Acme.
        [summary] Strategic review done: 1 invest more, 1 maintain, 1 exit.
            Decisions are recorded; managers see them in the team view.
        """)  # noqa: E501

    with session_scope(db) as s:
        rows = s.exec(select(Decision).order_by(Decision.id)).all()
        names = {c.id: c.name for c in (customers_db.find_customer(s, alice.workspace_id, n)
                                        .exact for n in ("Acme", "Beta", "Gamma"))}
        assert [(names[d.customer_id], d.decision, d.person_id, d.period) for d in rows] == [
            ("Beta", "exit", alice.person_id, "2026-05-12"),
            ("Gamma", "maintain", alice.person_id, "2026-05-12"),
            ("Acme", "invest_more", alice.person_id, "2026-05-12")]
        review = s.get(GradingSession, chat.session_id)
        assert (review.kind, review.status) == ("strategic", "saved")
        # a decision is not a grade: the customers' grades are untouched
        beta = customers_db.find_customer(s, alice.workspace_id, "Beta").exact
        assert grades_db.latest_grade(s, beta).recommendation == "exit"

    # a stale click after the end records nothing
    chat.send("[Exit] late", Choose(exit_click))
    with session_scope(db) as s:
        assert len(s.exec(select(Decision)).all()) == 3


def test_strategic_review_skip_pause_resume_and_unknown_words(chat: Chat, alice, db):
    grade_quickly(chat, "Acme", "53551")
    grade_quickly(chat, "Beta", "12211")
    with session_scope(db) as s:  # in the book, never graded: last
        customers_db.create_customer(s, alice.workspace_id, "Delta", alice.person_id)
    chat.start("", Cadence.STRATEGIC)
    assert chat.prompt("decision").customer == "Beta"
    skip = chat.option("Skip").value
    chat.send("[Skip]", Choose(skip))
    assert chat.send("[Skip] again", Choose(skip)) == []  # a double click skips one
    assert chat.prompt("decision").customer == "Acme"
    chat.say("dunno")
    assert kinds(chat.last) == ["reask", "decision"]
    assert chat.last[0].text == "Say invest more, maintain, invest less or exit (or skip)."
    chat.pick("Pause")
    assert kinds(chat.last) == ["info"]
    chat.start("", Cadence.STRATEGIC)
    assert chat.prompt("resume_or_restart").text == (
        "You have a strategic review in progress. Resume it or start over?")
    chat.pick("Resume")
    assert chat.prompt("decision").customer == "Acme"
    chat.say("keep")
    assert chat.prompt("decision").text == "Delta: not graded yet. What do we do?"
    assert chat.prompt("decision").progress.text == "3 of 3"
    chat.say("4")
    assert chat.prompt("summary").text == "Strategic review done: 1 maintain, 1 exit."
    with session_scope(db) as s:
        assert [d.decision for d in s.exec(select(Decision).order_by(Decision.id))] == [
            "maintain", "exit"]


def test_strategic_review_restart_starts_from_the_weakest_again(chat: Chat, db):
    grade_quickly(chat, "Acme", "53551")
    grade_quickly(chat, "Beta", "12211")
    chat.start("", Cadence.STRATEGIC)
    first = chat.session_id
    chat.say("exit")
    chat.start("", Cadence.STRATEGIC)
    chat.pick("Start over")
    assert chat.session_id != first
    assert chat.prompt("decision").customer == "Beta"
    assert chat.prompt("decision").progress.text == "1 of 2"
    with session_scope(db) as s:
        assert s.get(GradingSession, first).status == "discarded"


def test_resuming_an_old_review_while_another_is_open_says_so(chat: Chat, clock, db):
    """Only one strategic review per rep is active (the database's rule): resuming an
    expired one while a newer one is open is refused in words that fit a review."""
    grade_quickly(chat, "Acme", "53551")
    grade_quickly(chat, "Beta", "12211")
    chat.start("", Cadence.STRATEGIC)
    old = chat.session_id
    clock.advance(days=8)
    chat.say("keep")  # too late: the old review is put aside, with a Resume button
    resume_old = chat.option("Resume")
    chat.start("", Cadence.STRATEGIC)  # a fresh review of the book
    assert chat.session_id != old
    chat.send("[Resume] (the old one)", Choose(resume_old.value))
    assert [(p.kind.value, p.text) for p in chat.last] == [
        ("error", "You already have another strategic review open.")]
    with session_scope(db) as s:
        assert s.get(GradingSession, old).status == "expired"


def test_periods_and_cadences_follow_the_reps_own_calendar(db, people, conv, clock):
    """18:00 on New Year's Eve in San Francisco is already 1 January in UTC: Sam's grade
    belongs to 2026's last quarter, and on 2 January (his time) the bot asks for the annual
    sheet, since nothing was graded in his 2027 yet. Una, in UTC, graded in 2027."""
    from datetime import UTC, datetime

    from storage import people as people_db
    from storage.models import Grade

    sam, una = people.add("sam"), people.add("una")
    with session_scope(db) as s:
        people_db.get_person(s, sam.person_id).timezone = "America/Los_Angeles"
        s.commit()
    clock.advance(seconds=(datetime(2027, 1, 1, 2, tzinfo=UTC) - clock()).total_seconds())
    grade_quickly(Chat(conv, sam), "Acme", "43442")
    grade_quickly(Chat(conv, una), "Beta", "43442")
    with session_scope(db) as s:
        periods = {g.grader_id: g.period for g in s.exec(select(Grade)).all()}
    assert periods == {sam.person_id: "2026-Q4", una.person_id: "2027-Q1"}
    clock.advance(days=1)  # 2 January, 02:00 UTC: 1 January, 18:00 in San Francisco
    chat = Chat(conv, sam)
    chat.start("Acme")
    assert _intro(chat) == "Grading Acme: the annual worksheet, 15 questions."
    chat = Chat(conv, una)
    chat.start("Beta")
    assert _intro(chat) == "Grading Beta: the quarterly worksheet, 5 questions."
