"""Teams parity: a whole annual sheet by taps alone, stale cards that change nothing, one
live card, review lines that break, Why? that keeps the confirmation, personal chat only."""

from __future__ import annotations

from typing import Any

from tests.teams.conftest import Env, Rep, actions, activity, response_card, shown, values
from tests.teams.test_grading import grades


def _create(rep: Rep, text: str = "grade Acme annual") -> None:
    card = rep.ask(text)
    rep.click(rep.latest("create|"), values(card, "create|")[0])


def _updates(rep: Rep) -> list[Any]:
    return [s for s in rep.sent() if s.method == "update"]


def _live_answer_buttons(rep: Rep) -> list[str]:
    """Answer buttons on every card as it looks now (posted, then updated)."""
    now: dict[str, dict[str, Any]] = {}
    for s in rep.sent():
        if s.cards:
            now[s.activity_id] = s.card
    return [v for card in now.values() for v in values(card, "a|")]


def test_the_annual_sheet_by_taps_alone_ends_saved_and_complete(env: Env) -> None:
    rep = env.rep()
    _create(rep, "grade Globex annual")
    tapped = []
    for n in range(15):
        q = rep.latest("c|why|")
        assert f"Question {n + 1} of 15" in shown(q.card)
        answers = values(q.card, "a|")
        choice = answers[-1] if answers else values(q.card, "c|skip|")[0]
        tapped.append(next(a["title"] for a in actions(q.card) if a["data"]["value"] == choice))
        resp = rep.click(q, choice)
        assert values(response_card(resp), "a|") == []  # the tapped card: answered, no buttons
    assert tapped[9] == "over 30 %"
    assert tapped[13] == "10"
    assert tapped[14] == "Nothing to add"
    review = rep.latest("c|save|")
    text = shown(review.card)
    assert text.startswith("Review before saving — not saved yet")
    assert "10. Share of revenue: over 30 %" in text  # the answers as Slack writes them
    assert "Incomplete" not in text
    resp = rep.click(review, "c|save|")
    assert shown(response_card(resp)).startswith("Saved ✓")
    [g] = grades(env, "Globex")
    assert g.coverage == 1.0
    assert g.answers["revenue_share"] == 65
    assert g.answers["advocacy"] == 10


def test_a_typed_answer_retires_the_card_and_a_stale_tap_changes_nothing(env: Env) -> None:
    rep = env.rep()
    _create(rep, "grade Acme quarterly")
    rep.ask("4")
    q2 = rep.latest("a|service_level|")
    card = rep.ask("about right")
    assert "Question 3 of 5" in shown(card)
    # the question card the typed answer answered lost its answer buttons and shows the
    # answer, with Change (as after a tap)
    [update] = [u for u in _updates(rep) if u.activity_id == q2.activity_id]
    assert values(update.card, "a|") == []
    assert "For what Acme brings" in shown(update.card)
    assert "✅ About right" in shown(update.card)
    assert values(update.card) == ["c|change|2"]
    # every card still tappable is the current question's
    assert {v.split("|")[1] for v in _live_answer_buttons(rep)} == {"outcomes_value"}
    # a tap on the old card (as a client that missed the update would send it)
    resp = rep.click(q2, "a|service_level|heavy_over")
    reply = shown(response_card(resp))
    assert "That question was already answered (Cost to serve: About right)" in reply
    assert "Change it?" in reply
    assert "You chose" not in reply
    assert values(response_card(resp)) == ["c|change|2"]
    with env.sv.session() as s:
        from sqlmodel import select

        from storage.models import Answer
        rows = s.exec(select(Answer).where(Answer.question_id == "service_level")).all()
    assert [r.value for r in rows] == ["right"]
    assert sum("For what Acme brings" in shown(s.card) for s in rep.sent()
               if s.method != "update" and s.cards) == 1  # the question was posted once


def test_why_keeps_what_the_card_said_and_the_question(env: Env) -> None:
    rep = env.rep()
    _create(rep, "grade Acme quarterly")
    rep.ask("4")
    assert "🤔" in shown(rep.ask("purple elephants"))
    resp = rep.click(rep.latest("c|why|"), "c|why|")
    after = shown(response_card(resp))
    assert "🤔" in after  # what the card said stays
    assert "Why we ask about cost to serve" in after
    assert "a|service_level|right" in values(response_card(resp))


def test_typed_why_and_help_leave_the_question_to_tap(env: Env) -> None:
    rep = env.rep()
    _create(rep, "grade Acme quarterly")
    q1 = rep.latest("c|why|")
    assert "Why we ask about" in shown(rep.ask("why"))
    assert "change N" in shown(rep.ask("help"))
    # said below; the question card was not touched and is still the one to tap
    assert [u for u in _updates(rep) if u.activity_id == q1.activity_id] == []
    assert {v.split("|")[1] for v in _live_answer_buttons(rep)} == {"pays_now"}
    resp = rep.click(q1, "a|pays_now|4")
    assert "✅ 4 — Solid margin" in shown(response_card(resp))
    assert "Question 2 of 5" in shown(rep.sent()[-1].card)


def test_every_answer_stays_on_screen_typed_or_tapped(env: Env) -> None:
    rep = env.rep()
    _create(rep, "grade Acme quarterly")
    rep.ask("4")  # typed
    q2 = rep.latest("a|service_level|")
    rep.click(q2, "a|service_level|right")  # tapped: the card it is on becomes the answer
    now: dict[str, dict[str, Any]] = {}
    for s in rep.sent():
        if s.cards:
            now[s.activity_id] = s.card
    if rep.last_invoke is not None:
        now[q2.activity_id] = response_card(rep.last_invoke)
    screen = "\n".join(shown(c) for c in now.values())
    assert "✅ 4 — Solid margin" in screen
    assert "✅ About right" in screen


def test_a_group_chat_gets_a_pointer_to_the_personal_chat(env: Env) -> None:
    rep = env.rep()
    body = activity("message", env.connector.url, text="grades")
    body["conversation"]["conversationType"] = "groupChat"
    body["conversation"]["id"] = "19:group@thread.v2"
    assert env.post(body).status_code == 200
    [sent] = [s for s in env.connector.all() if s.conversation == "19:group@thread.v2"]
    assert "personal chat" in sent.body["text"]
    assert not sent.cards  # nothing of anyone's book
    assert rep.sent() == []


def test_finished_gradings_say_teams_words(env: Env) -> None:
    rep = env.rep()
    _create(rep, "grade Acme quarterly")
    rep.ask("discard")
    card = rep.ask("about right")
    assert "Hi! Say grade <customer>" in shown(card) or "grade <customer>" in shown(card)
    assert "/grade" not in " ".join(shown(s.card) for s in rep.sent() if s.cards)


def test_a_kept_draft_says_teams_words(env: Env) -> None:
    rep = env.rep()
    _create(rep, "grade Acme quarterly")
    rep.ask("4")
    rep.ask("save")  # asks once: too little is answered
    card = shown(rep.ask("save"))
    assert "Kept as a draft: nothing was saved as a grade." in card
    assert "Say resume to answer more now, or later with grade <customer>." in card
    assert "/grade" not in card

