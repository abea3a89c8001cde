"""The answer-reading evaluation set (eval_cases.yml): realistic rep language per question.

* The rules run over the whole set on every test run; their figures are printed in the
  terminal summary. They must never record a wrong value (refusing is fine: the LLM or a
  re-ask takes over), and the number they read correctly may not drop.
* eval_holdout.yml is scored the same way. Its cases were written before the rules were last
  widened, so its figure shows how the rules do on wording they were not tuned on; when you
  widen the rules again, add fresh holdout cases first.
* A model is scored on both sets by ``gradebot llm check`` (bot/llm_check.py), and in the
  tests by test_llm_guards.py (fake models that read right, sloppily, or not at all: the
  check must tell them apart) and test_real_llm.py (a real local server, optional).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

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
