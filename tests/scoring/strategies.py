"""Hypothesis strategies for legal answers to a worksheet's questions."""

from __future__ import annotations

from hypothesis import strategies as st

from scoring import AnswerType, AnswerValue, Cadence, Worksheet
from scoring.worksheet import Question


def legal_value(q: Question) -> st.SearchStrategy[AnswerValue]:
    """Any value ``is_legal`` accepts for ``q`` (numbers as ints and as floats)."""
    t = q.type
    if t is AnswerType.SCALE:
        return st.integers(1, 5)
    if t is AnswerType.YES_NO:
        return st.sampled_from(["yes", "no", "unsure"])
    if t is AnswerType.CHOICE:
        return st.sampled_from([c.key for c in q.choices])
    if t in (AnswerType.PERCENT, AnswerType.NUMBER):
        lo, hi = q.bounds
        return st.one_of(st.integers(int(lo), int(hi)),
                         st.floats(lo, hi, allow_nan=False, allow_infinity=False))
    return st.text(min_size=1, max_size=40)


def asked(ws: Worksheet, cadence: Cadence) -> list[Question]:
    """The questions ``cadence`` asks (text included)."""
    return list(ws.questions_for(cadence))


def answer_sets(ws: Worksheet, cadence: Cadence) -> st.SearchStrategy[dict[str, AnswerValue]]:
    """Any subset of the cadence's questions answered legally, with at least one scored."""
    questions = asked(ws, cadence)
    one_scored = st.sampled_from([q for q in questions if q.scored]).flatmap(
        lambda q: legal_value(q).map(lambda v: (q.id, v)))
    others = st.fixed_dictionaries({}, optional={q.id: legal_value(q) for q in questions})
    return st.tuples(one_scored, others).map(lambda t: {**t[1], t[0][0]: t[0][1]})


def full_answer_sets(ws: Worksheet,
                     cadence: Cadence) -> st.SearchStrategy[dict[str, AnswerValue]]:
    """Every question the cadence asks, answered legally."""
    return st.fixed_dictionaries({q.id: legal_value(q) for q in asked(ws, cadence)})
