"""The terminal with a model reading free text (the fake OpenAI server): a "did you mean" for
another question never shares its numbers with the question on screen."""

from __future__ import annotations

from sqlmodel import select

from bot.services import Services
from storage import sessions as sessions_db
from storage.models import GradingSession
from tests.llm.fake_openai import FakeOpenAI, answer, answers
from tests.test_terminal import chat as run_chat


def _answers(sv: Services, customer: str) -> dict[str, object]:
    with sv.session() as s:
        gs = next(g for g in s.exec(select(GradingSession)).all()
                  if g.state.get("customer") == customer)
        return {k: v.value for k, v in sessions_db.current_answers(s, gs.id).items()}


def test_a_number_answers_the_question_on_screen_not_an_earlier_list(
        services: Services, fake_llm: FakeOpenAI) -> None:
    fake_llm.script(answers(pays_now=answer(4, 0.9), renewal=answer(5, 0.9, "renew for sure")))
    said = "decent margin and they'll renew for sure"
    out = run_chat(services, "Acme quarterly", "yes", said,
                   "1")  # the live list: Cost to serve, choice 1 — not "Yes: 5" for renewal
    assert "Renewal likelihood: did you mean 5 — Almost certain?" in out
    assert "  a  Yes: 5 — Almost certain" in out  # lettered: not the live numbers
    assert "  1  Heavily over-serving" in out
    assert "Got it: Heavily over-serving" in out
    assert _answers(services, "Acme") == {"pays_now": 4, "service_level": "heavy_over"}
    # the lettered confirmation is answerable right away
    out = run_chat(services, "Beta quarterly", "yes", said, "a")
    assert "Got it: 5 — Almost certain" in out
    assert _answers(services, "Beta") == {"pays_now": 4, "renewal": 5}
