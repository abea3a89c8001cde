"""How every stored grade would change under the current worksheet (a dry run).

Stored grades are immutable: they keep the worksheet version and numbers they were made with.
Before a new worksheet (or a new version of the model) goes live, an admin wants to know what
it would do to the book: ``gradebot worksheet rescore --dry-run`` re-grades each stored grade's
answers, merged with that customer's answers before it as a grading then would have merged
them (scoring.sheet), and counts letter before → after. Nothing is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from scoring import NoAnswersError, Worksheet, grade
from scoring.sheet import DatedAnswer, merge_answers
from storage.grades import StoredGrade

NO_LETTER = "no letter"


@dataclass(frozen=True, slots=True)
class Rescored:
    """One stored grade, then and now."""

    stored: StoredGrade
    letter: str  # NO_LETTER below the coverage floor (it would be a draft now)
    total: float | None
    provisional: bool

    @property
    def changed(self) -> bool:
        return self.letter != self.stored.letter


@dataclass
class RescoreReport:
    worksheet: str
    grades: int = 0
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    changed: list[Rescored] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        return self.grades - len(self.changed)


def rescore(ws: Worksheet, stored: Iterable[StoredGrade]) -> RescoreReport:
    """Re-grade ``stored`` (each customer's grades oldest first) with ``ws``."""
    report = RescoreReport(f"{ws.id} v{ws.version}")
    customer: int | None = None
    earlier: dict[str, DatedAnswer] = {}
    for g in stored:
        if g.customer_id != customer:
            customer, earlier = g.customer_id, {}
        merged = merge_answers(ws, dict(g.answers or {}), earlier, g.created_at)
        try:
            new = grade(ws, merged.answers, g.cadence)
            r = Rescored(g, new.letter or NO_LETTER, new.total, new.provisional)
        except NoAnswersError:
            r = Rescored(g, NO_LETTER, None, False)
        except ValueError:  # a cadence the worksheet no longer knows
            r = Rescored(g, NO_LETTER, None, False)
        report.grades += 1
        report.transitions[(g.letter, r.letter)] += 1
        if r.changed:
            report.changed.append(r)
        for qid, value in (g.answers or {}).items():
            earlier[qid] = DatedAnswer(value, g.created_at, g.cadence, g.grade_id)
    return report
