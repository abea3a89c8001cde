"""Grading periods, due dates and which worksheet to ask: pure calendar logic."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import Cadence, RegradePolicy, cadence_to_ask, period_key, period_label
from scoring.cadence import next_period_start, period_start

Q, A, S = Cadence.QUARTERLY, Cadence.ANNUAL, Cadence.STRATEGIC


@pytest.mark.parametrize(("d", "cadence", "key"), [
    (date(2026, 3, 31), Q, "2026-Q1"), (date(2026, 4, 1), Q, "2026-Q2"),
    (date(2026, 6, 30), Q, "2026-Q2"), (date(2026, 7, 1), Q, "2026-Q3"),
    (date(2026, 9, 30), Q, "2026-Q3"), (date(2026, 10, 1), Q, "2026-Q4"),
    (date(2025, 12, 31), Q, "2025-Q4"), (date(2026, 1, 1), Q, "2026-Q1"),
    (date(2025, 12, 31), A, "2025"), (date(2026, 1, 1), A, "2026"),
    (date(2026, 11, 24), S, "2026-11-24"),
    (date(2026, 4, 1), "quarterly", "2026-Q2"),
])
def test_period_key(d: date, cadence: Cadence | str, key: str) -> None:
    assert period_key(d, cadence) == key


def test_period_key_refuses_an_unknown_cadence() -> None:
    with pytest.raises(ValueError, match="monthly"):
        period_key(date(2026, 1, 1), "monthly")


@pytest.mark.parametrize(("d", "cadence", "start", "nxt"), [
    (date(2026, 3, 31), Q, date(2026, 1, 1), date(2026, 4, 1)),
    (date(2026, 4, 1), Q, date(2026, 4, 1), date(2026, 7, 1)),
    (date(2026, 8, 15), Q, date(2026, 7, 1), date(2026, 10, 1)),
    (date(2025, 12, 31), Q, date(2025, 10, 1), date(2026, 1, 1)),
    (date(2025, 11, 15), Q, date(2025, 10, 1), date(2026, 1, 1)),
    (date(2026, 1, 1), Q, date(2026, 1, 1), date(2026, 4, 1)),
    (date(2025, 12, 31), A, date(2025, 1, 1), date(2026, 1, 1)),
    (date(2026, 1, 1), A, date(2026, 1, 1), date(2027, 1, 1)),
    (date(2026, 11, 24), S, date(2026, 11, 24), date(2026, 11, 24)),
])
def test_period_start_and_next(d: date, cadence: Cadence, start: date, nxt: date) -> None:
    assert period_start(d, cadence) == start
    assert next_period_start(d, cadence) == nxt


@settings(max_examples=150, deadline=None)
@given(d=st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 12, 31)),
       cadence=st.sampled_from([Q, A]))
def test_periods_tile_the_calendar(d: date, cadence: Cadence) -> None:
    start, nxt = period_start(d, cadence), next_period_start(d, cadence)
    assert start <= d < nxt
    assert period_key(start, cadence) == period_key(d, cadence)
    assert period_key(nxt - timedelta(days=1), cadence) == period_key(d, cadence)
    assert period_key(nxt, cadence) != period_key(d, cadence)
    assert period_start(nxt, cadence) == nxt


@pytest.mark.parametrize(("key", "label"), [
    ("2026-Q4", "Q4 2026"), ("2026-Q1", "Q1 2026"), ("2026", "2026"),
    ("2026-11-24", "2026-11-24"),
])
def test_period_label(key: str, label: str) -> None:
    assert period_label(key) == label


# --------------------------------------------------------------------------- regrading
@pytest.mark.parametrize(("graded", "letter", "due"), [
    (date(2026, 2, 10), "A", date(2027, 1, 1)),  # an A is re-graded yearly
    (date(2026, 2, 10), "B", date(2026, 4, 1)),  # B, C, D quarterly
    (date(2026, 3, 31), "C", date(2026, 4, 1)),
    (date(2025, 12, 31), "D", date(2026, 1, 1)),
    (date(2026, 2, 10), "F", date(2026, 4, 1)),  # an unknown letter: the default, quarterly
    (date(2026, 2, 10), None, date(2027, 1, 1)),  # graded but no letter: annual
    (None, "A", None),  # never graded: due now
    (None, None, None),
])
def test_due_date_by_letter(graded: date | None, letter: str | None, due: date | None) -> None:
    assert RegradePolicy().due_date(graded, letter) == due


def test_custom_policy() -> None:
    policy = RegradePolicy(by_letter={"A": Q}, default=A)
    assert policy.due_date(date(2026, 5, 5), "A") == date(2026, 7, 1)
    assert policy.due_date(date(2026, 5, 5), "B") == date(2027, 1, 1)


def test_policies_do_not_share_their_letter_table() -> None:
    first = RegradePolicy()
    first.by_letter["A"] = Q  # type: ignore[index]
    assert RegradePolicy().cadence_for("A") is A


@pytest.mark.parametrize(("graded", "letter", "today", "due"), [
    (None, None, date(2026, 1, 1), True),  # never graded
    (date(2026, 2, 10), "B", date(2026, 3, 31), False),
    (date(2026, 2, 10), "B", date(2026, 4, 1), True),  # due on the day the quarter starts
    (date(2026, 2, 10), "B", date(2026, 9, 1), True),
    (date(2026, 2, 10), "A", date(2026, 12, 31), False),
    (date(2026, 2, 10), "A", date(2027, 1, 1), True),
])
def test_is_due(graded: date | None, letter: str | None, today: date, due: bool) -> None:
    assert RegradePolicy().is_due(graded, letter, today) is due


@pytest.mark.parametrize(("graded", "today", "cadence"), [
    (None, date(2026, 5, 1), A),  # never graded: the full worksheet
    (date(2026, 1, 1), date(2026, 12, 31), Q),  # graded this year: the pulse
    (date(2026, 5, 1), date(2026, 5, 1), Q),
    (date(2025, 12, 31), date(2026, 1, 1), A),  # graded last year: the full worksheet again
    (date(2024, 6, 1), date(2026, 6, 1), A),
])
def test_cadence_to_ask(graded: date | None, today: date, cadence: Cadence) -> None:
    assert cadence_to_ask(graded, today) is cadence
