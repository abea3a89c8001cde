"""A book of business against its target balance (default 60 / 25 / 15, tolerance 15 points):
shares, warnings, letters, overdue customers and movers, on hand-built books."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from scoring import BookEntry, Good, TargetBalance, build_portfolio

TODAY = date(2026, 6, 15)
TARGET = TargetBalance(good_for_you=60, good_at_it=25, good_for_others=15)
_ids = itertools.count(1)


def entry(profile: Good | None = Good.US, letter: str | None = "B", **kw) -> BookEntry:
    n = next(_ids)
    kw.setdefault("name", f"Customer {n:05d}")
    kw.setdefault("due_on", date(2026, 10, 1) if letter else None)
    return BookEntry(customer_id=n, letter=letter, profile=profile if letter else None, **kw)


def book(us: int, skills: int, others: int) -> list[BookEntry]:
    return ([entry(Good.US) for _ in range(us)] + [entry(Good.SKILLS) for _ in range(skills)]
            + [entry(Good.OTHERS) for _ in range(others)])


def codes(p) -> set[str]:
    return {w.code for w in p.warnings}


def test_balanced_book_has_no_warnings() -> None:
    p = build_portfolio(book(12, 5, 3), TARGET, TODAY)  # 60 / 25 / 15 exactly
    assert p.shares == {Good.US: 60.0, Good.SKILLS: 25.0, Good.OTHERS: 15.0}
    assert p.warnings == ()
    assert p.in_balance
    assert (p.customers, p.graded, p.unprofiled) == (20, 20, 0)
    assert p.gap(Good.US) == 0


def test_within_tolerance_is_still_balanced() -> None:
    p = build_portfolio(book(14, 3, 3), TARGET, TODAY)  # 70 / 15 / 15: 10 points off at most
    assert p.warnings == ()
    assert p.gap(Good.US) == 10.0
    assert p.gap(Good.SKILLS) == -10.0


@pytest.mark.parametrize(("us", "skills", "others", "target", "expected"), [
    # 100 / 0 / 0: revenue above 75, skills below 10; others 0 is not below 15 - 15
    (20, 0, 0, TARGET, {"over_us", "under_skills"}),
    (8, 7, 5, TARGET, {"under_us"}),  # 40 / 35 / 25: revenue below 45 only
    (10, 9, 1, TARGET, {"over_skills"}),  # 50 / 45 / 5: skills above 40 only
    (14, 1, 5, TARGET, {"under_skills"}),  # 70 / 5 / 25: skills below 10 only
    (10, 3, 7, TARGET, {"over_others"}),  # 50 / 15 / 35: others above 30 only
    # target 50 / 20 / 30; 60 / 30 / 10: others below 15 only
    (12, 6, 2, TargetBalance(good_for_you=50, good_at_it=20, good_for_others=30),
     {"under_others"}),
])
def test_each_balance_warning_fires_alone(us, skills, others, target, expected) -> None:
    p = build_portfolio(book(us, skills, others), target, TODAY)
    assert codes(p) == expected
    assert not p.in_balance


def test_warning_messages_say_share_and_target() -> None:
    p = build_portfolio(book(10, 3, 7), TARGET, TODAY)
    [w] = p.warnings
    assert w.message.startswith("35% of the book is mainly good for others (target 15%).")
    p = build_portfolio(book(8, 7, 5), TARGET, TODAY)
    [w] = p.warnings
    assert w.message.startswith("Only 40% of the book pays us well now (target 60%)")


def test_tolerance_is_configurable() -> None:
    entries = book(14, 3, 3)  # 70 / 15 / 15
    assert codes(build_portfolio(entries, TARGET, TODAY, tolerance=5)) == {
        "over_us", "under_skills"}


def test_unprofiled_customers_are_left_out_of_the_shares() -> None:
    entries = [*book(3, 1, 0), entry(None, "C"), entry(None, "D")]
    p = build_portfolio(entries, TARGET, TODAY)
    assert (p.graded, p.unprofiled) == (6, 2)
    assert p.shares == {Good.US: 75.0, Good.SKILLS: 25.0, Good.OTHERS: 0.0}


def test_many_exits() -> None:
    def with_exits(exits: int, others: int) -> list[BookEntry]:
        return ([entry(letter="D", recommendation="exit") for _ in range(exits)]
                + [entry(letter="B", recommendation="maintain") for _ in range(others)])

    p = build_portfolio(with_exits(1, 3), TARGET, TODAY)  # 1 of 4: a quarter
    assert "many_exits" in codes(p)
    assert next(w.message for w in p.warnings if w.code == "many_exits") == (
        "1 of 4 graded customers are recommended for exit.")
    assert len(p.exits) == 1
    assert p.exits[0].letter == "D"
    assert "many_exits" not in codes(build_portfolio(with_exits(1, 4), TARGET, TODAY))
    assert "many_exits" not in codes(build_portfolio(with_exits(0, 4), TARGET, TODAY))


def test_ungraded_book() -> None:
    p = build_portfolio([entry(letter=None) for _ in range(3)], TARGET, TODAY)
    assert codes(p) == {"ungraded"}
    assert (p.customers, p.graded) == (3, 0)
    assert p.shares == {Good.US: 0.0, Good.SKILLS: 0.0, Good.OTHERS: 0.0}
    assert len(p.overdue) == 3  # never graded means due now
    assert "ungraded" not in codes(build_portfolio([*book(1, 0, 0), entry(letter=None)],
                                                   TARGET, TODAY))


def test_empty_book() -> None:
    p = build_portfolio([], TARGET, TODAY)
    assert (p.customers, p.graded, p.unprofiled) == (0, 0, 0)
    assert p.warnings == ()
    assert p.distribution == {"A": 0, "B": 0, "C": 0, "D": 0}
    assert p.overdue == ()
    assert p.movers == ()
    assert p.exits == ()
    assert p.shares == {Good.US: 0.0, Good.SKILLS: 0.0, Good.OTHERS: 0.0}
    assert p.target is TARGET


def test_distribution_counts_letters() -> None:
    entries = [entry(letter=x) for x in "AABCCCD"] + [entry(letter=None)]
    p = build_portfolio(entries, TARGET, TODAY)
    assert p.distribution == {"A": 2, "B": 1, "C": 3, "D": 1}
    assert p.graded == 7
    custom = build_portfolio([entry(letter="A"), entry(letter="F")], TARGET, TODAY,
                             letters=("A", "B", "F"))
    assert custom.distribution == {"A": 1, "B": 0, "F": 1}


def test_overdue() -> None:
    never = entry(letter=None, name="Never graded")
    past = entry(letter="B", due_on=date(2026, 4, 1), name="Past due")
    today = entry(letter="C", due_on=TODAY, name="Due today")
    future = entry(letter="A", due_on=date(2027, 1, 1), name="Future")
    unknown = entry(letter="B", due_on=None, name="Graded, no due date")
    p = build_portfolio([future, today, unknown, past, never], TARGET, TODAY)
    # never graded first (due since forever), then by due date
    assert [e.name for e in p.overdue] == ["Never graded", "Past due", "Due today"]


def test_movers_sorted_by_size_of_change_and_limited() -> None:
    def moved(name: str, before: float | None, after: float) -> BookEntry:
        return entry(name=name, total=after, previous_total=before, letter="B",
                     previous_letter="C")

    entries = [moved("Up 3", 60, 63), moved("Down 20", 80, 60), moved("Up 12.5", 50, 62.5),
               moved("Flat", 70, 70), moved("New", None, 70), moved("Down 7", 70, 63),
               moved("Up 1", 64, 65)]
    p = build_portfolio(entries, TARGET, TODAY, top_movers=3)
    assert [(m.name, m.delta) for m in p.movers] == [
        ("Down 20", -20.0), ("Up 12.5", 12.5), ("Down 7", -7.0)]
    assert p.movers[0].previous_letter == "C"
    assert p.movers[0].letter == "B"
    everyone = build_portfolio(entries, TARGET, TODAY)
    assert [m.name for m in everyone.movers] == ["Down 20", "Up 12.5", "Down 7", "Up 3", "Up 1"]
    assert build_portfolio(entries, TARGET, TODAY, top_movers=0).movers == ()
