"""Answers → an explainable grade.

The total is ``50 + Σ impact`` where each answer's impact is its distance from a neutral 50,
scaled by its share of the weight. That identity is what makes the grade explain itself: the
reasons listed are exactly the terms that moved the score, with their sizes.

Scoring runs for every look-up, review and portfolio, so a worksheet is compiled once per
cadence into flat tuples and the per-grade work is a single loop (≥ 50k grades/s per core).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from scoring.parsing import AnswerValue, display_value
from scoring.worksheet import (
    AnswerType,
    Cadence,
    Good,
    Question,
    Recommendation,
    Worksheet,
)


class NoAnswersError(ValueError):
    """Raised when there is nothing to grade: no scored question was answered."""


class DimensionScore(NamedTuple):
    id: str
    name: str
    score: float | None
    weight: float
    answered: int
    asked: int


class Reason(NamedTuple):
    """One answer's effect on the total, in points (signed); the words are built on demand
    because most grades are computed for a number, not read. (Named tuples, not frozen
    dataclasses, for the per-answer records: they build several times faster.)"""

    question: Question
    value: AnswerValue
    impact: float

    @property
    def question_id(self) -> str:
        return self.question.id

    @property
    def label(self) -> str:
        return self.question.label

    @property
    def answer(self) -> str:
        return display_value(self.question, self.value)

    @property
    def text(self) -> str:
        return f"{self.label}: {self.answer} ({self.impact:+.1f})"


class KnockOutHit(NamedTuple):
    id: str
    cap: Recommendation
    reason: str


@dataclass(eq=True)
class Grade:
    """An explainable grade. Treat as immutable; ``reasons`` are derived on first read."""

    worksheet_id: str
    worksheet_version: int
    cadence: Cadence
    total: float
    letter: str
    recommendation: Recommendation
    score_recommendation: Recommendation
    knockouts: tuple[KnockOutHit, ...]
    # (id, name, weight, mean points or None, answered, asked) per asked dimension; the
    # DimensionScore records are built on first read (most grades are read for the total)
    dimension_sums: tuple[tuple[str, str, float, float | None, int, int], ...]
    goods: Mapping[Good, float | None]
    profile: Good | None
    coverage: float
    # (dimension index, question weight, points, question, value) per scored answer, and the
    # share of the total each unit of question weight carries, by dimension index
    scored: tuple[tuple[int, float, float, Question, AnswerValue], ...] = field(
        repr=False, default=())
    unit_shares: tuple[float, ...] = field(repr=False, default=())

    @cached_property
    def dimensions(self) -> tuple[DimensionScore, ...]:
        return tuple(DimensionScore(did, name, None if s is None else round(s, 1), dw, got,
                                    asked)
                     for did, name, dw, s, got, asked in self.dimension_sums)

    @cached_property
    def reasons(self) -> tuple[Reason, ...]:
        """Every answer that moved the total off a neutral 50, largest lift first."""
        us = self.unit_shares
        rs = [Reason(q, v, (s - 50.0) * w * us[di]) for di, w, s, q, v in self.scored
              if s != 50.0]
        rs.sort(key=_IMPACT, reverse=True)
        return tuple(rs)

    @property
    def complete(self) -> bool:
        return self.coverage >= 0.999

    @property
    def reasons_up(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.impact > 0)

    @property
    def reasons_down(self) -> tuple[Reason, ...]:
        return tuple(r for r in reversed(self.reasons) if r.impact < 0)

    def explanation(self, top: int = 3) -> list[str]:
        """Sentences a rep can read: what lifted the grade, what pulled it down, any caps."""
        lines: list[str] = []
        up, down = self.reasons_up[:top], self.reasons_down[:top]
        if up:
            lines.append("Lifted by " + "; ".join(r.text for r in up) + ".")
        if down:
            lines.append("Held back by " + "; ".join(r.text for r in down) + ".")
        for k in self.knockouts:
            lines.append(k.reason)
        if not self.complete:
            lines.append(f"Incomplete: {self.coverage:.0%} of the weighted questions answered.")
        return lines


_OPS: dict[str, Callable[[object, object], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "<": operator.lt, ">": operator.gt,
    "in": lambda a, b: a in b,  # type: ignore[operator]
}


def _table(q: Question) -> Mapping[object, float] | None:
    """Points per answer for the answer types with a closed set of values."""
    t = q.type
    if t is AnswerType.SCALE:
        steps = (0.0, 25.0, 50.0, 75.0, 100.0)
        return {i + 1: (steps[4 - i] if q.reverse else steps[i]) for i in range(5)}
    if t is AnswerType.YES_NO:
        return {"yes": q.yes_score, "no": q.no_score, "unsure": q.unsure_score}
    if t is AnswerType.CHOICE:
        return {c.key: c.value for c in q.choices}
    return None


def _numeric(q: Question) -> Callable[[AnswerValue], float]:
    """Points for a number or percent: its band's score, else linear over the bounds."""
    lo, hi = q.bounds
    bands = tuple((b.upto, b.score) for b in q.bands)
    reverse = q.reverse

    def numeric(v: AnswerValue) -> float:
        if isinstance(v, str | bool) or not lo <= v <= hi:
            raise ValueError(f"question {q.id!r}: {v!r} is not between {lo:g} and {hi:g}")
        if bands:
            for upto, score in bands:
                if v <= upto:
                    return score
            return bands[-1][1]
        s = (v - lo) / (hi - lo) * 100.0
        return 100.0 - s if reverse else s

    return numeric


