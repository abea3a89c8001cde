"""A grading's answers merged with earlier ones into the whole worksheet.

Every grade covers the whole sheet. A quarterly pulse asks a few questions: its answers
replace the same questions' earlier answers and the rest are carried from the latest earlier
answers, each keeping its date, so a pulse moves a grade only through what it changed. An
answer older than the worksheet's ``stale_after_days`` is left out (and coverage drops), as
is one the current worksheet no longer accepts.

Pure: storage reads the earlier answers, the engine calls ``merge_answers``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import NamedTuple

from scoring.parsing import AnswerValue, is_legal
from scoring.worksheet import Cadence, Worksheet


class DatedAnswer(NamedTuple):
    """An earlier answer: its value, when it was given, in which kind of grading."""

    value: AnswerValue
    at: datetime
    cadence: str
    grade_id: int | None = None


@dataclass(frozen=True)
class MergedSheet:
    """The answers a grade is computed over, and where each came from."""

    answers: dict[str, AnswerValue]
    fresh: tuple[str, ...]  # question ids answered in this grading
    carried: dict[str, DatedAnswer] = field(default_factory=dict)
    stale: dict[str, DatedAnswer] = field(default_factory=dict)

    def sources_json(self, fresh_scored: int) -> dict[str, object]:
        """What a stored grade keeps of where its answers came from: how many scored ones
        this grading gave, and when and in which grading each carried one was given."""
        return {"fresh": fresh_scored,
                "carried": {qid: {"at": a.at.isoformat(), "cadence": a.cadence,
                                  "grade_id": a.grade_id} for qid, a in self.carried.items()}}


def merge_answers(ws: Worksheet, current: Mapping[str, AnswerValue],
                  earlier: Mapping[str, DatedAnswer], now: datetime) -> MergedSheet:
    """This grading's ``current`` answers over the ``earlier`` ones (latest per question).

    Earlier answers to questions this grading answered are replaced; the others are carried
    unless older than the worksheet's ``stale_after_days`` at ``now``, or no longer legal
    answers of a scored question of ``ws`` (a changed worksheet).
    """
    cutoff = now - timedelta(days=ws.grading.stale_after_days)
    qmap = ws.question_map
    answers = dict(current)
    carried: dict[str, DatedAnswer] = {}
    stale: dict[str, DatedAnswer] = {}
    for qid, a in earlier.items():
        if qid in answers:
            continue
        q = qmap.get(qid)
        if q is None or not q.scored or not is_legal(q, a.value):
            continue
        if a.at < cutoff:
            stale[qid] = a
            continue
        carried[qid] = a
        answers[qid] = a.value
    return MergedSheet(answers, tuple(current), carried, stale)


_THIS = {Cadence.QUARTERLY.value: "pulse", Cadence.ANNUAL.value: "annual",
         Cadence.STRATEGIC.value: "review"}


def sheet_note(cadence: str, fresh: int, carried: Mapping[str, tuple[str, date]],
               stale: int = 0) -> str | None:
    """"5 answers from this pulse, 10 carried from the annual of 2026-10-02" (None when
    nothing was carried or left out: the grade is this grading's alone).

    ``carried``: question id → (cadence, date) of each carried answer."""
    if not carried and not stale:
        return None
    this = _THIS.get(cadence, cadence)
    parts = [f"{_n(fresh, 'answer')} from this {this}"]
    groups: dict[tuple[str, date], int] = {}
    for key in carried.values():
        groups[key] = groups.get(key, 0) + 1
    if len(groups) == 1:
        (cad, day), count = next(iter(groups.items()))
        parts.append(f"{count} carried from the {_THIS.get(cad, cad)} of {day.isoformat()}")
    elif groups:
        oldest = min(day for _cad, day in groups)
        parts.append(f"{sum(groups.values())} carried from earlier gradings (the oldest of "
                     f"{oldest.isoformat()})")
    if stale:
        parts.append(f"{stale} too old to count")
    return ", ".join(parts)


def carried_of(sources: Mapping[str, object] | None) -> dict[str, Mapping[str, object]]:
    """The carried answers of a stored grade's sources (``MergedSheet.sources_json``)."""
    carried = (sources or {}).get("carried")
    return carried if isinstance(carried, dict) else {}


def stored_note(cadence: str, sources: Mapping[str, object] | None, tz: tzinfo) -> str | None:
    """``sheet_note`` of a stored grade, its dates in ``tz`` (None: nothing was carried)."""
    fresh = (sources or {}).get("fresh")
    if not isinstance(fresh, int):
        return None
    return sheet_note(cadence, fresh, carried_days(carried_of(sources), tz))


def carried_days(carried: Mapping[str, Mapping[str, object]] | None,
                 tz: tzinfo) -> dict[str, tuple[str, date]]:
    """Carried answers (question id → their record) as (cadence, day in ``tz``)."""
    out: dict[str, tuple[str, date]] = {}
    for qid, info in (carried or {}).items():
        try:
            at = datetime.fromisoformat(str(info["at"]))
        except (KeyError, ValueError):
            continue
        out[qid] = (str(info.get("cadence", "")), at.astimezone(tz).date())
    return out


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"
