"""Importing people, customers and outcomes, the same for the terminal and Slack.

``gradebot import people|customers|outcomes FILE`` and a CSV dropped into the bot's DM by an admin
both come here: one preview (everything checked, nothing written), one import (one
transaction), one report in plain words (``report_lines``) that each channel shows its own
way. The rejected rows are written beside the input in the terminal and attached to the
thread in Slack, so they can be fixed and imported again.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from sqlalchemy import Engine

from bot.engine.prompts import plural
from storage import csvio, outcomes, people_csv
from storage.engine import session_scope
from storage.import_report import ProblemGroup, write_rejected
from storage.models import Workspace
from storage.types import utcnow

Report = csvio.ImportReport | people_csv.PeopleReport | outcomes.OutcomeImportReport


class ImportKind(StrEnum):
    CUSTOMERS = "customers"
    PEOPLE = "people"
    OUTCOMES = "outcomes"


@dataclass(frozen=True)
class ImportOptions:
    """What an admin can say about a file: column and status mappings (``--map``,
    ``--status``), all-or-nothing, and whether owners of existing customers may change."""

    columns: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    all_or_nothing: bool = False
    reassign_owners: bool = False

    @classmethod
    def from_words(cls, maps: list[str], statuses: list[str], *, all_or_nothing: bool = False,
                   reassign_owners: bool = False) -> ImportOptions:
        """From ``--map f="Col"`` and ``--status "Value"=ours`` words (InvalidInput when
        one cannot be read)."""
        from storage import crm

        return cls(crm.parse_field_map(maps), crm.parse_status_map(statuses),
                   all_or_nothing, reassign_owners)


def guess_kind(data: bytes) -> ImportKind:
    """People, customers or outcomes, from the header: a file with a ``happened_on`` column
    (or a kind or outcome column beside a date) is an outcomes file; one with an email
    column and no company / account / organisation column is a people file."""
    head = data[:4096].decode("utf-8-sig", errors="replace").splitlines()[:1]
    words = head[0].lower() if head else ""
    if "happened_on" in words or ("kind" in words and "date" in words) \
            or ("outcome" in words and "date" in words):
        return ImportKind.OUTCOMES
    company = any(w in words for w in ("account", "company", "organization", "organisation",
                                       "customer", "segment", "status", "external_ref"))
    return ImportKind.PEOPLE if "email" in words and not company else ImportKind.CUSTOMERS


def run_import(db: Engine, workspace: Workspace, kind: ImportKind, data: bytes,
               options: ImportOptions, *, source: str = "the file", preview: bool = False,
               progress: Callable[[int, int], None] | None = None,
               today: date | None = None, recorded_by_id: int | None = None) -> Report:
    """Check (``preview``) or import ``data``; InvalidInput when the file as a whole cannot
    be read, StorageError when the database fails (nothing written). Outcomes: ``today``
    (default: today in UTC) refuses days after it; ``recorded_by_id`` is who imported."""
    text = csvio.decode_csv(data, source)
    with session_scope(db) as s:
        if kind is ImportKind.OUTCOMES:
            return outcomes.import_outcomes(
                s, workspace.id, text, today=today or utcnow().date(),
                recorded_by_id=recorded_by_id, columns=options.columns,
                all_or_nothing=options.all_or_nothing, preview=preview)
        if kind is ImportKind.PEOPLE:
            return people_csv.import_people(s, workspace, text, columns=options.columns,
                                            all_or_nothing=options.all_or_nothing,
                                            preview=preview)
        return csvio.import_customers(s, workspace.id, text,
                                      columns=options.columns, statuses=options.statuses,
                                      all_or_nothing=options.all_or_nothing,
                                      reassign_owners=options.reassign_owners,
                                      preview=preview, progress=progress)


def unknown_owner_emails(report: Report) -> list[str]:
    """The distinct owner emails a customer import did not know (to look up in Slack)."""
    seen: dict[str, str] = {}
    for row in report.skipped:
        for p in row.problems:
            if p.kind == "unknown owner" and "@" in p.value:
                seen.setdefault(p.value.lower(), p.value)
    return list(seen.values())


def rejected_csv(report: Report) -> str:
    """The rejected rows as CSV text (the file's header plus ``reason``)."""
    out = io.StringIO()
    write_rejected(out, report.header, report.skipped)
    return out.getvalue()


def group_line(g: ProblemGroup) -> str:
    example = f" — e.g. {g.examples[0]}" if g.examples else ""
    return f"{g.kind}: {plural(g.count, 'row')} (line{'s' if g.count > 1 else ''} " \
           f"{g.lines}){example}"


def headline(report: Report, kind: ImportKind, preview: bool) -> str:
    rows = plural(report.rows, "row")
    if preview:
        good = report.rows - len(report.skipped)
        if kind is ImportKind.OUTCOMES:
            return (f"{good:,} of {rows} can be imported: {_count(report.created, kind, 'new ')},"
                    f" {report.unchanged:,} recorded already.")
        return (f"{good:,} of {rows} can be imported: {_count(report.created, kind, 'new ')}, "
                f"{report.updated:,} to update.")
    if not report.committed:
        return (f"Nothing imported: {len(report.skipped)} of {rows} are bad "
                "(all or nothing).")
    if kind is ImportKind.OUTCOMES:
        return (f"Imported {report.imported} of {rows}: {_count(report.created, kind, 'new ')},"
                f" {report.unchanged} recorded already.")
    return (f"Imported {report.imported} of {rows}: {report.created} created, "
            f"{report.updated} updated, {report.unchanged} unchanged.")


def detail_lines(report: Report, *, problems: bool = True) -> list[str]:
    """Everything beside the headline, as plain sentences: the mapping used, ignored
    columns, every problem grouped by kind (unless the channel shows them as a table),
    owners held back, near-duplicate names."""
    lines = [f"Columns read as {report.mapping}."]
    if report.ignored_columns:
        lines.append(f"Ignored columns: {', '.join(report.ignored_columns)}.")
    if report.skipped and problems:
        lines.append(f"{plural(len(report.skipped), 'row')} not imported:")
        lines += [f"• {group_line(g)}" for g in report.problems]
    if isinstance(report, csvio.ImportReport):
        held = [c for c in report.owner_changes if not c.applied]
        moved = [c for c in report.owner_changes if c.applied]
        if held:
            lines.append(f"Owners kept ({len(held)}; import with --reassign-owners to change "
                         "them):")
            lines += [f"• line {c.line}: {c.customer} stays with {c.current} (the file says "
                      f"{c.new})" for c in held[:20]]
        if moved:
            lines.append(f"Owners changed ({len(moved)}):")
            lines += [f"• line {c.line}: {c.customer}: {c.current} → {c.new}"
                      for c in moved[:20]]
        if report.warnings:
            lines.append("Names that look alike:")
            lines += [f"• {w}" for w in report.warnings[:20]]
    if isinstance(report, outcomes.OutcomeImportReport) and report.kinds:
        lines.append("New outcomes: " + ", ".join(
            f"{n:,} {k.replace('_', ' ')}" for k, n in sorted(report.kinds.items())) + ".")
    if isinstance(report, people_csv.PeopleReport) and report.pending:
        lines.append(f"{_count(report.pending, ImportKind.PEOPLE)} known only by email so "
                     "far: each is matched to their Slack/Teams account when found there by "
                     "email (with SLACK_BOT_TOKEN set) or when they first use the bot.")
    return lines


def _count(n: int, kind: ImportKind, adjective: str = "") -> str:
    if kind is ImportKind.OUTCOMES:
        return f"{n:,} {adjective}outcome{'s' if n != 1 else ''}"
    if kind is ImportKind.PEOPLE:
        return f"{n:,} {adjective}{'person' if n == 1 else 'people'}"
    return f"{n:,} {adjective}customer{'s' if n != 1 else ''}"
