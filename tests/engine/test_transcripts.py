"""Whole conversations through the engine, compared in full with a written-out transcript.

The expected transcripts are the spec of what a rep sees: what is asked, in which order,
which buttons are offered, how answers are echoed, what the review and the saved grade say.
"""

from __future__ import annotations

from sqlmodel import select

from scoring import Cadence
from storage import customers as customers_db
from storage import grades as grades_db
from storage.engine import session_scope
from storage.models import Answer, Customer
from tests.engine.helpers import dedent


def test_quarterly_pulse_by_buttons_ends_in_a_saved_grade(chat, db, alice):
    chat.start("Acme", Cadence.QUARTERLY)
    chat.pick("Create Acme")
    chat.pick("4 Solid margin")
    chat.pick("About right")
    chat.pick("3 Some")
    chat.pick("4 Likely")
    chat.pick("Low - they pay on time")
    chat.pick("Save")

    assert chat.transcript() == dedent("""
        > start Acme quarterly
        [choose_customer] I don't know a customer called Acme.
            Create it as a new customer you own?
          choices: Create Acme
        > [Create Acme]
        [info] Grading Acme: the quarterly worksheet, 5 questions.
            Pick a choice or answer in your own words. Say help at any time.
        [question 1 of 5] How well does Acme pay us right now, for the effort they take?
          choices: 1 We lose money | 2 Thin margin | 3 Break-even-ish | 4 Solid margin | 5 Excellent and growing
          actions: Skip | Why?
        > [4 Solid margin]
        [echo] Got it: 4 — Solid margin
          actions: Change
        [question 2 of 5] For what Acme brings, are we over-serving or under-serving them?
          choices: Heavily over-serving | Somewhat over-serving | About right | Under-serving
          actions: Back | Skip | Why?
        > [About right]
        [echo] Got it: About right
          actions: Change
        [question 3 of 5] Are we delivering business outcomes Acme can point to?
          choices: 1 Nothing visible | 2 Little | 3 Some | 4 Clear outcomes | 5 Transformational
          actions: Back | Skip | Why?
        > [3 Some]
        [echo] Got it: 3 — Some
          actions: Change
        [question 4 of 5] How likely is Acme to renew?
          choices: 1 Almost certainly not | 2 Unlikely | 3 Coin toss | 4 Likely | 5 Almost certain
          actions: Back | Skip | Why?
        > [4 Likely]
        [echo] Got it: 4 — Likely
          actions: Change
        [question 5 of 5] What is the risk that Acme pays late or not at all?
          choices: Low - they pay on time | Some - occasionally late | High - often late or disputed
          actions: Back | Skip | Why?
        > [Low - they pay on time]
        [echo] Got it: Low - they pay on time
          actions: Change
        [review] Acme: A (80.6/100, provisional: 37% answered), recommendation: invest more.
            Carried by Good for you, 75. Lifted by Cost to serve: About right (+15.0); Pays now: 4 — Solid margin (+10.0); Payment risk: Low - they pay on time (+3.8). Provisional: 37% of the worksheet answered (5 of 14 questions).
            1. Pays now: 4 — Solid margin
            2. Cost to serve: About right
            3. Outcomes delivered: 3 — Some
            4. Renewal likelihood: 4 — Likely
            5. Payment risk: Low - they pay on time
          actions: Save | Change an answer | Discard
        > [Save]
        [saved] Saved: Acme is graded A (80.6/100, provisional: 37% answered). Recommendation: invest more.
            Carried by Good for you, 75. Lifted by Cost to serve: About right (+15.0); Pays now: 4 — Solid margin (+10.0); Payment risk: Low - they pay on time (+3.8). Provisional: 37% of the worksheet answered (5 of 14 questions).
        """)  # noqa: E501

    with session_scope(db) as s:
        latest = grades_db.latest_grade_by_name(s, alice.workspace_id, "acme")
        assert latest is not None
        assert (latest.letter, latest.total, latest.owner_id) == ("A", 80.6, alice.person_id)
        grade = grades_db.latest_grade(s, s.get(Customer, latest.customer_id))
        assert grade.cadence == "quarterly"
        assert grade.period == "2026-Q2"
        assert grade.answers == {"pays_now": 4, "service_level": "right", "outcomes_value": 3,
                                 "renewal": 4, "payment_risk": "low"}
        sources = {a.source for a in s.exec(select(Answer)).all()}
        assert sources == {"button"}


