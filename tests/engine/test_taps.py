"""Grading by taps alone, the review that says it is one, the channel's own words, and why
on a free-text question."""

from __future__ import annotations

from sqlmodel import select

from bot.engine import Actor, Conversation, Start, Text
from bot.engine.prompts import Kind
from scoring import Cadence, Worksheet
from scoring.worksheet import parse_worksheet
from storage.models import Grade
from tests.engine.helpers import Chat, kinds


def _annual(chat: Chat) -> None:
    chat.start("Globex", Cadence.ANNUAL)
    chat.pick("Create Globex")


def _tap_first_choice_of_every_question(chat: Chat) -> list[str]:
    """Answer each question with a tap on its first choice; the labels tapped."""
    tapped = []
    while (q := next((p for p in chat.last if p.kind is Kind.QUESTION), None)) is not None:
        assert q.choices, f"question {q.question_id} offers no tap"
        tapped.append(q.choices[-1].label if q.question_id == "revenue_share"
                      else q.choices[0].label)
        chat.pick(tapped[-1])
    return tapped


def test_the_annual_sheet_graded_by_taps_alone_saves_a_complete_grade(chat: Chat, db):
    _annual(chat)
    tapped = _tap_first_choice_of_every_question(chat)
    assert len(tapped) == 15
    assert {"over 30 %", "0", "Nothing to add"} <= set(tapped)
    review = chat.prompt("review")
    assert review.title == "Review before saving — not saved yet"
    assert review.review is not None
    assert review.review.coverage == 1.0
    assert "10. Share of revenue: over 30 %" in [
        f"{a.number}. {a.label}: {a.answer}" for a in review.review.answers]
    chat.pick("Save")  # complete: no second question
    saved = chat.prompt("saved")
    assert saved.title == "Saved ✓"
    assert saved.review is not None
    assert saved.closes_review
    with db.connect() as c:
        [row] = c.execute(select(Grade.coverage, Grade.answers)).all()
    assert row.coverage == 1.0
    assert row.answers["revenue_share"] == 65
    assert row.answers["advocacy"] == 0


def test_a_band_tap_echoes_the_band(chat: Chat):
    _annual(chat)
    for _ in range(9):
        chat.pick(next(p for p in chat.last if p.kind is Kind.QUESTION).choices[0].label)
    chat.pick("0.5–2 %")
    assert chat.last[0].text == "Got it: 0.5–2 %"
    assert chat.last[0].answer == "0.5–2 %"


def test_saving_an_incomplete_review_asks_once_with_the_coverage(chat: Chat, db):
    _annual(chat)
    while (q := next((p for p in chat.last if p.kind is Kind.QUESTION), None)) is not None:
        chat.pick("Skip" if q.question_id == "advocacy" else q.choices[0].label)
    assert kinds(chat.last)[-1] == "review"
    chat.pick("Save")
    assert kinds(chat.last) == ["confirm"]
    text = chat.last[0].text
    assert text.startswith("Only 13 of 14 scored questions are answered (")
    assert text.endswith("% of the weighted sheet). Save the grade as it is?")
    with db.connect() as c:
        assert c.execute(select(Grade.id)).all() == []
    chat.pick("Save anyway")
    assert kinds(chat.last) == ["saved"]


def test_why_on_a_free_text_question_without_a_reason(conv: Conversation, alice: Actor,
                                                      worksheet: Worksheet):
    raw = worksheet.model_dump(mode="json")
    for q in raw["questions"]:
        if q["id"] == "notes":
            q["why"] = ""
            q["cadences"] = ["quarterly"]
    ws = parse_worksheet(raw)
    local = Conversation(conv.db, ws, clock=conv.clock)
    chat = Chat(local, alice)
    chat.start("Acme", Cadence.QUARTERLY)
    chat.pick("Create Acme")
    for _ in range(5):
        chat.pick("Skip")
    assert chat.last[-1].question_id == "notes"
    chat.say("why")
    assert chat.last[0].text.startswith("Why we ask about notes: it is not scored")


def test_the_engine_speaks_each_channels_words(conv: Conversation, people):
    said = {}
    for platform in ("slack", "teams", "cli"):
        actor = people.add(f"rep-{platform}")
        actor = Actor(actor.workspace_id, actor.person_id, platform)
        said[platform] = conv.handle(actor, Text("about right"))[0].text
        assert conv.handle(actor, Start("  "))[0].text.startswith("Which customer? Try ")
    assert said == {
        "slack": "There is no grading in progress here. Start one with /grade <customer>.",
        "teams": "There is no grading in progress here. Start one with grade <customer>.",
        "cli": "There is no grading in progress here. Start one with the customer's name."}
