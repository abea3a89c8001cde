"""CSV import of people, so a team exists before anyone has used the bot.

Columns (a header is required; names are case-insensitive, common spellings accepted):
``name``, ``email``, ``role`` (rep, manager, admin), ``manager`` (the manager's email, or
user id), ``user_id`` (their Slack or Teams user id, optional) and ``timezone`` (IANA,
optional). Each row needs an email or a user id.

A person known only by email is a real person: they own customers, have a role and a
manager, and are matched to their Slack/Teams identity on first contact (``storage.people``:
their stand-in id is replaced, nothing is duplicated). Rows are matched to people already
known by user id, else by email, and updated in place; an empty cell keeps what is stored.
Managers may appear anywhere in the file (or be known already). Bad rows are reported with
every problem they have (``storage.import_report``); good rows are written in one
transaction — or none with ``all_or_nothing``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.crm import Profile, detect_mapping
from storage.csvio import (
    MAX_CELL,
    MAX_ROWS,
    check_header,
    import_transaction,
    read_table,
    source_text,
    unescape_cell,
)
from storage.errors import InvalidInput
from storage.import_report import Problem, RowReport, SkippedRow
from storage.models import ID_MAX, Person, Role, Workspace
from storage.names import clean_text
from storage.people import EMAIL_MAX, PENDING_PREFIX, is_time_zone, pending_id

PEOPLE_FIELDS = ("name", "email", "role", "manager", "user_id", "timezone")
PEOPLE_PROFILES = (Profile("people", {
    "name": ("name", "full_name", "display_name", "person", "rep", "user"),
    "email": ("email", "email_address", "work_email", "e_mail", "mail", "upn",
              "user_principal_name"),
    "role": ("role", "gradebot_role"),
    "manager": ("manager", "manager_email", "managers_email", "manager_e_mail", "reports_to"),
    "user_id": ("user_id", "slack_id", "slack_user_id", "teams_id", "teams_user_id",
                "aad_object_id", "member_id", "id"),
    "timezone": ("timezone", "time_zone", "tz"),
}),)
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


@dataclass
class PeopleReport(RowReport):
    pending: int = 0   # people known only by email after the import (matched on first contact)


@dataclass
class _PersonRow:
    line: int
    name: str = ""
    email: str | None = None
    role: str | None = None
    manager: str | None = None
    user_id: str | None = None
    timezone: str | None = None
    cells: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.user_id or pending_id(self.email or "")


def _parse(line: int, cells: list[str], values: dict[str, str]) -> tuple[_PersonRow,
                                                                         list[Problem]]:
    row = _PersonRow(line, cells=tuple(cells))
    problems: list[Problem] = []
    if max((len(c) for c in cells), default=0) > MAX_CELL:
        return row, [Problem("value too long", f"a value is over {MAX_CELL:,} characters.")]
    try:
        row.name = clean_text(values.get("name", ""), "Name", required=False)
    except InvalidInput as exc:
        problems.append(Problem("bad name", str(exc)))
    email = values.get("email", "").strip()
    if email:
        if len(email) > EMAIL_MAX or not _EMAIL.match(email):
            problems.append(Problem("bad email", f"{email[:80]!r} is not an email address."))
        else:
            row.email = email
    uid = values.get("user_id", "").strip().lstrip("@")
    if uid:
        if len(uid) > ID_MAX or not re.fullmatch(r"[A-Za-z0-9._:-]+", uid):
            problems.append(Problem("bad user id", f"user id {uid[:80]!r} is not a Slack or "
                                                   "Teams user id."))
        else:
            row.user_id = uid
    if not email and not uid:
        problems.append(Problem("no email or user id",
                                "needs an email (or a Slack/Teams user id) to be found."))
    role = values.get("role", "").strip().lower()
    if role:
        if role in tuple(Role):
            row.role = role
        else:
            problems.append(Problem("unknown role", f"unknown role {role[:40]!r} (use rep, "
                                                    "manager or admin)."))
    row.manager = values.get("manager", "").strip() or None
    tz = values.get("timezone", "").strip()
    if tz:
        if is_time_zone(tz):
            row.timezone = tz
        else:
            problems.append(Problem("unknown time zone", f"unknown time zone {tz[:64]!r} (use "
                                                         "an IANA name like Europe/Paris)."))
    return row, problems


class _Known:
    """The workspace's people by user id and by lower-cased email."""

    def __init__(self, session: Session, workspace_id: int) -> None:
        people = session.exec(select(Person).where(Person.workspace_id == workspace_id)).all()
        self.by_id = {p.external_id: p for p in people}
        self.by_email: dict[str, list[Person]] = {}
        for p in people:
            if p.email:
                self.by_email.setdefault(p.email.strip().lower(), []).append(p)

    def find(self, user_id: str | None, email: str | None) -> Person | str | None:
        """The person a row means, None for a new one, or a problem message."""
        if user_id and user_id in self.by_id:
            return self.by_id[user_id]
        if email:
            same = self.by_email.get(email.lower(), [])
            if len(same) > 1:
                return f"{len(same)} people already have the email {email!r}; give a user id."
            if same:
                p = same[0]
                if user_id and not p.external_id.startswith(PENDING_PREFIX) and \
                        p.external_id != user_id:
                    return (f"{email!r} belongs to user {p.external_id}, not {user_id}.")
                return p
        return None

    def add(self, p: Person) -> None:
        self.by_id[p.external_id] = p
        if p.email:
            self.by_email.setdefault(p.email.lower(), []).append(p)


