"""Answers → an explainable grade.

A customer is good through its strongest good (good for others, good at it, good for you):
the three goods' part of the total is the strongest of them, a second strong good adds a
little, and a weak good never subtracts. Fit and outcomes & loyalty count for everyone. The
balance of the goods is a property of the whole book (scoring/portfolio.py), not of one
customer.

The total is ``50 + Σ impact`` where each answer's impact is its distance from a neutral 50,
scaled by its share of the weight (0 for the answers of a good that does not carry the
grade). That identity is what makes the grade explain itself: the reasons listed are exactly
the terms that moved the score, with their sizes.

Scoring runs for every look-up, review and portfolio, so a worksheet is compiled once per
worksheet into flat tuples and the per-grade work is a single loop (≥ 50k grades/s per core).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

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
    """An explainable grade. Treat as immutable; ``reasons`` are derived on first read.

    ``letter`` and the recommendations are None when less of the worksheet is answered than
    its coverage floor: such a grade is a draft and is never shown as a letter. Between the
    floor and full coverage the grade is ``provisional``.
    """

    worksheet_id: str
    worksheet_version: int
    cadence: Cadence
    total: float
    letter: str | None
    recommendation: Recommendation | None
    score_recommendation: Recommendation | None
    # the knock-outs that lowered the recommendation (one that changed nothing is not listed)
    knockouts: tuple[KnockOutHit, ...]
    # (id, name, weight, mean points or None, answered, asked) per dimension; the
    # DimensionScore records are built on first read (most grades are read for the total)
    dimension_sums: tuple[tuple[str, str, float, float | None, int, int], ...]
    goods: Mapping[Good, float | None]
    profile: Good | None
    coverage: float
    # the good that carries the grade (the strongest one answered) and its score; the
    # second good and the points it adds to the goods' part (0 when it is not strong)
    carrier: Good | None = None
    carrier_score: float | None = None
    second: Good | None = None
    second_bonus: float = 0.0
    answered: int = 0  # scored questions answered, of ...
    questions: int = 0  # ... the scored questions of the whole worksheet
    floor: float = 0.0
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
        """Every answer that moved the total off a neutral 50, largest lift first. An
        answer of a good that does not carry the customer moves nothing (impact 0) and is
        not listed; the second good's answers move it only by the little they add."""
        us = self.unit_shares
        rs = [Reason(q, v, imp) for di, w, s, q, v in self.scored
              if (imp := (s - 50.0) * w * us[di]) != 0.0]
        rs.sort(key=_IMPACT, reverse=True)
        return tuple(rs)

    @property
    def graded(self) -> bool:
        """Enough of the worksheet is answered for a letter."""
        return self.letter is not None

    @property
    def complete(self) -> bool:
        return self.coverage >= 0.999

    @property
    def provisional(self) -> bool:
        """A letter, but from part of the worksheet: shown with its coverage everywhere."""
        return self.graded and not self.complete

    @property
    def carried_by(self) -> str | None:
        """"Good for others, 95": the good the grade rests on (None: no good answered)."""
        if self.carrier is None or self.carrier_score is None:
            return None
        return f"{self.carrier.label}, {self.carrier_score:g}"

    @property
    def not_enough(self) -> str:
        """What a grade below the floor says instead of a letter."""
        return (f"Not enough answers to grade yet ({self.answered} of {self.questions}"
                f" questions; a letter needs {self.floor:.0%} of the worksheet).")

    @property
    def reasons_up(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.impact > 0)

    @property
    def reasons_down(self) -> tuple[Reason, ...]:
        return tuple(r for r in reversed(self.reasons) if r.impact < 0)

    def explanation(self, top: int = 3) -> list[str]:
        """Sentences a rep can read: which good carries the customer, what lifted the
        grade, what pulled it down, caps that changed the advice, how much is answered."""
        lines: list[str] = []
        if not self.graded:
            lines.append(self.not_enough)
        if self.carried_by is not None:
            lines.append(f"Carried by {self.carried_by}.")
        up, down = self.reasons_up[:top], self.reasons_down[:top]
        if up:
            lines.append("Lifted by " + "; ".join(r.text for r in up) + ".")
        if down:
            lines.append("Held back by " + "; ".join(r.text for r in down) + ".")
        for k in self.knockouts:
            lines.append(k.reason)
        if self.provisional:
            lines.append(f"Provisional: {self.coverage:.0%} of the worksheet answered "
                         f"({self.answered} of {self.questions} questions).")
        return lines


