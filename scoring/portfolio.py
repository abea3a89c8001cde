"""A book of business against its target balance of the three goods.

Each graded customer counts toward its strongest good (its grade's profile, which is also the
good that carries its grade); the balance of the three goods is judged here, on the whole
book, never inside one customer's grade. A book
leaning too far one way earns the model's warnings: all pro-bono makes no money, all
strength-building under-prices, all revenue stops the firm growing its strengths.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from scoring.worksheet import Good, TargetBalance

if TYPE_CHECKING:
    from scoring.opinions import Overridden

TOLERANCE = 15.0  # percentage points off target before the balance is called out


@dataclass(frozen=True, slots=True)
class BookEntry:
    """One customer of a book, with its latest (and previous) grade if any."""

    customer_id: int
    name: str
    letter: str | None = None
    total: float | None = None
    profile: Good | None = None
    recommendation: str | None = None
    previous_total: float | None = None
    previous_letter: str | None = None
    graded_on: date | None = None
    due_on: date | None = None  # None with a grade = no due date known; None without = due now
    coverage: float | None = None  # share of the worksheet the grade was given with
    provisional: bool = False  # a letter from part of the worksheet
    stale: bool = False  # older than the worksheet's validity (GradingRules.is_stale)
    # a manager's override in force (``scoring.opinions.as_shown``): ``letter`` and
    # ``recommendation`` are then the override's, and this keeps the model's beside them.
    # ``due_on`` stays the model letter's: an override does not change when to re-grade.
    override: Overridden | None = None


@dataclass(frozen=True, slots=True)
class BalanceWarning:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Mover:
    customer_id: int
    name: str
    previous_total: float
    total: float
    previous_letter: str | None
    letter: str | None

    @property
    def delta(self) -> float:
        return round(self.total - self.previous_total, 1)


@dataclass(frozen=True, slots=True)
class Portfolio:
    customers: int
    graded: int
    shares: Mapping[Good, float]  # percent of customers with a profile, by profile
    unprofiled: int  # graded customers that serve none of the goods strongly
    target: TargetBalance
    warnings: tuple[BalanceWarning, ...]
    distribution: Mapping[str, int]
    overdue: tuple[BookEntry, ...]
    movers: tuple[Mover, ...]
    exits: tuple[BookEntry, ...]
    stale: tuple[BookEntry, ...] = ()  # graded, but older than the worksheet's validity

    def gap(self, good: Good) -> float:
        """Share minus target, in percentage points."""
        return round(self.shares[good] - self.target.share(good), 1)

    @property
    def in_balance(self) -> bool:
        return not any(w.code.startswith(("over_", "under_")) for w in self.warnings)


_OVER = {
    Good.OTHERS: ("over_others", "{share:.0f}% of the book is mainly good for others (target "
                  "{target:.0f}%). All pro-bono makes no money: mission work is rewarding, "
                  "but paying customers have to fund it."),
    Good.SKILLS: ("over_skills", "{share:.0f}% of the book is mainly strength-building (target "
                  "{target:.0f}%). All strength-building under-prices what we are good at: "
                  "the learning has to turn into paid work."),
    Good.US: ("over_us", "{share:.0f}% of the book is mainly revenue (target {target:.0f}%). "
              "All revenue stops the firm growing its strengths: take on work that "
              "stretches us."),
}
_UNDER = {
    Good.OTHERS: ("under_others", "Only {share:.0f}% of the book does good for others (target "
                  "{target:.0f}%): consider one mission-driven customer."),
    Good.SKILLS: ("under_skills", "Only {share:.0f}% of the book builds our skills (target "
                  "{target:.0f}%): we are not investing in what we want to be great at."),
    Good.US: ("under_us", "Only {share:.0f}% of the book pays us well now (target {target:.0f}%)"
              ": the business is not funding itself."),
}


def build_portfolio(entries: Iterable[BookEntry], target: TargetBalance, today: date,
                    letters: Iterable[str] = ("A", "B", "C", "D"), top_movers: int = 5,
                    tolerance: float = TOLERANCE) -> Portfolio:
    """Summarise a book: balance vs ``target``, warnings, letters, overdue, biggest movers."""
    counts = {Good.US: 0, Good.SKILLS: 0, Good.OTHERS: 0}
    distribution = dict.fromkeys(letters, 0)
    overdue: list[BookEntry] = []
    movers: list[Mover] = []
    exits: list[BookEntry] = []
    stale: list[BookEntry] = []
    n = graded = unprofiled = 0
    for e in entries:
        n += 1
        if (e.due_on is None and e.letter is None) or (e.due_on is not None and e.due_on <= today):
            overdue.append(e)
        if e.letter is None:
            continue
        graded += 1
        if e.stale:
            stale.append(e)
        distribution[e.letter] = distribution.get(e.letter, 0) + 1
        if e.profile is None:
            unprofiled += 1
        else:
            counts[e.profile] += 1
        if e.recommendation == "exit":
            exits.append(e)
        if e.previous_total is not None and e.total is not None and e.total != e.previous_total:
            movers.append(Mover(e.customer_id, e.name, e.previous_total, e.total,
                                e.previous_letter, e.letter))
    profiled = graded - unprofiled
    shares = {g: (round(100.0 * c / profiled, 1) if profiled else 0.0) for g, c in counts.items()}
    warnings = _balance_warnings(shares, target, tolerance) if profiled else []
    if graded and len(exits) * 4 >= graded:
        warnings.append(BalanceWarning(
            "many_exits", f"{len(exits)} of {graded} graded customers are recommended for exit."))
    if n and not graded:
        warnings.append(BalanceWarning("ungraded", "No customer in this book is graded yet."))
    movers.sort(key=lambda m: (-abs(m.total - m.previous_total), m.name))
    overdue.sort(key=lambda e: (e.due_on or date.min, e.name))
    return Portfolio(n, graded, shares, unprofiled, target, tuple(warnings), distribution,
                     tuple(overdue), tuple(movers[:top_movers]), tuple(exits),
                     tuple(sorted(stale, key=lambda e: (e.graded_on or date.min, e.name))))


def _balance_warnings(shares: Mapping[Good, float], target: TargetBalance,
                      tolerance: float) -> list[BalanceWarning]:
    out: list[BalanceWarning] = []
    for good in (Good.US, Good.SKILLS, Good.OTHERS):
        share, tgt = shares[good], target.share(good)
        table = _OVER if share > tgt + tolerance else _UNDER if share < tgt - tolerance else None
        if table is not None:
            code, text = table[good]
            out.append(BalanceWarning(code, text.format(share=share, target=tgt)))
    return out
