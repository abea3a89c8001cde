"""The worksheet: what gradebot asks about a customer and how each answer is worth points.

A worksheet is data (YAML), not code, so a sales leader can tune questions, weights and grade
bands without a release. Everything here is validated at load time so that a bad file fails
with one located message (file, question or dimension id, what is wrong) rather than surfacing
later as a wrong grade.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from datetime import date
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULT_WORKSHEET_PATH = Path(__file__).parent / "worksheets" / "default.yml"

# libyaml's loader reads the shipped worksheet ~9x faster than the pure-Python one (every
# command pays for it at start-up); the same documents, the same errors and marks.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Id = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]


class Good(StrEnum):
    """The three goods a healthy book of business keeps in balance."""

    OTHERS = "good_for_others"
    SKILLS = "good_at_it"
    US = "good_for_you"

    @property
    def label(self) -> str:
        return GOOD_LABELS[self]


GOOD_LABELS: dict[Good, str] = {
    Good.OTHERS: "Good for others",
    Good.SKILLS: "Good at it",
    Good.US: "Good for you",
}


class Cadence(StrEnum):
    """How often a customer is (re-)graded; each cadence asks its own subset of questions."""

    QUARTERLY = "quarterly"
    ANNUAL = "annual"
    STRATEGIC = "strategic"


class Recommendation(StrEnum):
    """What to do with the customer. Ordered from most to least investment (see RANK)."""

    INVEST_MORE = "invest_more"
    MAINTAIN = "maintain"
    INVEST_LESS = "invest_less"
    EXIT = "exit"

    @property
    def rank(self) -> int:
        """Higher means more investment; a knock-out can only lower it."""
        return _RECOMMENDATION_RANK[self]

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


_RECOMMENDATION_RANK = {
    Recommendation.INVEST_MORE: 3,
    Recommendation.MAINTAIN: 2,
    Recommendation.INVEST_LESS: 1,
    Recommendation.EXIT: 0,
}


class AnswerType(StrEnum):
    SCALE = "scale"
    YES_NO = "yes_no"
    CHOICE = "choice"
    PERCENT = "percent"
    NUMBER = "number"
    TEXT = "text"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dimension(_Strict):
    """A scored facet of a customer (for example "Fit"); feeds at most one of the three goods."""

    id: Id
    name: str = Field(min_length=1, max_length=60)
    weight: float = Field(gt=0)
    good: Good | None = None
    text: str = Field(default="", max_length=500)


class Choice(_Strict):
    """One option of a single-choice question; ``value`` is the 0–100 score it is worth."""

    key: Id
    label: str = Field(min_length=1, max_length=75)
    value: float = Field(ge=0, le=100)
    synonyms: tuple[str, ...] = ()


class Band(_Strict):
    """A numeric band: answers up to and including ``upto`` score ``score``."""

    upto: float
    score: float = Field(ge=0, le=100)


class Question(_Strict):
    """One worksheet question. ``label`` is the short name used in explanations."""

    id: Id
    label: str = Field(min_length=1, max_length=40)
    prompt: str = Field(min_length=1, max_length=300)
    help: str = Field(default="", max_length=600)
    why: str = Field(default="", max_length=600)
    dimension: Id | None = None
    type: AnswerType
    weight: float = Field(default=1.0, gt=0)
    cadences: tuple[Cadence, ...] = (Cadence.ANNUAL,)
    # scale: exactly five labels, for 1..5
    labels: tuple[str, ...] = ()
    reverse: bool = False
    # yes_no: the score of each answer (not "yes:"/"no:" keys: YAML reads those as booleans)
    yes_score: float = Field(default=100, ge=0, le=100)
    no_score: float = Field(default=0, ge=0, le=100)
    unsure_score: float = Field(default=50, ge=0, le=100)
    # choice
    choices: tuple[Choice, ...] = ()
    # number / percent
    min: float | None = None
    max: float | None = None
    unit: str = Field(default="", max_length=20)
    bands: tuple[Band, ...] = ()
    # scale / yes_no: other ways reps say an answer, by value ("1".."5", or yes/no/unsure), as
    # (value, phrases) pairs; written in YAML as a mapping ({5: [bang on, perfect fit]}).
    # Choices carry theirs on the choice. The rules read these; they are never guessed at.
    says: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @field_validator("cadences", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return (v,) if isinstance(v, str) else v

    @field_validator("says", mode="before")
    @classmethod
    def _says_mapping(cls, v: Any) -> Any:
        if isinstance(v, dict):
            # YAML 1.1 reads a bare yes/no key as a boolean
            return tuple(({True: "yes", False: "no"}.get(k, str(k)) if isinstance(k, bool)
                          else str(k), tuple(p) if isinstance(p, list | tuple) else (p,))
                         for k, p in v.items())
        return v

    @model_validator(mode="after")
    def _type_specific(self) -> Question:
        t = self.type
        if self.says:
            legal = ({"1", "2", "3", "4", "5"} if t is AnswerType.SCALE else
                     {"yes", "no", "unsure"} if t is AnswerType.YES_NO else set())
            if not legal:
                raise ValueError(f"'says' is for scale and yes_no questions, not {t.value} "
                                 "(a choice lists its synonyms on the choice)")
            bad = [k for k, _ in self.says if k not in legal]
            if bad:
                raise ValueError(f"'says' keys must be one of {sorted(legal)}; got {bad}")
            if any(not p.strip() or len(p) > 75 for _, ps in self.says for p in ps):
                raise ValueError("'says' phrases must be 1-75 characters")
        if t is AnswerType.TEXT:
            if self.dimension is not None:
                raise ValueError("a text question is not scored, so it cannot have a dimension")
        elif self.dimension is None:
            raise ValueError(f"a {t.value} question needs a dimension")
        if t is AnswerType.SCALE:
            if len(self.labels) != 5:
                raise ValueError("a scale question needs exactly 5 labels (for 1 to 5)")
            if any(not lab.strip() or len(lab) > 75 for lab in self.labels):
                raise ValueError("scale labels must be 1-75 characters")
        if t is AnswerType.CHOICE:
            if len(self.choices) < 2:
                raise ValueError("a choice question needs at least 2 choices")
            if len(self.choices) > 10:
                raise ValueError("a choice question may have at most 10 choices")
            keys = [c.key for c in self.choices]
            if len(set(keys)) != len(keys):
                raise ValueError(f"duplicate choice keys: {_dupes(keys)}")
        if t in (AnswerType.NUMBER, AnswerType.PERCENT):
            lo, hi = self.bounds
            if lo >= hi:
                raise ValueError(f"min ({lo}) must be below max ({hi})")
            uptos = [b.upto for b in self.bands]
            if uptos != sorted(uptos) or len(set(uptos)) != len(uptos):
                raise ValueError(f"bands must be in strictly increasing order of 'upto': {uptos}")
            if t is AnswerType.NUMBER and not self.bands:
                raise ValueError("a number question needs bands (how many points each range earns)")
            if self.bands and self.bands[-1].upto < hi:
                raise ValueError(f"the last band must reach max ({hi}); it stops at {uptos[-1]}")
        return self

    @property
    def bounds(self) -> tuple[float, float]:
        if self.type is AnswerType.PERCENT:
            return (0.0 if self.min is None else self.min, 100.0 if self.max is None else self.max)
        return (self.min if self.min is not None else 0.0,
                self.max if self.max is not None else 1e12)

    @property
    def scored(self) -> bool:
        return self.type is not AnswerType.TEXT

    def said(self, value: str) -> tuple[str, ...]:
        """The phrases that say ``value`` ("5", "yes") besides the label."""
        return next((ps for k, ps in self.says if k == value), ())

    def choice(self, key: str) -> Choice | None:
        return next((c for c in self.choices if c.key == key), None)


class KnockOut(_Strict):
    """A rule that caps the recommendation whatever the score, e.g. a clear mis-fit."""

    id: Id
    question: Id
    op: Literal["<=", ">=", "==", "<", ">", "in"]
    value: Any
    cap: Recommendation
    reason: str = Field(min_length=1, max_length=200)


class GradeBand(_Strict):
    letter: str = Field(pattern=r"^[A-F]$")
    min: float = Field(ge=0, le=100)
    recommendation: Recommendation


class TargetBalance(_Strict):
    """The share (percent) of the book each good should hold; sums to 100."""

    good_for_you: float = Field(ge=0, le=100)
    good_at_it: float = Field(ge=0, le=100)
    good_for_others: float = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _sums_to_100(self) -> TargetBalance:
        total = self.good_for_you + self.good_at_it + self.good_for_others
        if abs(total - 100) > 0.01:
            raise ValueError(f"target balance must add up to 100, not {total:g}")
        return self

    def share(self, good: Good) -> float:
        return float(getattr(self, good.value))


class GradingRules(_Strict):
    """How answers become a grade, beyond the points of each answer (see scoring/grading.py).

    ``goods_weight``: the weight of the three goods' part of the total, which is the
    customer's strongest good (fit and outcomes keep their dimension weights beside it).
    ``second_good``: how much a second strong good adds: that share of the room left above
    the strongest good, scaled by how far the second good is above the middle (50).
    ``coverage_floor``: below this share of the worksheet's weight answered there is no
    letter yet. ``stale_after_days``: a carried answer older than this is left out, and a
    grade older than this is shown as stale (``is_stale``)."""

    goods_weight: float = Field(default=2.0, gt=0)
    second_good: float = Field(default=0.25, ge=0, lt=1)
    coverage_floor: float = Field(default=0.6, gt=0, le=1)
    stale_after_days: int = Field(default=456, ge=1)

    def is_stale(self, graded_on: date | None, today: date) -> bool:
        """A grade given on ``graded_on`` no longer stands on ``today``: it is older than the
        age at which its answers would stop counting toward a new grade (``merge_answers``
        drops them), so a re-grade would start from nothing it said. The one staleness rule:
        every channel, the reminders and the CSV export ask this. None (never graded) is not
        stale, it is ungraded."""
        return graded_on is not None and (today - graded_on).days > self.stale_after_days


class Worksheet(_Strict):
    id: Id
    version: int = Field(ge=1)
    title: str = Field(min_length=1, max_length=100)
    dimensions: tuple[Dimension, ...] = Field(min_length=1)
    questions: tuple[Question, ...] = Field(min_length=1)
    knockouts: tuple[KnockOut, ...] = ()
    grade_bands: tuple[GradeBand, ...] = Field(min_length=2)
    target_balance: TargetBalance
    grading: GradingRules = GradingRules()
    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    @model_validator(mode="after")
    def _cross_references(self) -> Worksheet:
        dim_ids = [d.id for d in self.dimensions]
        if len(set(dim_ids)) != len(dim_ids):
            raise ValueError(f"duplicate dimension ids: {_dupes(dim_ids)}")
        q_ids = [q.id for q in self.questions]
        if len(set(q_ids)) != len(q_ids):
            raise ValueError(f"duplicate question ids: {_dupes(q_ids)}")
        known = set(dim_ids)
        for q in self.questions:
            if q.dimension is not None and q.dimension not in known:
                raise ValueError(f"question {q.id!r}: unknown dimension {q.dimension!r}"
                                 f" (known: {', '.join(dim_ids)})")
        used = {q.dimension for q in self.questions}
        for d in self.dimensions:
            if d.id not in used:
                raise ValueError(f"dimension {d.id!r} has no questions")
        letters = [b.letter for b in self.grade_bands]
        mins = [b.min for b in self.grade_bands]
        if len(set(letters)) != len(letters):
            raise ValueError(f"duplicate grade letters: {_dupes(letters)}")
        if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
            raise ValueError(f"grade_bands must go from best to worst with falling 'min': {mins}")
        if mins[-1] != 0:
            raise ValueError("the last grade band must start at min 0 so every score has a letter")
        ko_ids = [k.id for k in self.knockouts]
        if len(set(ko_ids)) != len(ko_ids):  # a grade names the knock-outs that hit it
            raise ValueError(f"duplicate knock-out ids: {_dupes(ko_ids)}")
        by_id = {q.id: q for q in self.questions}
        problems = [f"knock-out {k.id!r}: {problem}" for k in self.knockouts
                    if (problem := _knockout_problem(k, by_id.get(k.question)))]
        if problems:
            raise ValueError("; ".join(problems))
        for c in Cadence:
            if c is not Cadence.STRATEGIC and not self.questions_for(c):
                raise ValueError(f"no question is asked at the {c.value} cadence")
        return self

    def questions_for(self, cadence: Cadence | str) -> tuple[Question, ...]:
        c = Cadence(cadence)
        return tuple(q for q in self.questions if c in q.cadences)

    @cached_property
    def question_map(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    @cached_property
    def dimension_map(self) -> dict[str, Dimension]:
        return {d.id: d for d in self.dimensions}

    @cached_property
    def scored_questions(self) -> tuple[Question, ...]:
        """The whole sheet: every scored question of any cadence, in worksheet order. Every
        grade is computed over these (a pulse carries the rest from earlier gradings)."""
        return tuple(q for q in self.questions if q.scored)


_ORDERING: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_NUMERIC = (AnswerType.SCALE, AnswerType.NUMBER, AnswerType.PERCENT)
_YAML_BOOL_HINT = "; quote it: YAML reads a bare yes/no as true/false"


def _knockout_problem(k: KnockOut, q: Question | None) -> str | None:
    """What makes ``k`` unusable with its question, or None.

    Grading applies ``answer <op> value`` with plain Python operators, so a rule that does not
    fit its question either raises TypeError mid-grade (``"high" <= 1``) or silently never
    fires (``== "hihg"``). Both are author mistakes, best caught when the file is loaded.
    """
    if q is None:
        return f"unknown question {k.question!r}"
    if not q.scored:
        return f"question {q.id!r} is free text"
    if k.op in _ORDERING:
        return _ordering_problem(k, q)
    if k.op == "in":
        return _list_problem(q, k.value)
    return _answer_problem(q, k.value)


def _ordering_problem(k: KnockOut, q: Question) -> str | None:
    """An ordering rule needs a numeric question, a number, and some (not all) answers to match.

    A rule that matches no answer never fires; one that matches every answer caps every
    customer whatever they answer. Whether ``answer <op> value`` holds is monotone in the
    answer, so trying the lowest and highest legal answer decides both.
    """
    if q.type not in _NUMERIC:
        return (f"{k.op!r} compares numbers, but question {q.id!r} is a {q.type.value} question"
                f" ({_answers_of(q)}); use '==' or 'in'")
    v = k.value
    if isinstance(v, bool) or not isinstance(v, int | float):
        return f"{k.op!r} needs a number for question {q.id!r} ({_answers_of(q)}), not {v!r}"
    lo, hi = (1, 5) if q.type is AnswerType.SCALE else q.bounds
    easiest, hardest = (lo, hi) if k.op in ("<", "<=") else (hi, lo)
    test = _ORDERING[k.op]
    if not test(easiest, v):
        return f"'{k.op} {v!r}' never matches an answer of question {q.id!r} ({_answers_of(q)})"
    if test(hardest, v):
        return (f"'{k.op} {v!r}' matches every answer of question {q.id!r} ({_answers_of(q)}),"
                f" so it would cap every customer")
    return None


def _list_problem(q: Question, value: Any) -> str | None:
    """'in' tests membership: a string would match substrings, a scalar would raise."""
    if not isinstance(value, list | tuple):
        return (f"'in' needs a list of answers of question {q.id!r} ({_answers_of(q)}),"
                f" not {value!r}")
    if not value:
        return f"'in' needs at least one answer of question {q.id!r} ({_answers_of(q)})"
    return next((p for item in value if (p := _answer_problem(q, item))), None)


def _answer_problem(q: Question, value: Any) -> str | None:
    """``value`` must be an answer a rep can give, or an equality test can never match."""
    from scoring.parsing import is_legal  # the one definition; parsing imports this module

    if is_legal(q, value):
        return None
    hint = _YAML_BOOL_HINT if isinstance(value, bool) else ""
    return f"{value!r} is not an answer of question {q.id!r} ({_answers_of(q)}){hint}"


def _answers_of(q: Question) -> str:
    """The legal answers of a scored question, in the words a worksheet author writes."""
    t = q.type
    if t is AnswerType.SCALE:
        return "a whole number from 1 to 5"
    if t is AnswerType.YES_NO:
        return "yes, no or unsure"
    if t is AnswerType.CHOICE:
        return "one of: " + ", ".join(c.key for c in q.choices)
    lo, hi = q.bounds
    return f"a number from {lo:g} to {hi:g}"


class WorksheetError(Exception):
    """A worksheet file that cannot be used; the message says where and why."""


def _dupes(items: Iterable[str]) -> str:
    seen: set[str] = set()
    dupes: list[str] = []
    for i in items:
        if i in seen and i not in dupes:
            dupes.append(i)
        seen.add(i)
    return ", ".join(dupes)


def _locate(raw: Any, loc: tuple[Any, ...]) -> str:
    """Turn pydantic's index path (questions.3.labels) into ids a human wrote (question 'x')."""
    parts: list[str] = []
    node = raw
    i = 0
    while i < len(loc):
        key = loc[i]
        if isinstance(node, dict) and key in node:
            child = node[key]
            if isinstance(child, list) and i + 1 < len(loc) and isinstance(loc[i + 1], int):
                idx = loc[i + 1]
                item = child[idx] if idx < len(child) else None
                kind = {"questions": "question", "dimensions": "dimension", "choices": "choice",
                        "knockouts": "knock-out", "grade_bands": "grade band",
                        "bands": "band"}.get(str(key), str(key))
                ident = None
                if isinstance(item, dict):
                    ident = item.get("id") or item.get("key") or item.get("letter")
                parts.append(f"{kind} {ident!r}" if ident else f"{kind} #{idx + 1}")
                node = item
                i += 2
                continue
            parts.append(str(key))
            node = child
        else:
            parts.append(str(key))
            node = None
        i += 1
    return ", ".join(parts)


def parse_worksheet(raw: Any, source: str = "<worksheet>") -> Worksheet:
    """Validate already-loaded YAML data; errors name ``source`` and the offending ids."""
    if not isinstance(raw, dict):
        raise WorksheetError(f"{source}: a worksheet must be a mapping, not {type(raw).__name__}")
    try:
        return Worksheet.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            where = _locate(raw, tuple(err["loc"]))
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "enum":
                msg = f"{msg} (got {err.get('input')!r})"
            lines.append(f"{where}: {msg}" if where else msg)
        raise WorksheetError(f"{source}: " + "; ".join(lines)) from None


def load_worksheet(path: str | Path | None = None) -> Worksheet:
    """Read and validate a worksheet YAML file (the shipped default when ``path`` is None)."""
    p = Path(path) if path is not None else DEFAULT_WORKSHEET_PATH
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorksheetError(f"{p}: cannot read worksheet ({exc.strerror or exc})") from None
    try:
        raw = yaml.load(text, Loader=_SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise WorksheetError(f"{p}: not valid YAML{where}: {problem}") from None
    return parse_worksheet(raw, str(p))