# Any, not object: a knock-out compares an answer with a value of its question's type (the
# worksheet check refuses the rest), which the type of the table cannot say.
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "<": operator.lt, ">": operator.gt,
    "in": lambda a, b: a in b,
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
    """A worksheet flattened for grading: everything the hot loop needs, precomputed.

    questions: (id, dimension index, weight, score table or None, numeric scorer, question)
    dims: (id, name, weight, good index or -1, questions in the sheet, their weight)
    """

    questions: tuple[tuple[str, int, float, Mapping[object, float] | None,
                           Callable[[AnswerValue], float], Question], ...]
    dims: tuple[tuple[str, str, float, int, int, float], ...]
    knockouts: tuple[tuple[str, str, Callable[[object, object], bool], object, Recommendation,
                           int, str], ...]
    bands: tuple[tuple[float, str, int], ...]
    total_weight: float
    goods_weight: float
    second_good: float
    floor: float


_PLANS: dict[int, tuple[Worksheet, _Plan]] = {}


def _plan(ws: Worksheet) -> _Plan:
    """The compiled plan, cached by identity (hashing a frozen model field by field is slow)."""
    hit = _PLANS.get(id(ws))
    if hit is not None and hit[0] is ws:
        return hit[1]
    if len(_PLANS) > 64:
        _PLANS.clear()
    plan = _compile(ws)
    _PLANS[id(ws)] = (ws, plan)
    return plan


def _dimension_index(q: Question, dim_index: Mapping[str, int]) -> int:
    """Where a scored question's points go (loading a worksheet refuses a scored question
    without a known dimension, so this only fails on a sheet built around that check)."""
    if q.dimension is None or q.dimension not in dim_index:
        raise ValueError(f"question {q.id!r} is scored but has no known dimension")
    return dim_index[q.dimension]


def _compile(ws: Worksheet) -> _Plan:
    asked = ws.scored_questions
    dim_index = {d.id: i for i, d in enumerate(ws.dimensions)}
    counts = [0] * len(ws.dimensions)
    qweights = [0.0] * len(ws.dimensions)
    place = {q.id: _dimension_index(q, dim_index) for q in asked}
    for q in asked:
        counts[place[q.id]] += 1
        qweights[place[q.id]] += q.weight
    dims = tuple((d.id, d.name, d.weight, _GOODS.index(d.good) if d.good else -1, counts[i],
                  qweights[i]) for i, d in enumerate(ws.dimensions))
    questions = tuple((q.id, place[q.id], q.weight, _table(q), _numeric(q), q) for q in asked)
    asked_ids = {q.id for q in asked}
    kos = tuple((k.id, k.question, _OPS[k.op], k.value, k.cap, k.cap.rank, k.reason)
                for k in ws.knockouts if k.question in asked_ids)
    bands = tuple((b.min, b.letter, b.recommendation.rank) for b in ws.grade_bands)
    total_weight = sum(d[2] for d in dims if d[4])
    rules = ws.grading
    return _Plan(questions, dims, kos, bands, total_weight, rules.goods_weight,
                 rules.second_good, rules.coverage_floor)


