"""Grading periods and due dates: pure calendar logic shared by look-ups and reminders.

A customer is due again at the start of the period after the one its latest grade fell in;
how long that period is can depend on the letter (an A is re-graded yearly, a D quarterly).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from scoring.worksheet import Cadence


def quarter_of(d: date) -> int:
    return (d.month - 1) // 3 + 1


def period_key(d: date, cadence: Cadence | str) -> str:
    """The label of the period ``d`` falls in: ``2026-Q4`` (quarterly) or ``2026`` (annual);
    a strategic review is keyed by its date (``2026-11-24``) since an admin schedules it."""
    c = Cadence(cadence)
    if c is Cadence.QUARTERLY:
        return f"{d.year}-Q{quarter_of(d)}"
    if c is Cadence.ANNUAL:
        return str(d.year)
    return d.isoformat()


def period_start(d: date, cadence: Cadence | str) -> date:
    c = Cadence(cadence)
    if c is Cadence.QUARTERLY:
        return date(d.year, 3 * (quarter_of(d) - 1) + 1, 1)
    if c is Cadence.ANNUAL:
        return date(d.year, 1, 1)
    return d


def next_period_start(d: date, cadence: Cadence | str) -> date:
    c = Cadence(cadence)
    if c is Cadence.QUARTERLY:
        q = quarter_of(d)
        return date(d.year + 1, 1, 1) if q == 4 else date(d.year, 3 * q + 1, 1)
    if c is Cadence.ANNUAL:
        return date(d.year + 1, 1, 1)
    return d


def period_label(key: str) -> str:
    """``2026-Q4`` → ``Q4 2026``; other keys read as they are."""
    if len(key) == 7 and key[4:6] == "-Q":
        return f"{key[5:]} {key[:4]}"
    return key


_DEFAULT_BY_LETTER = {"A": Cadence.ANNUAL, "B": Cadence.QUARTERLY, "C": Cadence.QUARTERLY,
                      "D": Cadence.QUARTERLY}


@dataclass(frozen=True)
class RegradePolicy:
    """How often a customer is re-graded, by its latest letter (unknown letters: ``default``)."""

    by_letter: Mapping[str, Cadence] = field(default_factory=lambda: dict(_DEFAULT_BY_LETTER))
    default: Cadence = Cadence.QUARTERLY

    def cadence_for(self, letter: str | None) -> Cadence:
        if letter is None:
            return Cadence.ANNUAL
        return self.by_letter.get(letter, self.default)

    def due_date(self, last_graded: date | None, letter: str | None) -> date | None:
        """When the customer is next due; None means never graded (due now)."""
        if last_graded is None:
            return None
        return next_period_start(last_graded, self.cadence_for(letter))

    def is_due(self, last_graded: date | None, letter: str | None, today: date) -> bool:
        due = self.due_date(last_graded, letter)
        return due is None or due <= today


def cadence_to_ask(last_graded: date | None, today: date) -> Cadence:
    """Which worksheet to use when the rep does not say: never graded (or not this year) →
    the annual sheet; graded this year → the quarterly pulse."""
    if last_graded is None or last_graded.year != today.year:
        return Cadence.ANNUAL
    return Cadence.QUARTERLY