def _user_or_email(key: str) -> tuple[str | None, str | None]:
    return (None, key) if "@" in key else (key, None)


def import_people(session: Session, workspace: Workspace, source: Path | bytes | str | IO[str],
                  *, all_or_nothing: bool = False, columns: dict[str, str] | None = None,
                  preview: bool = False) -> PeopleReport:
    """Import people from CSV ``source`` into ``workspace`` (see the module docstring).
    Raises InvalidInput when the file cannot be read and StorageError when the database
    fails (nothing is written then). ``preview`` checks everything and writes nothing
    (``created``/``updated`` then count what an import would create and update)."""
    header, raw_rows = read_table(source_text(source))
    mapping = detect_mapping(header, columns, PEOPLE_FIELDS, PEOPLE_PROFILES)
    if "email" not in mapping.columns and "user_id" not in mapping.columns:
        raise InvalidInput("The header needs an email column (or a Slack/Teams user id "
                           "column) to know who each person is; map it with --map "
                           "email=\"Column name\".")
    report = PeopleReport(ignored_columns=check_header(header, mapping), header=header,
                          mapping=mapping.describe(header))
    rows: list[_PersonRow] = []
    problems_of: dict[int, list[Problem]] = {}
    seen: dict[str, int] = {}
    for line, cells in raw_rows:
        report.rows += 1
        if report.rows > MAX_ROWS:
            raise InvalidInput(f"The file has more than {MAX_ROWS:,} rows; split it.")
        values = {f: unescape_cell(cells[i]) if i < len(cells) else ""
                  for f, i in mapping.columns.items()}
        row, problems = _parse(line, cells, values)
        for k in filter(None, (row.user_id, (row.email or "").lower() or None)):
            if k in seen:
                problems.append(Problem("duplicate in the file", f"duplicate of line {seen[k]}."))
                break
        for k in filter(None, (row.user_id, (row.email or "").lower() or None)):
            seen.setdefault(k, line)
        rows.append(row)
        problems_of[line] = problems

    known = _Known(session, workspace.id)
    targets: dict[int, Person | None] = {}
    for row in rows:
        if problems_of[row.line]:
            continue
        found = known.find(row.user_id, row.email)
        if isinstance(found, str):
            problems_of[row.line].append(Problem("conflicts with a person", found))
        else:
            targets[row.line] = found
    # managers: someone in the file (good rows) or already known
    keys_of = {r.line: [k for k in (r.user_id, (r.email or "").lower()) if k] for r in rows}
    line_of: dict[str, int] = {}
    for r in rows:  # the first row of each key (later ones are duplicates)
        for k in keys_of[r.line]:
            line_of.setdefault(k, r.line)
    bad_first = {r.line for r in rows if problems_of[r.line]}
    for row in rows:
        if row.manager is None:
            continue  # checked on bad rows too: every problem of a row is reported
        m = row.manager.lstrip("@")
        at = line_of.get(m, line_of.get(m.lower()))
        if m.lower() in keys_of[row.line] or m in keys_of[row.line]:
            problems_of[row.line].append(Problem("own manager",
                                                 "a person cannot be their own manager."))
        elif at is not None and at in bad_first:
            problems_of[row.line].append(Problem("manager not imported", (
                f"their manager {m[:80]!r} (line {at}) is not imported either; fix that row "
                "first.")))
        elif at is None and not isinstance(known.find(*_user_or_email(m)), Person):
            problems_of[row.line].append(Problem("unknown manager", (
                f"unknown manager {m[:80]!r} (add them to the file, or use the email or user "
                "id of someone known).")))
    for row in rows:
        if problems_of[row.line]:
            report.skipped.append(SkippedRow(row.line, row.name or row.email or "",
                                             tuple(problems_of[row.line]), row.cells))
    good = [r for r in rows if not problems_of[r.line]]
    if preview or (all_or_nothing and report.skipped):
        if preview:  # what an import would do: new people, and rows matching someone
            report.created = sum(1 for r in good if targets.get(r.line) is None)
            report.updated = len(good) - report.created
        session.rollback()
        return report
    _apply_people(session, workspace, good, targets, known, report)
    return report