@dataclass(frozen=True, slots=True)
class _Plan:
    """A worksheet flattened for one cadence: everything the hot loop needs, precomputed.

    questions: (id, dimension index, weight, score table or None, numeric scorer, question)
    dims: (id, name, weight, good index or -1, questions asked, question weight asked)
    """

    questions: tuple[tuple[str, int, float, Mapping[object, float] | None,
                           Callable[[AnswerValue], float], Question], ...]
    dims: tuple[tuple[str, str, float, int, int, float], ...]
    dim_weights: tuple[float, ...]
    knockouts: tuple[tuple[str, str, Callable[[object, object], bool], object, Recommendation,
                           int, str], ...]
    bands: tuple[tuple[float, str, int], ...]
    total_weight: float


_PLANS: dict[tuple[int, Cadence], tuple[Worksheet, _Plan]] = {}


def _plan(ws: Worksheet, cadence: Cadence) -> _Plan:
    """The compiled plan, cached by identity (hashing a frozen model field by field is slow)."""
    hit = _PLANS.get((id(ws), cadence))
    if hit is not None and hit[0] is ws:
        return hit[1]
    if len(_PLANS) > 64:
        _PLANS.clear()
    plan = _compile(ws, cadence)
    _PLANS[(id(ws), cadence)] = (ws, plan)
    return plan


def _compile(ws: Worksheet, cadence: Cadence) -> _Plan:
    asked = [q for q in ws.questions_for(cadence) if q.scored]
    if not asked:  # strategic-only sheets fall back to the annual questions
        asked = [q for q in ws.questions_for(Cadence.ANNUAL) if q.scored]
    dim_index = {d.id: i for i, d in enumerate(ws.dimensions)}
    counts = [0] * len(ws.dimensions)
    qweights = [0.0] * len(ws.dimensions)
    for q in asked:
        counts[dim_index[q.dimension]] += 1  # type: ignore[index]
        qweights[dim_index[q.dimension]] += q.weight  # type: ignore[index]
    dims = tuple((d.id, d.name, d.weight, _GOODS.index(d.good) if d.good else -1, counts[i],
                  qweights[i]) for i, d in enumerate(ws.dimensions))
    questions = tuple((q.id, dim_index[q.dimension], q.weight, _table(q), _numeric(q), q)  # type: ignore[index]
                      for q in asked)
    asked_ids = {q.id for q in asked}
    kos = tuple((k.id, k.question, _OPS[k.op], k.value, k.cap, k.cap.rank, k.reason)
                for k in ws.knockouts if k.question in asked_ids)
    bands = tuple((b.min, b.letter, b.recommendation.rank) for b in ws.grade_bands)
    total_weight = sum(d[2] for d in dims if d[4])
    return _Plan(questions, dims, tuple(d.weight for d in ws.dimensions), kos, bands,
                 total_weight)


