"""The strategic review shows a grade older than the worksheet's validity as stale (the
decision should not rest on it unawares)."""

from __future__ import annotations

from scoring import Cadence
from tests.engine.helpers import Chat, grade_quickly


def test_a_stale_grade_is_marked_in_the_strategic_review(chat: Chat, clock, worksheet) -> None:
    grade_quickly(chat, "Old Co", "12211")  # the weakest: asked about first
    days = worksheet.grading.stale_after_days
    clock.advance(days=days)
    grade_quickly(chat, "New Co", "53551")
    clock.advance(days=1)  # Old Co: one day past the validity; New Co: one day old
    chat.clear()
    chat.start("", Cadence.STRATEGIC)
    first = chat.transcript()
    assert "Old Co: D (26.2/100, provisional: 37% answered, stale: graded " in first
    chat.pick("Exit")
    second = chat.transcript().split("Recorded: exit for Old Co.", 1)[1]
    assert "New Co: A (100/100, provisional: 37% answered), the grade" in second
    assert "stale" not in second