def test_annual_sheet_by_typed_answers_ends_in_a_saved_grade(chat, db, alice):
    with session_scope(db) as s:
        customers_db.create_customer(s, alice.workspace_id, "Globex", alice.person_id)
    chat.start("Globex")  # never graded: the annual sheet
    for text in ("4", "none of it", "3", "yes", "4", "likely", "they already have",
                 "good fit", "about right", "35%", "4 clear outcomes", "5", "low", "9",
                 "Champion <@U42> moves to the US office"):
        chat.say(text)
    chat.say("save")

    assert chat.transcript() == dedent("""
        > start Globex
        [info] Grading Globex: the annual worksheet, 15 questions.
            Pick a choice or answer in your own words. Say help at any time.
        [question 1 of 15] How mission-driven is Globex - do they do real good for others?
          choices: 1 Not at all | 2 A little | 3 Somewhat | 4 Clearly | 5 It is their whole reason to exist
          actions: Skip | Why?
        > 4
        [echo] Got it: 4 — Clearly
          actions: Change
        [question 2 of 15] How much of our work for Globex is pro-bono or deeply discounted for impact?
          choices: None of it | Some of it | Most or all of it
          actions: Back | Skip | Why?
        > none of it
        [echo] Got it: None of it
          actions: Change
        [question 3 of 15] How much does working with Globex sharpen what we want to be great at?
          choices: 1 Nothing new | 2 A little | 3 Some | 4 A lot | 5 It is shaping our expertise
          actions: Back | Skip | Why?
        > 3
        [echo] Got it: 3 — Some
          actions: Change
        [question 4 of 15] Does Globex take us into a product, industry or function we have chosen to enter?
          choices: Yes | No | Not sure
          actions: Back | Skip | Why?
        > yes
        [echo] Got it: Yes
          actions: Change
        [question 5 of 15] How well does Globex pay us right now, for the effort they take?
          choices: 1 We lose money | 2 Thin margin | 3 Break-even-ish | 4 Solid margin | 5 Excellent and growing
          actions: Back | Skip | Why?
        > 4
        [echo] Got it: 4 — Solid margin
          actions: Change
        [question 6 of 15] How likely is Globex to hire us for more in the next two years?
          choices: 1 Very unlikely | 2 Unlikely | 3 Maybe | 4 Likely | 5 Already in motion
          actions: Back | Skip | Why?
        > likely
        [echo] Got it: 4 — Likely
          actions: Change
        [question 7 of 15] Does Globex refer us to people who can hire us?
          choices: They already have | They would if we asked | Unlikely | Never
          actions: Back | Skip | Why?
        > they already have
        [echo] Got it: They already have
          actions: Change
        [question 8 of 15] How well does Globex match our target segment and the experience we sell?
          choices: 1 Clear mis-fit | 2 Poor fit | 3 Partial fit | 4 Good fit | 5 Bullseye
          actions: Back | Skip | Why?
        > good fit
        [echo] Got it: 4 — Good fit
          actions: Change
        [question 9 of 15] For what Globex brings, are we over-serving or under-serving them?
          choices: Heavily over-serving | Somewhat over-serving | About right | Under-serving
          actions: Back | Skip | Why?
        > about right
        [echo] Got it: About right
          actions: Change
        [question 10 of 15] Roughly what share of our revenue does Globex represent?
          choices: under 0.5 % | 0.5–2 % | 2–15 % | 15–30 % | over 30 %
          actions: Back | Skip | Why?
        > 35%
        [echo] Got it: 35%
          actions: Change
        [question 11 of 15] Are we delivering business outcomes Globex can point to?
          choices: 1 Nothing visible | 2 Little | 3 Some | 4 Clear outcomes | 5 Transformational
          actions: Back | Skip | Why?
        > 4 clear outcomes
        [echo] Got it: 4 — Clear outcomes
          actions: Change
        [question 12 of 15] How likely is Globex to renew?
          choices: 1 Almost certainly not | 2 Unlikely | 3 Coin toss | 4 Likely | 5 Almost certain
          actions: Back | Skip | Why?
        > 5
        [echo] Got it: 5 — Almost certain
          actions: Change
        [question 13 of 15] What is the risk that Globex pays late or not at all?
          choices: Low - they pay on time | Some - occasionally late | High - often late or disputed
          actions: Back | Skip | Why?
        > low
        [echo] Got it: Low - they pay on time
          actions: Change
        [question 14 of 15] On a scale of 0 to 10, how likely is Globex to recommend us to a peer?
          choices: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10
          actions: Back | Skip | Why?
        > 9
        [echo] Got it: 9
          actions: Change
        [question 15 of 15] Anything the next person grading Globex should know? (or say skip)
          choices: Nothing to add
          actions: Back | Why?
        > Champion <@U42> moves to the US office
        [echo] Got it: Champion <@U42> moves to the US office
          actions: Change
        [review] Globex: A (82.2/100), recommendation: invest more.
            Carried by Good for you, 81.2. Lifted by Pays now: 4 — Solid margin (+5.0); Refers us: They already have (+5.0); Target segment fit: 4 — Good fit (+3.8). Held back by Share of revenue: 35% (-0.8).
            1. Mission: 4 — Clearly
            2. Pro-bono or discounted: None of it
            3. Builds our skills: 3 — Some
            4. Opens new ground: Yes
            5. Pays now: 4 — Solid margin
            6. May hire later: 4 — Likely
            7. Refers us: They already have
            8. Target segment fit: 4 — Good fit
            9. Cost to serve: About right
            10. Share of revenue: 35%
            11. Outcomes delivered: 4 — Clear outcomes
            12. Renewal likelihood: 5 — Almost certain
            13. Payment risk: Low - they pay on time
            14. Would recommend us: 9
            15. Notes: Champion <@U42> moves to the US office
          actions: Save | Change an answer | Discard
        > save
        [saved] Saved: Globex is graded A (82.2/100). Recommendation: invest more.
            Carried by Good for you, 81.2. Lifted by Pays now: 4 — Solid margin (+5.0); Refers us: They already have (+5.0); Target segment fit: 4 — Good fit (+3.8). Held back by Share of revenue: 35% (-0.8).
        """)  # noqa: E501

    with session_scope(db) as s:
        latest = grades_db.latest_grade_by_name(s, alice.workspace_id, "Globex")
        # others (75 + 20) / 2 = 47.5; skills (50 + 100) / 2 = 75; value (150 + 75 + 100) / 4
        # = 81.25 carries, skills adds 0.25 * (100 - 81.25) * (75 - 50) / 50 = 2.34;
        # fit (150 + 100 + 40) / 4 = 72.5; outcomes (150 + 100 + 100 + 100) / 5 = 90
        # total = (2 * 83.59 + 1.5 * 72.5 + 1.5 * 90) / 5 = 82.19 -> A
        assert (latest.letter, latest.total) == ("A", 82.2)
        grade = grades_db.latest_grade(s, s.get(Customer, latest.customer_id))
        assert (grade.cadence, grade.period, grade.coverage) == ("annual", "2026", 1.0)
        assert grade.answers["revenue_share"] == 35
        assert grade.answers["notes"] == "Champion <@U42> moves to the US office"
        rows = s.exec(select(Answer)).all()
        assert len(rows) == 15
        assert {a.raw_text for a in rows if a.question_id == "hire_later"} == {"likely"}


