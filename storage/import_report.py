"""What an import says about the rows it could not take, shared by the customer and the
people import (and shown the same way by the terminal and Slack).

A bad row lists *every* problem it has (so one pass over the file fixes it), each with a short
stable ``kind`` ("unknown owner", "bad status") and the full message. The report groups them
by kind with a count and the line ranges, instead of repeating one reason per row, and the
rejected rows can be written back out as a CSV — the file's own header plus a ``reason``
column — to be fixed and imported again.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

REASON_COLUMN = "reason"  # added to rejected-rows files; ignored when they are imported again
EXAMPLES = 3


@dataclass(frozen=True)
class Problem:
    kind: str      # short and stable, to group by: "unknown owner", "bad status", …
    message: str   # the whole sentence, with the value that was wrong
    value: str = ""  # the cell that was wrong, where one was (e.g. the unknown owner)


@dataclass(frozen=True)
class SkippedRow:
    line: int                       # line number in the file (the header is line 1)
    name: str                       # the name cell as it was in the file, for the report
    problems: tuple[Problem, ...]
    cells: tuple[str, ...] = ()     # the row as read, for the rejected-rows file

    @property
    def reason(self) -> str:
        return "; ".join(p.message for p in self.problems)


@dataclass(frozen=True)
class ProblemGroup:
    kind: str
    count: int                          # rows with this problem
    lines: str                          # "3–7, 12, 40–44"
    examples: tuple[str, ...] = field(default_factory=tuple)  # distinct messages, first few


def line_ranges(lines: Iterable[int], limit: int = 12) -> str:
    """``[3, 4, 5, 7, 9, 10]`` → ``"3–5, 7, 9–10"`` (at most ``limit`` ranges, then "…")."""
    nums = sorted(set(lines))
    ranges: list[tuple[int, int]] = []
    for n in nums:
        if ranges and n == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], n)
        else:
            ranges.append((n, n))
    shown = [f"{a}" if a == b else f"{a}–{b}" for a, b in ranges[:limit]]
    if len(ranges) > limit:
        shown.append(f"… ({len(ranges) - limit} more)")
    return ", ".join(shown)


def group_problems(skipped: Sequence[SkippedRow]) -> list[ProblemGroup]:
    """Every problem of every bad row, grouped by kind (most frequent first)."""
    lines: dict[str, list[int]] = {}
    examples: dict[str, list[str]] = {}
    for row in skipped:
        for p in row.problems:
            lines.setdefault(p.kind, []).append(row.line)
            seen = examples.setdefault(p.kind, [])
            if p.message not in seen and len(seen) < EXAMPLES:
                seen.append(p.message)
    groups = [ProblemGroup(kind, len(set(ls)), line_ranges(ls), tuple(examples[kind]))
              for kind, ls in lines.items()]
    return sorted(groups, key=lambda g: (-g.count, g.kind))


def rejected_path(source: Path) -> Path:
    """Where the rejected rows of ``source`` go: beside it, ``name.rejected.csv``."""
    stem = source.stem.removesuffix(".rejected")
    return source.with_name(f"{stem}.rejected.csv")


def write_rejected(out: IO[str], header: Sequence[str], skipped: Sequence[SkippedRow]) -> int:
    """The rejected rows as CSV: the file's header (its own column names, so the same mapping
    reads it again) plus ``reason``; the cells as they were read. Returns the row count."""
    w = csv.writer(out, lineterminator="\r\n")
    cols = list(header)
    reason_at = next((i for i, h in enumerate(cols) if h.strip().lower() == REASON_COLUMN),
                     None)
    if reason_at is None:
        cols.append(REASON_COLUMN)
    w.writerow(cols)
    for row in skipped:
        cells = list(row.cells) + [""] * max(0, len(header) - len(row.cells))
        cells = cells[:len(header)] if len(cells) > len(header) and not any(
            c.strip() for c in cells[len(header):]) else cells
        if reason_at is None:
            cells.append(row.reason)
        else:
            cells[reason_at] = row.reason
        w.writerow(cells)
    return len(skipped)


def save_rejected(source: Path, header: Sequence[str], skipped: Sequence[SkippedRow]) -> Path:
    """Write the rejected rows beside ``source`` (UTF-8 with a BOM, as spreadsheets like it),
    through a temporary file so a failure leaves no half-written file."""
    path = rejected_path(source)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w", encoding="utf-8-sig", newline="") as out:
            write_rejected(out, header, skipped)
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


@dataclass
class RowReport:
    """What an import of rows did, whatever the rows are (customers, people): the counts,
    every skipped row with all its problems, and how the file's columns were read."""

    rows: int = 0            # data rows read (blank lines aside)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    committed: bool = False  # False: nothing was written (all-or-nothing with bad rows)
    header: list[str] = field(default_factory=list)   # the file's own column names
    mapping: str = ""        # which columns were read as what ("Salesforce export: name ← …")

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def problems(self) -> list[ProblemGroup]:
        return group_problems(self.skipped)

