"""Which look-up a command's words ask for (``bot.look_up``): one table for Slack's
``/customer``, Teams' ``customer`` and the terminal's, so the three cannot drift."""

from __future__ import annotations

import pytest

from bot.look_up import LookUp, answered, asked, split_override
from bot.lookups import Denied, NotFoundCard
from bot.trust import OverrideResult, Refused, TextView


@pytest.mark.parametrize(("word", "rest", "ask"), [
    ("customer", "Acme", LookUp.CARD),
    ("/customer", "Acme Corp", LookUp.CARD),
    ("Customer", "Override Ltd", LookUp.CARD),  # a name may start with the word
    ("customer", "Acme override B for 3 months because pilot", LookUp.OVERRIDE),
    ("customer", "Acme OVERRIDES", LookUp.OVERRIDE),
    ("customer", "  ", None),  # no name: that command's help
    ("grades", "", LookUp.BOOK),
    ("/grades", "overdue", LookUp.BOOK),
    ("grades", "<@U123>", LookUp.BOOK),
    ("portfolio", "", LookUp.PORTFOLIO),
    ("/portfolio", " Team ", LookUp.TEAM_PORTFOLIO),
    ("portfolio", "optimism", LookUp.OPTIMISM),
    ("portfolio", "CALIBRATION", LookUp.CALIBRATION),
    ("portfolio", "tem", None),  # no such view: help, not the rep's own portfolio
    ("portfolio", "team optimism", None),
    ("grade", "Acme", None),
    ("help", "", None),
])
def test_the_words_name_one_look_up(word: str, rest: str, ask: LookUp | None) -> None:
    assert asked(word, rest) is ask


def test_an_override_is_split_at_its_first_word_after_the_name() -> None:
    assert split_override("Acme Corp override B until 2027-01-01") == (
        "Acme Corp", "override B until 2027-01-01")
    assert split_override("Override Ltd") == ("Override Ltd", None)
    assert split_override("Override Ltd overrides") == ("Override Ltd", "overrides")


@pytest.mark.parametrize(("answer", "ok"), [
    (TextView("Optimism", ["…"]), True),
    (Refused("The optimism view is for managers and admins."), False),
    (Denied("Only Dana's manager can see Dana's book."), False),
    (NotFoundCard("Initech", []), False),
    (OverrideResult(TextView("Override set", [])), True),
    (OverrideResult(Refused("A reason is required.")), False),
])
def test_refusals_are_not_answers(answer, ok: bool) -> None:
    """What the CLI's exit code rests on: 1 for every kind of refusal."""
    assert answered(answer) is ok