def _apply_people(session: Session, workspace: Workspace, good: Sequence[_PersonRow],
                  targets: dict[int, Person | None], known: _Known,
                  report: PeopleReport) -> None:
    unchanged: set[int] = set()
    with import_transaction(session):
        people: dict[int, Person] = {}
        for row in good:
            p = targets.get(row.line)
            if p is None:
                p = Person(workspace_id=workspace.id, external_id=row.key,
                           display_name=row.name or (row.email or row.key).split("@")[0],
                           email=row.email, timezone=row.timezone,
                           role=row.role or Role.REP)
                session.add(p)
                known.add(p)
                report.created += 1
            else:
                before = (p.external_id, p.display_name, p.email, p.role, p.timezone)
                if row.user_id and p.external_id != row.user_id:
                    p.external_id = row.user_id  # now we know their platform id
                for attr in ("email", "role", "timezone"):
                    if getattr(row, attr):
                        setattr(p, attr, getattr(row, attr))
                if row.name:
                    p.display_name = row.name
                if before != (p.external_id, p.display_name, p.email, p.role, p.timezone):
                    session.add(p)
                    report.updated += 1
                else:
                    report.unchanged += 1
                    unchanged.add(row.line)
            people[row.line] = p
        session.flush()
        for row in good:
            if row.manager is None:
                continue
            m = row.manager.lstrip("@")
            boss = known.find(*_user_or_email(m))
            p = people[row.line]
            if isinstance(boss, Person) and boss.id != p.id and p.manager_id != boss.id:
                p.manager_id = boss.id
                session.add(p)
                if row.line in unchanged:  # only the manager changed: that is an update
                    unchanged.discard(row.line)
                    report.unchanged -= 1
                    report.updated += 1
    report.committed = True
    report.pending = session.exec(select(func.count()).select_from(Person).where(
        Person.workspace_id == workspace.id,
        col(Person.external_id).startswith(PENDING_PREFIX))).one()
