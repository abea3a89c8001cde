"""Grading in Teams end to end: card clicks (Action.Execute invokes), typed answers, the form."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Customer, Grade, Person
from tests.teams.conftest import Env, Rep, actions, response_card, shown, values


def grades(env: Env, name: str) -> list[Grade]:
    with env.sv.session() as s:
        c = s.exec(select(Customer).where(Customer.name == name)).first()
        if c is None:
            return []
        return list(s.exec(select(Grade).where(Grade.customer_id == c.id)).all())


def start(rep: Rep, text: str = "grade Acme quarterly") -> None:
    """Ask to grade a new customer, click Create: the first question card is posted."""
    card = rep.ask(text)
    assert "I don't know a customer called Acme" in shown(card)
    sent = rep.latest("create|")
    resp = rep.click(sent, values(sent.card, "create|")[0])
    assert "You chose: Create Acme" in shown(response_card(resp))
    q = rep.latest("a|")
    assert "Grading Acme: the quarterly worksheet, 5 questions." in shown(q.card)
    assert "Question 1 of 5" in shown(q.card)


def test_whole_grading_by_card_actions(env: Env) -> None:
    rep = env.rep()
    start(rep)
    for i in range(5):
        q = rep.latest("a|")
        assert f"Question {i + 1} of 5" in shown(q.card)
        answer = values(q.card, "a|")[0]
        resp = rep.click(q, answer)
        replaced = response_card(resp)  # the question, answered, with a Change button
        assert "✅" in shown(replaced)
        assert f"Question {i + 1} of 5" in shown(replaced)
        assert values(replaced) == [f"c|change|{i + 1}"]
    review = rep.latest("c|save|")
    assert "Acme:" in shown(review.card)
    assert "recommendation" in shown(review.card)
    assert {"c|save|", "c|discard|"} <= set(values(review.card))
    resp = rep.click(review, "c|save|")
    after = response_card(resp)  # the review card itself says it is saved, no buttons
    assert shown(after).startswith("Saved ✓")
    assert actions(after) == []
    assert "You chose" not in shown(after)
    saved = rep.sent()[-1].card
    assert "Saved: Acme is graded" in shown(saved)
    assert len(grades(env, "Acme")) == 1
    # the conversation reference is stored for proactive messages
    with env.sv.session() as s:
        person = s.exec(select(Person).where(Person.external_id == rep.user)).one()
    ref = person.conversation_ref or {}
    assert ref["conversation_id"] == rep.conversation
    assert ref["service_url"] == env.connector.url
    assert ref["bot_id"].startswith("28:")
    # no token is requested or sent in dev mode
    assert all("authorization" not in {k.lower() for k in s.headers} for s in rep.sent())


def test_whole_grading_by_typed_answers(env: Env) -> None:
    rep = env.rep()
    start(rep)
    for text in ("4", "about right", "5", "likely", "low"):
        asked = rep.latest("c|why|")
        card = rep.ask(text)
        # the question's own card shows the answer (as after a tap); the next card asks on
        answered = [s for s in rep.sent() if s.method == "update"
                    and s.activity_id == asked.activity_id][-1]
        assert "✅ " in shown(answered.card), (text, shown(answered.card))
        assert "Got it" not in shown(card)
    assert "Save" in [a["title"] for a in actions(card)]
    saved = rep.ask("save")
    assert "Saved: Acme is graded" in shown(saved)
    g = grades(env, "Acme")
    assert len(g) == 1
    assert g[0].answers["pays_now"] == 4


def test_typed_commands_and_reask(env: Env) -> None:
    rep = env.rep()
    start(rep)
    reask = shown(rep.ask("purple elephants"))
    assert "🤔" in reask  # not read as an answer: said so, and the question stays
    assert "Question 1 of 5" in reask
    assert "Question 2 of 5" in shown(rep.ask("skip"))
    assert "Question 1 of 5" in shown(rep.ask("back"))
    why = rep.latest("c|why|")
    resp = rep.click(why, "c|why|")
    card = response_card(resp)  # the reason, with the question still there to answer
    assert "Why we ask" in shown(card)
    assert values(card, "a|")
    assert "Discarded" in shown(rep.ask("discard"))
    assert grades(env, "Acme") == []


def test_form_card_invalid_then_valid(env: Env) -> None:
    rep = env.rep()
    card = rep.ask("grade Acme annual")
    sent = rep.latest("create|")
    rep.click(sent, values(card, "create|")[0])
    q = rep.latest("form|")
    resp = rep.click(q, values(q.card, "form|")[0])
    form = response_card(resp)
    inputs = {n["id"]: n for n in _inputs(form)}
    assert {"q_mission", "q_revenue_share", "q_advocacy", "q_notes"} <= set(inputs)
    assert inputs["q_mission"]["type"] == "Input.ChoiceSet"
    # the same one-tap answers as the chat: the share of revenue's bands, 0 to 10
    assert inputs["q_revenue_share"]["type"] == "Input.ChoiceSet"
    assert [c["title"] for c in inputs["q_revenue_share"]["choices"]] == [
        "under 0.5 %", "0.5–2 %", "2–15 %", "15–30 %", "over 30 %"]
    assert [c["value"] for c in inputs["q_advocacy"]["choices"]] == [str(i) for i in range(11)]
    submit = next(a for a in actions(form) if a["data"]["value"].startswith("submit|"))
    answers = {"q_mission": "4", "q_pro_bono": "some", "q_pays_now": "4",
               "q_revenue_share": "a lot",  # forged: no such choice
               "q_renewal": "5", "q_payment_risk": "low"}
    resp = rep.click(q, submit["data"]["value"], answers, card=form)
    again = response_card(resp)
    text = shown(again)
    assert "Some answers need a fix" in text
    assert "⚠️" in text
    kept = {n["id"]: n.get("value") for n in _inputs(again)}
    assert kept["q_revenue_share"] is None  # not one of its choices
    assert kept["q_mission"] == "4"
    assert grades(env, "Acme") == []
    answers["q_revenue_share"] = next(c["value"] for c in inputs["q_revenue_share"]["choices"]
                                      if c["title"] == "15–30 %")
    resp = rep.click(q, submit["data"]["value"], answers, card=again)
    assert "Saved: Acme is graded" in shown(response_card(resp))
    g = grades(env, "Acme")
    assert len(g) == 1
    assert g[0].answers["revenue_share"] == 22.5  # scores in the 15–30 % band


def _inputs(card: dict) -> list[dict]:
    from tests.teams.conftest import walk

    return [n for n in walk(card) if str(n.get("type", "")).startswith("Input.")]


def test_change_an_answer_from_the_review_card(env: Env) -> None:
    """The review card's "Change an answer" has a choice set of the questions beside it:
    Teams merges the chosen one into the action's data, and that question is asked."""
    from tests.teams.conftest import walk

    rep = env.rep()
    start(rep)
    for _ in range(5):
        q = rep.latest("a|")
        rep.click(q, values(q.card, "a|")[0])
    review = rep.latest("c|save|")
    (menu,) = [n for n in walk(review.card) if n.get("type") == "Input.ChoiceSet"]
    assert [c["title"] for c in menu["choices"]][:2] == ["1. Pays now", "2. Cost to serve"]
    change = next(a for a in actions(review.card) if a["title"] == "Change an answer")
    assert change["data"]["menu"] == menu["id"]
    renewal = next(c["value"] for c in menu["choices"] if c["title"].startswith("4."))
    resp = rep.click(review, change["data"]["value"], inputs={menu["id"]: renewal})
    assert "You chose: Change an answer" in shown(response_card(resp))
    asked = rep.latest("a|").card
    assert "Question 4 of 5" in shown(asked)
    assert "How likely is Acme to renew?" in shown(asked)
    # nothing chosen in the set: the button starts at the first question, as before
    rep.click(rep.latest("a|"), "a|renewal|2")
    review = rep.latest("c|save|")
    rep.click(review, change["data"]["value"])
    assert "Question 1 of 5" in shown(rep.latest("a|").card)