def grade(ws: Worksheet, answers: Mapping[str, AnswerValue],
          cadence: Cadence | str = Cadence.ANNUAL) -> Grade:
    """Grade ``answers`` (question id → parsed value) with ``ws`` at ``cadence``.

    Answers to questions the cadence does not ask are ignored; an illegal value raises
    ValueError naming the question. Pure and deterministic: same inputs, same grade.
    """
    cad = cadence if type(cadence) is Cadence else Cadence(cadence)
    plan = _plan(ws, cad)
    n = len(plan.dims)
    wsum = [0.0] * n
    ssum = [0.0] * n
    got = [0] * n
    scored: list[tuple[int, float, float, Question, AnswerValue]] = []
    get = answers.get
    for qid, di, w, table, numeric, q in plan.questions:
        v = get(qid)
        if v is None:
            continue
        if table is not None:
            s = table.get(v)
            if s is None or v is True or v is False:
                raise ValueError(f"question {qid!r}: {v!r} is not a legal answer")
        else:
            s = numeric(v)
        wsum[di] += w
        ssum[di] += s * w
        got[di] += 1
        scored.append((di, w, s, q, v))
    if not scored:
        raise NoAnswersError("no scored question has an answer yet")

    dim_sums: list[tuple[str, str, float, float | None, int, int]] = []
    answered = 0.0
    weighted = 0.0
    covered = 0.0
    good_sum = [0.0, 0.0, 0.0]
    good_w = [0.0, 0.0, 0.0]
    for i, (did, name, dw, gi, asked, qw_asked) in enumerate(plan.dims):
        if got[i]:
            s = ssum[i] / wsum[i]
            covered += dw * wsum[i] / qw_asked
            answered += dw
            weighted += s * dw
            if gi >= 0:
                good_sum[gi] += s * dw
                good_w[gi] += dw
            dim_sums.append((did, name, dw, s, got[i], asked))
        elif asked:
            dim_sums.append((did, name, dw, None, 0, asked))
    total = round(weighted / answered, 1)

    dw_of = plan.dim_weights
    shares = [dw_of[i] / answered / wsum[i] if got[i] else 0.0 for i in range(n)]

    letter, base_rank = plan.bands[-1][1], plan.bands[-1][2]
    for lo, band_letter, rank in plan.bands:
        if total >= lo:
            letter, base_rank = band_letter, rank
            break
    rank = base_rank
    hits: list[KnockOutHit] = []
    for kid, qid, op, value, cap, cap_rank, why in plan.knockouts:
        v = get(qid)
        if v is not None and op(v, value):
            hits.append(KnockOutHit(kid, cap, why))
            if cap_rank < rank:
                rank = cap_rank

    goods = {
        Good.US: round(good_sum[0] / good_w[0], 1) if good_w[0] else None,
        Good.SKILLS: round(good_sum[1] / good_w[1], 1) if good_w[1] else None,
        Good.OTHERS: round(good_sum[2] / good_w[2], 1) if good_w[2] else None,
    }
    return Grade(ws.id, ws.version, cad, total, letter, _BY_RANK[rank], _BY_RANK[base_rank],
                 tuple(hits), tuple(dim_sums), goods, _profile(goods),
                 round(covered / plan.total_weight, 3), tuple(scored), tuple(shares))


_IMPACT = operator.itemgetter(2)
_GOODS = (Good.US, Good.SKILLS, Good.OTHERS)
_BY_RANK = {r.rank: r for r in Recommendation}


def _profile(goods: Mapping[Good, float | None]) -> Good | None:
    """The good this customer mostly serves; None when none of them is at least middling."""
    best: Good | None = None
    best_score = 50.0
    for g in (Good.US, Good.SKILLS, Good.OTHERS):
        s = goods.get(g)
        if s is not None and s >= best_score and (best is None or s > best_score):
            best, best_score = g, s
    return best
