"""The answer-reading evaluation set (eval_cases.yml): realistic rep language per question.

* The rules run over the whole set on every test run; their figures are printed in the
  terminal summary. They must never record a wrong value (refusing is fine: the LLM or a
  re-ask takes over), and the number they read correctly may not drop.
* eval_holdout.yml is scored the same way. Its cases were written before the rules were last
  widened, so its figure shows how the rules do on wording they were not tuned on; when you
  widen the rules again, add fresh holdout cases first.
* With a real endpoint configured (GRADEBOT_EVAL_LLM_MODEL, plus OPENAI_BASE_URL and/or
  OPENAI_API_KEY) the production path (rules, then the model) is scored on the same set:
  ``GRADEBOT_EVAL_LLM_MODEL=gpt-4.1-mini uv run --extra dev pytest tests/llm -k eval``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import yaml

from bot.config import Settings
from bot.llm import LLMInterpreter, build_interpreter
from bot.llm_check import EVALSETS
from scoring import Parsed, Worksheet, is_legal, parse_answer


def _load(name: str) -> list[dict[str, Any]]:
    return yaml.safe_load((EVALSETS / name).read_text(encoding="utf-8"))


CASES = _load("eval_cases.yml")
HOLDOUT = _load("eval_holdout.yml")

# What the rules read correctly when this was written: raise it when the rules improve, never
# lower it (a lower count is a regression).
RULES_CORRECT_FLOOR = 80  # of 85 in eval_cases.yml (94 %; issue 20 asks at least 80 %)
HOLDOUT_CORRECT_FLOOR = 129  # of 160 in eval_holdout.yml (80.6 %; at least 75 %)
SHARE_FLOOR = {"eval_cases.yml": 0.80, "eval_holdout.yml": 0.75}
CONFIDENT = 0.75  # as in the engine: below this a reading is confirmed, not recorded


def expected(case: dict[str, Any]) -> list[Any]:
    e = case["expect"]
    return e if isinstance(e, list) else [e]


def _pct(n: int, total: int) -> str:
    return f"{n}/{total} ({n / total:.1%})"


@pytest.mark.parametrize(("cases", "least"), [(CASES, 60), (HOLDOUT, 20)],
                         ids=["eval_cases", "eval_holdout"])
def test_eval_set_is_well_formed(worksheet: Worksheet, cases: list[dict[str, Any]],
                                 least: int) -> None:
    assert len(cases) >= least
    seen = set()
    for case in cases:
        assert set(case) == {"q", "text", "expect"}, case
        q = worksheet.question_map[case["q"]]
        assert q.scored, case
        assert all(is_legal(q, v) for v in expected(case)), case
        assert (case["q"], case["text"]) not in seen, case
        seen.add((case["q"], case["text"]))
    scored = {q.id for q in worksheet.questions if q.scored}
    assert {c["q"] for c in cases} == scored  # every scored question is covered


def test_holdout_is_not_a_copy_of_the_eval_set() -> None:
    """Held-out cases are phrased afresh: none repeats an eval case's text (any casing)."""
    tuned = {(c["q"], c["text"].strip().lower()) for c in CASES}
    assert [c for c in HOLDOUT if (c["q"], c["text"].strip().lower()) in tuned] == []


@pytest.mark.parametrize(("name", "cases", "floor"), [
    ("eval_cases.yml", CASES, RULES_CORRECT_FLOOR),
    ("eval_holdout.yml", HOLDOUT, HOLDOUT_CORRECT_FLOOR),
], ids=["eval_cases", "eval_holdout"])
def test_rules_on_eval_set(worksheet: Worksheet, eval_report: Callable[[str], None], name: str,
                           cases: list[dict[str, Any]], floor: int) -> None:
    correct, wrong, refused = 0, [], 0
    for case in cases:
        result = parse_answer(worksheet.question_map[case["q"]], case["text"])
        if not isinstance(result, Parsed):
            refused += 1
        elif result.value in expected(case):
            correct += 1
        else:
            wrong.append(f"{case['q']}: {case['text']!r} -> {result.value!r}")
    eval_report(f"rules on {name}: {_pct(correct, len(cases))} read correctly, "
                f"{len(wrong)} wrong, {refused} refused (re-asked, or left to the LLM)")
    assert wrong == [], "the rules must refuse rather than guess"
    assert correct >= floor
    assert correct / len(cases) >= SHARE_FLOOR[name]


@pytest.mark.skipif(not os.environ.get("GRADEBOT_EVAL_LLM_MODEL"),
                    reason="set GRADEBOT_EVAL_LLM_MODEL (and OPENAI_BASE_URL/OPENAI_API_KEY)")
def test_llm_on_eval_set(worksheet: Worksheet, eval_report: Callable[[str], None]) -> None:
    settings = Settings(llm_model=os.environ["GRADEBOT_EVAL_LLM_MODEL"], llm_enabled=True,
                        llm_timeout=float(os.environ.get("GRADEBOT_LLM_TIMEOUT", 30)))
    interp = build_interpreter(settings)
    if not isinstance(interp, LLMInterpreter):
        pytest.skip("OPENAI_BASE_URL or OPENAI_API_KEY is needed too")
    interp.cooldown = 0

    def run(case: dict[str, Any]) -> tuple[Any, float, str]:
        reading = interp.read(worksheet.question_map[case["q"]], [], case["text"], "Acme")
        a = next((x for x in reading.answers if x.question_id == case["q"]), None)
        return (None, 0.0, "") if a is None else (a.value, a.confidence, a.source)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, CASES))
    correct = sum(v in expected(c) for c, (v, _, _) in zip(CASES, results, strict=True))
    confident = sum(v in expected(c) and conf >= CONFIDENT
                    for c, (v, conf, _) in zip(CASES, results, strict=True))
    by_llm = [(c, v) for c, (v, _, src) in zip(CASES, results, strict=True) if src == "llm"]
    llm_right = sum(v in expected(c) for c, v in by_llm)
    misses = [f"  {c['q']}: {c['text']!r} -> {v!r} (expected {c['expect']!r})"
              for c, (v, _, _) in zip(CASES, results, strict=True) if v not in expected(c)]
    none = sum(v is None for v, _, _ in results)
    eval_report(f"rules + LLM ({settings.llm_model}): {_pct(correct, len(CASES))} correct, "
                f"{_pct(confident, len(CASES))} correct and confident (recorded without a "
                f"confirmation), {len(misses) - none} wrong, {none} unanswered")
    eval_report(f"  the LLM alone, on the {len(by_llm)} cases the rules refused and it "
                f"answered: {llm_right} right")
    for line in misses[:20]:
        eval_report(line)
    assert correct >= RULES_CORRECT_FLOOR
