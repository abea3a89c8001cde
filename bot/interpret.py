"""Turning a rep's words into answers: the seam between the engine and rules or an LLM.

The engine asks an ``Interpreter`` what a message means for the current question (and,
possibly, for other questions of the sheet). The rules interpreter is always there; the LLM
interpreter (bot/llm.py) wraps it and is only consulted when the rules cannot read the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from scoring import AnswerValue, Parsed, Question, Unparsed, parse_answer

CONFIDENT = 0.75  # readings at or above are recorded by the engine; below, confirmed first
SUGGESTED = 0.5  # a reading that needs the rep's confirmation (below the engine's bar)


@dataclass(frozen=True, slots=True)
class Interpretation:
    question_id: str
    value: AnswerValue
    confidence: float  # 0–1; rules are certain (1.0)
    rationale: str = ""
    source: str = "rules"  # rules | llm


@dataclass(frozen=True, slots=True)
class Reading:
    """What a message says: answers (current question first, if any), or why it says none."""

    answers: list[Interpretation] = field(default_factory=list)
    failure: Unparsed | None = None
    note: str | None = None  # for the rep: why free text is read without the model now


class Interpreter(Protocol):
    def read(self, current: Question, others: Sequence[Question], text: str,
             customer: str) -> Reading: ...


class RulesInterpreter:
    """Deterministic parsing of explicit answers ("4", "yes", "35%", a choice's label)."""

    def read(self, current: Question, others: Sequence[Question], text: str,
             customer: str) -> Reading:
        result = parse_answer(current, text)
        if isinstance(result, Parsed):
            return Reading([Interpretation(current.id, result.value, 1.0)])
        if result.suggestion is not None:  # "3-8%": offered for a tap, never recorded as is
            return Reading([Interpretation(current.id, result.suggestion, SUGGESTED,
                                           result.reason)])
        return Reading(failure=result)
