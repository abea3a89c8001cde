"""Second opinions and overrides, as the grading model sees them (pure: no I/O).

Two people grading the same customer *disagree* when their letters differ or when any
dimension both of them scored is ``DIMENSION_GAP`` points or more apart: a letter can hide a
large split (one sees a fit problem, the other an outcomes problem) that is worth a talk.

A rep's *optimism* is how far their own grades sit above the second opinions given on the
same customers: positive means they grade their book greener than others see it — the
"flood of green" when people grade their own accounts.

An *override* is a manager's letter and/or recommendation put over the model's grade, with
a reason and an end date; the model's own grade is always shown beside it (``Overridden``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from statistics import fmean
from typing import Protocol, TypeVar

from scoring.cadence import period_key
from scoring.worksheet import Cadence, Recommendation

DIMENSION_GAP = 25.0
LETTERS = ("A", "B", "C", "D")


@dataclass(frozen=True, slots=True)
class GradeScores:
    """What two grades are compared on: the letter, the total and the dimension scores
    (None: that dimension was not answered)."""

    letter: str
    total: float
    dimensions: Mapping[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DimensionGap:
    dimension_id: str
    record: float
    other: float

    @property
    def gap(self) -> float:
        return abs(self.record - self.other)


@dataclass(frozen=True, slots=True)
class Disagreement:
    """How a second opinion differs from the grade of record (empty: they agree)."""

    record_letter: str
    other_letter: str
    gaps: tuple[DimensionGap, ...] = ()

    @property
    def letter_differs(self) -> bool:
        return self.record_letter != self.other_letter

    @property
    def disagrees(self) -> bool:
        return self.letter_differs or bool(self.gaps)

    def describe(self, names: Mapping[str, str] | None = None) -> str:
        """ "letters differ (A vs C); Fit 30 points apart" (plain text)."""
        names = names or {}
        parts: list[str] = []
        if self.letter_differs:
            parts.append(f"letters differ ({self.record_letter} vs {self.other_letter})")
        parts += [
            f"{names.get(g.dimension_id, g.dimension_id)} {g.gap:g} points apart "
            f"({g.record:g} vs {g.other:g})"
            for g in self.gaps
        ]
        return "; ".join(parts) if parts else "they agree"


def disagreement(
    record: GradeScores, other: GradeScores, gap: float = DIMENSION_GAP
) -> Disagreement:
    """Compare a second opinion with the grade of record. Dimensions only one of them scored
    are not compared: a blank is not a disagreement."""
    gaps = tuple(
        DimensionGap(d, float(a), float(b))
        for d, a in sorted(record.dimensions.items())
        if a is not None
        and (b := other.dimensions.get(d)) is not None
        and abs(float(a) - float(b)) >= gap
    )
    return Disagreement(record.letter, other.letter, gaps)


# ---------------------------------------------------------------------------- optimism
@dataclass(frozen=True, slots=True)
class OpinionPair:
    """One second opinion beside the rep's grade of record it was given against."""

    rep_id: int
    given_on: date
    record_total: float
    other_total: float
    record_letter: str
    other_letter: str


@dataclass(frozen=True, slots=True)
class OptimismPeriod:
    """One rep's grades against second opinions over one quarter."""

    period: str
    count: int
    mean_gap: float  # record total − second-opinion total, averaged: > 0 is optimistic
    letters_higher: int  # times the rep's letter was better than the other's
    letters_lower: int

    @property
    def text(self) -> str:
        lean = (
            "optimistic"
            if self.mean_gap >= 5
            else "pessimistic"
            if self.mean_gap <= -5
            else "in line"
        )
        return (
            f"{self.period}: {self.count} second opinion{'s' if self.count != 1 else ''}, "
            f"{self.mean_gap:+.1f} points on average ({lean}); letter higher "
            f"{self.letters_higher}, lower {self.letters_lower}"
        )


@dataclass(frozen=True, slots=True)
class Optimism:
    rep_id: int
    periods: tuple[OptimismPeriod, ...]

    @property
    def overall(self) -> OptimismPeriod:
        n = sum(p.count for p in self.periods)
        mean = sum(p.mean_gap * p.count for p in self.periods) / n if n else 0.0
        return OptimismPeriod(
            "overall",
            n,
            round(mean, 1),
            sum(p.letters_higher for p in self.periods),
            sum(p.letters_lower for p in self.periods),
        )


def _better(a: str, b: str) -> bool:
    """Is letter ``a`` better than ``b`` (A best)?"""
    return a in LETTERS and b in LETTERS and LETTERS.index(a) < LETTERS.index(b)


def optimism(pairs: Iterable[OpinionPair]) -> dict[int, Optimism]:
    """Per rep, per quarter (oldest first): how their grades compare with second opinions."""
    by: dict[int, dict[str, list[OpinionPair]]] = {}
    for p in pairs:
        by.setdefault(p.rep_id, {}).setdefault(
            period_key(p.given_on, Cadence.QUARTERLY), []
        ).append(p)
    out: dict[int, Optimism] = {}
    for rep, periods in by.items():
        rows = tuple(
            OptimismPeriod(
                key,
                len(ps),
                round(fmean(p.record_total - p.other_total for p in ps), 1),
                sum(_better(p.record_letter, p.other_letter) for p in ps),
                sum(_better(p.other_letter, p.record_letter) for p in ps),
            )
            for key, ps in sorted(periods.items())
        )
        out[rep] = Optimism(rep, rows)
    return out


