"""The LLM path's guard rails and server quirks, against the fake OpenAI-compatible server
(real HTTP through the openai client): json_object-only servers, slow servers, permanent
errors, contradicted readings, and the trust that ``gradebot llm check`` grants."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.interpret import CONFIDENT
from bot.llm import LLMInterpreter, build_interpreter
from bot.llm_check import MAX_MISREAD, load_cases, run_check, save, trusted
from scoring import Worksheet
from tests.llm.conftest import llm_settings
from tests.llm.fake_openai import FakeOpenAI, Step, answer, answers, slow, status, summary


def q(ws: Worksheet, qid: str):
    return ws.question_map[qid]


# ---------------------------------------------------------------------- server quirks
def test_json_object_only_server_is_detected_once(make_interpreter, fake_llm, worksheet):
    """llama-cpp-python's server answers 500 to json_schema: one retry with json_object, and
    json_object from then on (the schema goes in the prompt; our vetting still applies)."""
    fake_llm.json_object_only = True
    fake_llm.script(answers(pays_now=answer(2, 0.9, "barely covers costs")))
    interp = make_interpreter()
    [a] = interp.read(q(worksheet, "pays_now"), [], "meh, we scrape by", "Acme").answers
    assert (a.value, a.source) == (2, "llm")
    assert [r.body["response_format"]["type"] for r in fake_llm.requests] == [
        "json_schema", "json_object"]
    assert "pays_now" in fake_llm.requests[1].schema["properties"]  # the schema, in the prompt
    assert interp.response_format == "json_object"
    interp.read(q(worksheet, "pays_now"), [], "meh, we scrape by", "Acme")
    assert [r.body["response_format"]["type"] for r in fake_llm.requests[2:]] == ["json_object"]
    fake_llm.script(summary("The customer earns its grade on solid margins and renewals."))
    from scoring import grade
    # enough of the sheet for a letter (a grade without one has nothing to summarise)
    g = grade(worksheet, {"mission": 1, "pro_bono": "none", "skill_growth": 2,
                          "new_ground": "no", "hire_later": 4, "refers": "already",
                          "segment_fit": 4, "revenue_share": 10, "advocacy": 9,
                          "pays_now": 4, "service_level": "right", "outcomes_value": 4,
                          "renewal": 4, "payment_risk": "low"}, "quarterly")
    assert g.letter is not None
    assert interp.summarize(g, "Initech") is not None
    assert fake_llm.requests[-1].body["response_format"]["type"] == "json_object"


def test_a_server_error_that_is_no_format_problem_is_an_outage(make_interpreter, fake_llm,
                                                               worksheet):
    fake_llm.script(status(500, "out of memory"))
    interp = make_interpreter()
    assert interp.read(q(worksheet, "pays_now"), [], "meh", "Acme").answers == []
    assert len(fake_llm.requests) == 1
    assert interp.response_format == "json_schema"


def test_slow_server_gives_a_visible_note(make_interpreter, fake_llm, worksheet):
    """Most calls timing out: the rep is told why free text is read without the model."""
    fake_llm.script(slow(0.6, answers(pays_now=answer(3))))
    interp = make_interpreter(timeout=0.1, cooldown=30)
    notes = [interp.read(q(worksheet, "pays_now"), [], "meh", "Acme").note for _ in range(3)]
    assert len(fake_llm.requests) == 3  # a timeout does not switch the model off
    assert notes[:2] == [None, None]
    assert notes[2] is not None
    assert "timed out on 3 of the last 3" in notes[2]
    assert "GRADEBOT_LLM_TIMEOUT" in notes[2]


def test_the_note_reaches_the_rep(services, fake_llm):
    from tests.llm.test_engine_llm import Rep

    fake_llm.script(slow(0.6, answers(pays_now=answer(3))))
    services.interpreter.client = services.interpreter.client.with_options(timeout=0.1)
    rep = Rep(services)
    replies = [rep.say("meh, so-so") for _ in range(3)]
    assert "timed out" not in replies[0][0].detail
    assert "timed out on 3 of the last 3 answers" in replies[2][0].detail


def test_permanent_error_is_reported_not_paused(make_interpreter, fake_llm, worksheet, caplog):
    fake_llm.script(status(404, "model 'gpt-5-typo' not found"))
    interp = make_interpreter(cooldown=30)
    notes = [interp.read(q(worksheet, "pays_now"), [], "meh", "Acme").note for _ in range(3)]
    assert len(fake_llm.requests) == 3  # no 30 s pause: it is not an outage
    assert "rejected the request" in caplog.text
    assert notes[2] is not None
    assert "gradebot llm check" in notes[2]


# ---------------------------------------------------------------------- guard rails
@pytest.mark.parametrize(("qid", "text", "value", "why"), [
    ("mission", "a charity arm, but partly commercial", 1, "name another answer"),
    ("pays_now", "a dream client, we love working with them", 1, "sound positive"),
    ("renewal", "they said 2 more years, fingers crossed", 5, "another number"),
    ("revenue_share", "less than 1% I reckon", 0.5, "not in your reply"),
    ("payment_risk", "they're a nightmare, late every single time", "low", "sound negative"),
])
def test_a_reading_the_words_contradict_is_only_suggested(make_interpreter, fake_llm,
                                                          worksheet, qid, text, value, why):
    fake_llm.script(answers(**{qid: answer(value, 0.97, "sure")}))
    [a] = make_interpreter().read(q(worksheet, qid), [], text, "Acme").answers
    assert a.value == value
    assert a.confidence < CONFIDENT  # the engine confirms it: one tap to fix
    assert why in a.rationale


def test_an_agreeing_reading_is_recorded(make_interpreter, fake_llm, worksheet):
    fake_llm.script(answers(mission=answer(4, 0.9)))
    [a] = make_interpreter().read(q(worksheet, "mission"), [],
                                  "a charity arm, but partly commercial", "Acme").answers
    assert a.confidence == 0.9


def test_invented_answers_to_other_questions_are_not_offered(make_interpreter, fake_llm,
                                                             worksheet):
    """Gemma answered 13 other questions for "they're a nonprofit food bank" (which the
    rules now read): none of them is even asked about, and a server that answers anyway
    gains nothing."""
    others = [o for o in worksheet.questions if o.scored and o.id != "mission"]
    fake_llm.script(answers(mission=answer(4, 0.9),
                            **{o.id: answer(_first(o), 0.99) for o in others}))
    reading = make_interpreter().read(q(worksheet, "mission"), others,
                                      "a charity arm, but partly commercial", "Acme")
    assert [a.question_id for a in reading.answers] == ["mission"]
    assert set(fake_llm.requests[0].schema["properties"]) == {"mission"}


def test_no_extra_offer_when_the_current_answer_needs_confirming(make_interpreter, fake_llm,
                                                                 worksheet):
    fake_llm.script(answers(pays_now=answer(3, 0.5), refers=answer("already", 0.95)))
    reading = make_interpreter().read(q(worksheet, "pays_now"), [q(worksheet, "refers")],
                                      "so-so money, but they referred us twice", "Acme")
    assert [a.question_id for a in reading.answers] == ["pays_now"]  # one tap per message


def _first(o) -> Any:
    return 1 if o.type.value == "scale" else o.choices[0].key if o.choices else (
        "yes" if o.type.value == "yes_no" else o.bounds[0])


# ---------------------------------------------------------------------- trust and the check
def _settings(fake: FakeOpenAI, tmp_path: Path, trust: str = "auto"):
    return llm_settings(fake, llm_trust=trust, llm_check_file=tmp_path / "check.json")


def test_an_unchecked_model_only_suggests(fake_llm, worksheet, tmp_path):
    interp = build_interpreter(_settings(fake_llm, tmp_path))
    assert isinstance(interp, LLMInterpreter)
    assert interp.suggest_only
    assert "only to suggest" in interp.describe()
    fake_llm.script(answers(pays_now=answer(4, 0.99)))
    [a] = interp.read(q(worksheet, "pays_now"), [], "meh money", "Acme").answers
    assert a.confidence < CONFIDENT


def _oracle(cases) -> Any:
    """A model that always reads right (the eval set's first expected value)."""
    by_text = {c.text.replace("Acme", "the customer"): c for c in cases}

    def respond(body: dict[str, Any]) -> Step:
        payload = json.loads(body["messages"][-1]["content"])
        case = by_text[payload["reply"]]
        return answers(**{case.q: answer(case.expect[0], 0.95)})
    return respond


def _sloppy(body: dict[str, Any]) -> Step:
    """A model that answers every question put to it, confidently, with its first value."""
    payload = json.loads(body["messages"][-1]["content"])
    out = {}
    for d in payload["questions"]:
        first = (1 if "scale" in d else next(iter(d["choices"])) if "choices" in d else
                 "yes" if d["answer"].startswith("yes") else 0)
        out[d["id"]] = answer(first, 0.99)
    return answers(**out)


def test_check_passes_a_model_that_reads_right(fake_llm, worksheet, tmp_path):
    cases = load_cases("eval_cases") + load_cases("eval_holdout")
    fake_llm.respond_with(_oracle(cases))
    settings = _settings(fake_llm, tmp_path)
    interp = LLMInterpreter.from_settings(settings, cooldown=0.0)
    report = run_check(interp, worksheet, cases, model="fake", base_url=fake_llm.url,
                       suite="both", workers=4)
    assert report.count("wrong") == 0
    assert report.count("correct") == len(cases)
    assert report.passed
    save(settings, report)
    assert trusted(settings)
    assert not build_interpreter(settings).suggest_only  # type: ignore[union-attr]


def test_check_fails_a_sloppy_model_and_the_bot_then_only_suggests(fake_llm, worksheet,
                                                                   tmp_path):
    cases = load_cases("eval_cases") + load_cases("eval_holdout")
    fake_llm.respond_with(_sloppy)
    settings = _settings(fake_llm, tmp_path)
    report = run_check(LLMInterpreter.from_settings(settings, cooldown=0.0), worksheet, cases,
                       model="fake", base_url=fake_llm.url, suite="both", workers=4)
    assert report.misread_share > MAX_MISREAD
    assert not report.passed
    assert max(r.extras for r in report.results) <= 1
    save(settings, report)
    assert not trusted(settings)
    # the production path after that verdict: nothing wrong is recorded without a tap
    after = run_check(build_interpreter(settings), worksheet, cases, model="fake",
                      base_url=fake_llm.url, suite="both", workers=4)
    assert after.wrong_recorded == []
    assert after.count("wrong") > 0  # still wrong suggestions: the rep taps to fix them


def test_check_fails_when_most_calls_fail(fake_llm, worksheet, tmp_path):
    cases = load_cases("eval_holdout")
    fake_llm.script(status(500, "down"))
    report = run_check(LLMInterpreter.from_settings(_settings(fake_llm, tmp_path),
                                                    cooldown=0.0),
                       worksheet, cases, model="fake", base_url=fake_llm.url, suite="holdout")
    assert report.mostly_failing
    assert not report.passed
    assert report.count("failed") == len(report.calls) > 0


def test_json_object_is_kept_even_when_the_first_reply_is_off_schema(make_interpreter,
                                                                     fake_llm, worksheet):
    """The server accepted json_object (HTTP 200) but the model wrote something else: the
    server is still json_object-only, so the next call goes straight there."""
    from tests.llm.fake_openai import raw

    fake_llm.json_object_only = True
    fake_llm.script(raw('not json, sorry'))
    interp = make_interpreter()
    assert interp.read(q(worksheet, "pays_now"), [], "meh", "Acme").answers == []
    assert interp.response_format == "json_object"