def test_unknown_customer_offers_did_you_mean_and_create(chat, db, alice):
    with session_scope(db) as s:
        for name in ("Acme Corp", "Acme Labs", "Globex"):
            customers_db.create_customer(s, alice.workspace_id, name, alice.person_id)
    chat.start("Acme", Cadence.QUARTERLY)
    chat.start("Akme Corp", Cadence.QUARTERLY)
    chat.pick("Acme Corp")
    chat.say("cancel")
    chat.start("Initech")
    chat.pick("Create Initech")

    assert chat.transcript() == dedent("""
        > start Acme quarterly
        [choose_customer] I don't know a customer called Acme. Did you mean one of these?
            Or create it as a new customer you own.
          choices: Acme Corp | Acme Labs | Create Acme
        > start Akme Corp quarterly
        [choose_customer] I don't know a customer called Akme Corp. Did you mean one of these?
            Or create it as a new customer you own.
          choices: Acme Corp | Create Akme Corp
        > [Acme Corp]
        [info] Grading Acme Corp: the quarterly worksheet, 5 questions.
            Pick a choice or answer in your own words. Say help at any time.
        [question 1 of 5] How well does Acme Corp pay us right now, for the effort they take?
          choices: 1 We lose money | 2 Thin margin | 3 Break-even-ish | 4 Solid margin | 5 Excellent and growing
          actions: Skip | Why?
        > cancel
        [info] Discarded. Nothing was saved as a grade.
        > start Initech
        [choose_customer] I don't know a customer called Initech.
            Create it as a new customer you own?
          choices: Create Initech
        > [Create Initech]
        [info] Grading Initech: the annual worksheet, 15 questions.
            Pick a choice or answer in your own words. Say help at any time.
        [question 1 of 15] How mission-driven is Initech - do they do real good for others?
          choices: 1 Not at all | 2 A little | 3 Somewhat | 4 Clearly | 5 It is their whole reason to exist
          actions: Skip | Why?
        """)  # noqa: E501

    with session_scope(db) as s:
        made = customers_db.find_customer(s, alice.workspace_id, "initech").exact
        assert made is not None
        assert made.owner_id == alice.person_id
        # picking a suggestion never creates the misspelling
        assert customers_db.find_customer(s, alice.workspace_id, "Akme Corp").exact is None
        assert customers_db.find_customer(s, alice.workspace_id, "Acme").exact is None


def test_creating_an_archived_customer_brings_it_back(chat, db, alice):
    """An archived customer is not suggested, so the rep asks to create it: the bot grades the
    existing one (no duplicate) and says it is back in the book."""
    with session_scope(db) as s:
        old = customers_db.create_customer(s, alice.workspace_id, "Old Co", alice.person_id)
        customers_db.archive_customer(s, old)
        old_id = old.id
    chat.start("old co", Cadence.QUARTERLY)
    chat.pick("Create old co")
    log = chat.transcript().splitlines()
    at = log.index("> [Create old co]")
    assert log[at + 1:at + 3] == [
        "[info] Old Co was archived: grading it puts it back in the book.",
        "[info] Grading Old Co: the quarterly worksheet, 5 questions.",
    ]
    with session_scope(db) as s:
        rows = s.exec(select(Customer)).all()
        assert [(c.id, c.name, c.archived) for c in rows] == [(old_id, "Old Co", False)]