def grade(ws: Worksheet, answers: Mapping[str, AnswerValue],
          cadence: Cadence | str = Cadence.ANNUAL) -> Grade:
    """Grade ``answers`` (question id → parsed value) with ``ws``; ``cadence`` is the kind of
    grading that gave (some of) them. The grade covers the whole worksheet whatever the
    cadence: a pulse's answers are merged with earlier ones first (scoring.sheet).

    The total is ``50 + Σ impacts`` exactly (to its rounding to 0.1). Its parts:

    * fit, outcomes and any other dimension outside the three goods: the weighted mean of
      their answered questions, at their dimension weight;
    * the three goods' part, at the worksheet's ``goods_weight``: the strongest answered good
      (the carrier), plus ``second_good`` × (100 − carrier) × (second − 50) / 50 when the
      second-best good is above the middle. A good below it adds nothing and takes nothing:
      its answers' impacts are 0.

    An illegal value raises ValueError naming the question. Pure and deterministic.
    """
    cad = cadence if type(cadence) is Cadence else Cadence(cadence)
    plan = _plan(ws)
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
    dim_score = [0.0] * n
    covered = 0.0
    rest_w = 0.0  # answered dimension weight outside the goods
    rest_sum = 0.0
    good_sum = [0.0, 0.0, 0.0]
    good_w = [0.0, 0.0, 0.0]
    for i, (did, name, dw, gi, asked, qw_asked) in enumerate(plan.dims):
        if got[i]:
            s = ssum[i] / wsum[i]
            dim_score[i] = s
            covered += dw * wsum[i] / qw_asked
            if gi >= 0:
                good_sum[gi] += s * dw
                good_w[gi] += dw
            else:
                rest_w += dw
                rest_sum += s * dw
            dim_sums.append((did, name, dw, s, got[i], asked))
        elif asked:
            dim_sums.append((did, name, dw, None, 0, asked))

    # the goods, strongest first (ties: the order of _GOODS)
    ranked: list[int] = []  # good indexes, strongest first (ties: the order of _GOODS)
    means = [good_sum[gi] / good_w[gi] if good_w[gi] else -1.0 for gi in (0, 1, 2)]
    for gi in (0, 1, 2):
        if good_w[gi]:
            at = 0
            while at < len(ranked) and means[ranked[at]] >= means[gi]:
                at += 1
            ranked.insert(at, gi)
    gw = plan.goods_weight if ranked else 0.0
    weight = rest_w + gw
    factor = [0.0, 0.0, 0.0]  # share of the goods' part each good's mean moves
    goods_part = 0.0
    first_score: float | None = None
    bonus = 0.0
    if ranked:
        first = ranked[0]
        first_score = means[first]
        factor[first] = 1.0
        goods_part = first_score
        if len(ranked) > 1:
            second_score = means[ranked[1]]
            if second_score > 50.0:
                k = plan.second_good * (100.0 - first_score) / 50.0
                factor[ranked[1]] = k
                bonus = k * (second_score - 50.0)
                goods_part += bonus
    total = round((rest_sum + gw * goods_part) / weight, 1)

    shares = [0.0] * n
    for i, (_did, _name, dw, gi, _asked, _qw) in enumerate(plan.dims):
        if got[i]:
            shares[i] = (dw / weight if gi < 0 else
                         gw * factor[gi] * dw / good_w[gi] / weight) / wsum[i]

    coverage = round(covered / plan.total_weight, 3)
    letter: str | None = None
    base: Recommendation | None = None
    advice: Recommendation | None = None
    hits: list[KnockOutHit] = []
    if coverage >= plan.floor:
        letter, base_rank = plan.bands[-1][1], plan.bands[-1][2]
        for lo, band_letter, rank in plan.bands:
            if total >= lo:
                letter, base_rank = band_letter, rank
                break
        rank = base_rank
        for kid, qid, op, value, cap, cap_rank, why in plan.knockouts:
            v = get(qid)
            if v is not None and op(v, value) and cap_rank < base_rank:
                hits.append(KnockOutHit(kid, cap, why))
                if cap_rank < rank:
                    rank = cap_rank
        base, advice = _BY_RANK[base_rank], _BY_RANK[rank]

    goods = {
        Good.US: round(good_sum[0] / good_w[0], 1) if good_w[0] else None,
        Good.SKILLS: round(good_sum[1] / good_w[1], 1) if good_w[1] else None,
        Good.OTHERS: round(good_sum[2] / good_w[2], 1) if good_w[2] else None,
    }
    carrier = _GOODS[ranked[0]] if ranked else None
    profile = carrier if first_score is not None and first_score >= 50.0 else None
    return Grade(ws.id, ws.version, cad, total, letter, advice, base, tuple(hits),
                 tuple(dim_sums), goods, profile, coverage, carrier,
                 None if first_score is None else round(first_score, 1),
                 _GOODS[ranked[1]] if bonus else None, round(bonus, 1), len(scored),
                 len(plan.questions), plan.floor, tuple(scored), tuple(shares))


_IMPACT = operator.itemgetter(2)
_GOODS = (Good.US, Good.SKILLS, Good.OTHERS)
_BY_RANK = {r.rank: r for r in Recommendation}


def answer_points(ws: Worksheet, answers: Mapping[str, AnswerValue]) -> dict[str, float]:
    """The 0–100 points each scored answer is worth under ``ws`` (question id → points), as
    ``grade`` counts them; answers this worksheet cannot score (a question it no longer has,
    a choice it dropped) are left out rather than raising, since stored grades may come from
    older worksheet versions (calibration reads years of them)."""
    out: dict[str, float] = {}
    get = answers.get
    for qid, _di, _w, table, numeric, _q in _plan(ws).questions:
        v = get(qid)
        if v is None:
            continue
        try:
            if table is None:
                out[qid] = numeric(v)
            elif v is not True and v is not False and (s := table.get(v)) is not None:
                out[qid] = s
        except (TypeError, ValueError):  # unhashable, or a number out of today's bounds
            continue
    return out