# ---------------------------------------------------------------------------- overrides
WARN_DAYS = 7  # the setter and the owner are told a week before it ends


@dataclass(frozen=True, slots=True)
class OverrideTerms:
    """What a manager put over the model's grade (either part may be None)."""

    letter: str | None
    recommendation: Recommendation | None
    reason: str
    set_by: str
    until: datetime


@dataclass(frozen=True, slots=True)
class Overridden:
    """The grade as shown: the override's letter/recommendation where it sets them, the
    model's otherwise, and the model's own beside it."""

    model_letter: str | None
    model_recommendation: Recommendation | None
    terms: OverrideTerms | None

    @property
    def letter(self) -> str | None:
        return self.terms.letter if self.terms and self.terms.letter else self.model_letter

    @property
    def recommendation(self) -> Recommendation | None:
        if self.terms and self.terms.recommendation:
            return self.terms.recommendation
        return self.model_recommendation

    @property
    def active(self) -> bool:
        return self.terms is not None

    @property
    def note(self) -> str:
        """ "overridden: C, invest less (model: A, invest more)": what a line of a list adds
        beside the grade it shows (plain text; empty when not overridden)."""
        if self.terms is None:
            return ""
        shown = _grade_words(self.letter, self.recommendation)
        return f"overridden: {shown} (model: {self.model_words})"

    @property
    def model_words(self) -> str:
        """ "A, invest more": the model's own grade."""
        return _grade_words(self.model_letter or "no letter", self.model_recommendation)

    def lines(self, until: date | None = None) -> list[str]:
        """ "Overridden: letter B, recommendation maintain — by Pat until 2027-03-01: …" and
        "Model's grade: C, invest less" (plain text; empty when not overridden). ``until``:
        the end date in the reader's calendar (default: UTC)."""
        t = self.terms
        if t is None:
            return []
        what = []
        if t.letter:
            what.append(f"letter {t.letter}")
        if t.recommendation:
            what.append(f"recommendation {t.recommendation.label}")
        day = until or t.until.date()
        return [
            f"Overridden: {' and '.join(what)} — by {t.set_by} until {day.isoformat()}: {t.reason}",
            f"Model's grade: {self.model_words}",
        ]


def _grade_words(letter: str | None, rec: Recommendation | None) -> str:
    return ", ".join(x for x in (letter, rec.label if rec else None) if x)


def overridden(
    model_letter: str | None, model_recommendation: str | None, terms: OverrideTerms | None
) -> Overridden:
    rec = Recommendation(model_recommendation) if model_recommendation else None
    return Overridden(model_letter, rec, terms)


class Shown(Protocol):
    """Anything that shows or counts a customer's grade of record: a book line, a digest's
    exit pick. ``override`` is set by ``as_shown`` (None: the model's grade as it is)."""

    @property
    def customer_id(self) -> int: ...
    @property
    def letter(self) -> str | None: ...
    @property
    def recommendation(self) -> str | None: ...
    @property
    def override(self) -> Overridden | None: ...


S = TypeVar("S", bound=Shown)


def as_shown(items: Sequence[S], terms: Mapping[int, OverrideTerms]) -> list[S]:
    """The one rule for every place a grade of record is shown or counted: where an override
    is in force (``terms``, by customer id), the letter and recommendation become the
    override's and the model's own are kept in ``override`` (beside it in every line).
    A customer never graded keeps no letter: an override is over a grade. Applying twice
    changes nothing (the model's grade is never replaced by an earlier override)."""
    out: list[S] = []
    for item in items:
        t = terms.get(item.customer_id)
        if t is None or item.letter is None or item.override is not None:
            out.append(item)
            continue
        view = overridden(item.letter, item.recommendation, t)
        rec = view.recommendation.value if view.recommendation else None
        out.append(
            replace(
                item,
                letter=view.letter,
                recommendation=rec,  # type: ignore[type-var]
                override=view,
            )
        )
    return out


def check_override(
    letter: str | None, recommendation: str | None, reason: str, until: date, today: date
) -> list[str]:
    """What is wrong with an override as asked (empty: it may be set). The reason is
    required, something must be overridden, and it must end within 12 months."""
    problems: list[str] = []
    if letter is None and recommendation is None:
        problems.append("Say what to override: a letter (A–D) and/or a recommendation.")
    if letter is not None and letter not in LETTERS:
        problems.append(f"{letter!r} is not a letter: use A, B, C or D.")
    if recommendation is not None and recommendation not in {r.value for r in Recommendation}:
        problems.append("The recommendation must be invest more, maintain, invest less or exit.")
    if not reason.strip():
        problems.append("A reason is required.")
    if until <= today:
        problems.append("The end date must be after today.")
    elif until > latest_end(today):
        problems.append(
            f"An override lasts at most 12 months (until {latest_end(today)} at the latest)."
        )
    return problems


def latest_end(today: date) -> date:
    """The last day an override set ``today`` may run to: a year on (28 February for a
    29 February)."""
    try:
        return today.replace(year=today.year + 1)
    except ValueError:
        return today.replace(year=today.year + 1, day=28)
