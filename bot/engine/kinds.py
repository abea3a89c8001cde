"""What a grading session is: one customer's worksheet, or the strategic review of a book.

Stored as ``GradingSession.kind`` (a plain string column: ``storage`` knows nothing of the
engine); a ``StrEnum`` compares equal to the stored string, so code says
``gs.kind == SessionKind.STRATEGIC`` and never spells the word.
"""

from __future__ import annotations

from enum import StrEnum


class SessionKind(StrEnum):
    GRADE = "grade"  # one customer's worksheet, question by question (or a form)
    STRATEGIC = "strategic"  # the rep's whole book, one decision per customer
    OPINION = "opinion"      # a second opinion: a customer's worksheet, graded blind by
    #                          someone else than its owner (bot.engine.opinions)

    @property
    def worksheet(self) -> bool:
        """Does this kind go through a customer's worksheet question by question?"""
        return self is not SessionKind.STRATEGIC
