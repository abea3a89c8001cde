"""CSV import of customers and CSV export of customers and grades.

Import (``import_customers``): a header line is required. Columns are found by name
(case-insensitive): ours (``name`` required; ``owner``, ``segment``, ``status``,
``external_ref``, ``renewal_date`` written YYYY-MM-DD), the usual headers of HubSpot,
Salesforce and Pipedrive exports, or a mapping given by the caller (``storage.crm``; the
report says which was used). The file is UTF-8, with or without a byte-order mark. Each row
updates the customer with the same ``external_ref`` when one is given, otherwise the customer
with the same normalized name, and creates one when there is none. An empty cell leaves the
stored value as it is (a new customer gets the default). ``owner`` is the email, Slack/Teams
user id or imported name of a person of the workspace (people can be imported before they use
the bot: ``storage.people_csv``). The owner of a customer that has one is changed only when
asked (``reassign_owners``); either way the change is listed (``OwnerChange``). New names that
look like existing ones are warned about (``near_duplicates``). Status values are ours, the
common CRM ones, or mapped by the caller.

Every row is checked before anything is written; rows that cannot be imported are reported
with their line number and every problem they have (``storage.import_report``). By default
the good rows are imported and the rest reported; with ``all_or_nothing`` nothing is
imported if any row is bad. Either way the writes are one transaction: if the database
fails part-way, nothing is imported.

Files saved by a spreadsheet with ``;`` or tab between the columns (Excel does in many
locales) are read too: the header line decides. A cell over ``MAX_CELL`` characters makes its
row a bad row. Broken quoting refuses the whole file, naming the line: after it, where one
record ends and the next begins is a guess, and a wrong guess would import junk or drop rows.

Export: values starting with ``= + - @`` (or tab / carriage return) get a leading ``'`` so a
spreadsheet shows them as text instead of running them as formulas (CSV injection); so does a
value that already starts with ``'``, so that import, which removes one such quote, gives back
exactly what was exported. An owner or grader is written as their email, or their user id
when the email is not theirs alone.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, func, insert, or_
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from scoring import load_worksheet
from scoring.opinions import OverrideTerms
from scoring.sheet import carried_of
from scoring.worksheet import GradingRules
from storage.crm import CUSTOMER_FIELDS, ColumnMap, detect_mapping, header_key, read_status
from storage.days import parse_day
from storage.errors import InvalidInput, StorageError
from storage.import_report import (
    REASON_COLUMN,
    Problem,
    RowReport,
    SkippedRow,
)
from storage.models import Customer, CustomerStatus, Grade, Person
from storage.names import clean_name, clean_text, normalize_name
from storage.overrides import terms_in_workspace
from storage.types import utcnow

CUSTOMER_COLUMNS = CUSTOMER_FIELDS
GRADE_COLUMNS = ("customer", "owner", "letter", "total", "recommendation", "profile", "cadence",
                 "period", "graded_at", "grader", "coverage", "provisional", "stale", "carried",
                 "carried_by", "worksheet", "worksheet_version", "override_letter",
                 "override_recommendation", "override_by", "override_until", "override_reason")
# ... then one column per dimension of the worksheet: "dim_<id>" (see export_grades)
_NO_OVERRIDE = ("", "", "", "", "")
MAX_ROWS = 200_000
FLUSH_EVERY = 500
MAX_CELL = 100_000  # characters in one cell; a longer one makes its row a bad row
_READ_LIMIT = 1 << 30  # what csv may read into one cell (the file is in memory anyway)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_QUOTED = (*_FORMULA_START, "'")
_SLACK_MENTION = re.compile(r"^<@([A-Za-z0-9._-]+)(?:\|[^>]*)?>$")

Progress = Callable[[int, int], None]  # (rows done, rows in all)


# --------------------------------------------------------------------------- reading


def decode_csv(data: bytes, source: str = "the file") -> str:
    """UTF-8 text of ``data`` without a byte-order mark; InvalidInput if it is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{source} is not UTF-8 (byte 0x{data[exc.start]:02X} at offset "
                           f"{exc.start}); save it as \"CSV UTF-8\".") from None


def source_text(source: Path | bytes | str | IO[str]) -> str:
    """The CSV text of an import's ``source``: a path, bytes, text or a text file."""
    if isinstance(source, Path):
        return decode_csv(source.read_bytes(), source.name)
    if isinstance(source, bytes):
        return decode_csv(source)
    if isinstance(source, str):
        return source.removeprefix("\ufeff")
    return source.read().removeprefix("\ufeff")


def unescape_cell(value: str) -> str:
    """Undo ``escape_cell``: ``'=1+1`` (as exported) reads back as ``=1+1``, ``''Tis`` as
    ``'Tis``; a lone leading quote before anything else (``'Tis``) is part of the name."""
    if len(value) > 1 and value[0] == "'" and value[1] in _QUOTED:
        return value[1:]
    return value


def _dialect(text: str) -> str:
    """The column separator, from the first non-blank line: ``,`` unless that line has none
    and has ``;`` or tabs (a spreadsheet's export in a locale that writes decimal commas)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if "," not in first:
        for sep in (";", "\t"):
            if sep in first:
                return sep
    return ","


@dataclass
class ImportReport(RowReport):
    warnings: list[str] = field(default_factory=list)  # near-duplicate names, …
    owner_changes: list[OwnerChange] = field(default_factory=list)


@dataclass(frozen=True)
class OwnerChange:
    """A row that names another owner for a customer that already has one: held back unless
    the import was told to reassign (``reassign_owners``); listed either way."""

    line: int
    customer: str
    current: str
    new: str
    applied: bool


@dataclass
class _Row:
    line: int
    raw_name: str
    name: str
    key: str
    owner_id: int | None = None
    owner_given: bool = False
    segment: str | None = None
    status: str | None = None
    external_ref: str | None = None
    renewal_on: date | None = None
    cells: tuple[str, ...] = ()  # as read, for the rejected-rows file


def read_table(text: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header's cells (as in the file) and (line number, cells) for every non-blank
    data row. Broken quoting raises InvalidInput naming the line."""
    if csv.field_size_limit() < _READ_LIMIT:
        # csv refuses a long cell by raising mid-record, which would end the whole import;
        # read it whole and let the row check refuse it (``_parse_row``)
        csv.field_size_limit(_READ_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=_dialect(text))
    try:
        header = next(reader, None)
        while header is not None and not any(c.strip() for c in header):
            header = next(reader, None)
    except csv.Error as exc:
        raise InvalidInput(f"line {reader.line_num}: {exc}") from None
    if header is None:
        raise InvalidInput("The file is empty: expected a header line naming the columns "
                           f"({', '.join(CUSTOMER_COLUMNS)}).")

    def rows() -> Iterator[tuple[int, list[str]]]:
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InvalidInput(f"line {start}: {exc} — the quoting is broken there, so the "
                                   "file cannot be read past it; nothing was imported.") from None
            if any(c.strip() for c in cells):
                yield start, cells

    return [unescape_cell(c) for c in header], rows()


def check_header(header: Sequence[str], mapping: ColumnMap) -> list[str]:
    """Refuse a header naming a used column twice; returns the columns not read (the
    ``reason`` column of a rejected-rows file aside)."""
    keys = [header_key(h) for h in header]
    used = set(mapping.columns.values())
    dupes = sorted({keys[i] for i in used if keys[i] and keys.count(keys[i]) > 1})
    if dupes:
        raise InvalidInput(f"The header names {', '.join(dupes)} more than once.")
    return [h.strip() for i, h in enumerate(header)
            if i not in used and keys[i] and keys[i] != REASON_COLUMN]


@dataclass
class OwnerIndex:
    """The people of a workspace an ``owner`` cell may name: user id, email (lower case) or
    display name (case-folded, for CRM exports that give the owner's name); -1 marks a
    key more than one person has."""

    by_id: dict[str, int]
    by_email: dict[str, int]
    by_name: dict[str, int]
    names: dict[int, str]


def owner_index(session: Session, workspace_id: int) -> OwnerIndex:
    idx = OwnerIndex({}, {}, {}, {})

    def put(d: dict[str, int], k: str, pid: int) -> None:
        d[k] = -1 if k in d and d[k] != pid else pid

    for pid, ext, email, name in session.execute(
            select(Person.id, Person.external_id, Person.email, Person.display_name)
            .where(Person.workspace_id == workspace_id)):
        idx.by_id[ext] = pid
        idx.names[pid] = email or name or ext
        if email:
            put(idx.by_email, email.strip().lower(), pid)
        if name:
            put(idx.by_name, name.strip().casefold(), pid)
    return idx


def _resolve_owner(value: str, idx: OwnerIndex) -> int:
    v = value.strip()
    m = _SLACK_MENTION.match(v)
    if m:
        v = m.group(1)
    elif v.startswith("@") and "@" not in v[1:]:
        v = v[1:]
    if "@" in v:
        pid = idx.by_email.get(v.lower())
        if pid == -1:
            raise InvalidInput(f"owner {value!r} is the email of more than one person; "
                               "use their Slack/Teams user id.")
    else:
        pid = idx.by_id.get(v)
        if pid is None:
            pid = idx.by_name.get(v.casefold())
            if pid == -1:
                raise InvalidInput(f"owner {value!r} is the name of more than one person; "
                                   "use their email.")
    if pid is None:
        raise InvalidInput(f"unknown owner {value!r} (import them first with `gradebot "
                           "import people`, or use the email or Slack/Teams user id of "
                           "someone the bot knows in this workspace).")
    return pid


def _parse_row(line: int, cells: list[str], ncols: int, mapping: ColumnMap, idx: OwnerIndex,
               statuses: dict[str, str]) -> tuple[_Row, list[Problem]]:
    """The row, and every problem it has (not just the first)."""
    problems: list[Problem] = []
    if len(cells) > ncols and any(c.strip() for c in cells[ncols:]):
        problems.append(Problem("too many values", f"{len(cells)} values but the header has "
                                                   f"{ncols} columns."))
    longest = max((len(c) for c in cells), default=0)
    if longest > MAX_CELL:
        problems.append(Problem("value too long", f"a value is {longest:,} characters long "
                                                  f"(at most {MAX_CELL:,})."))
        return _Row(line, "", "", ""), problems
    values = {f: unescape_cell(cells[i]) if i < len(cells) else ""
              for f, i in mapping.columns.items()}
    raw_name = values.get("name", "")
    row = _Row(line, raw_name, "", "")
    try:
        row.name = clean_name(raw_name)
        row.key = normalize_name(row.name)
    except InvalidInput as exc:
        problems.append(Problem("bad name", str(exc)))
    if values.get("owner", "").strip():
        try:
            row.owner_id = _resolve_owner(values["owner"], idx)
            row.owner_given = True
        except InvalidInput as exc:
            problems.append(Problem("unknown owner", str(exc), values["owner"].strip()))
    if values.get("segment", "").strip():
        try:
            row.segment = clean_text(values["segment"], "Segment", 100)
        except InvalidInput as exc:
            problems.append(Problem("bad segment", str(exc)))
    status = values.get("status", "").strip()
    if status:
        row.status = read_status(status, statuses)
        if row.status is None:
            problems.append(Problem("unknown status", (
                f"unknown status {status[:60]!r} (use prospect, customer or former, or map "
                f"it: --status \"{status[:60]}\"=customer).")))
    if values.get("external_ref", "").strip():
        try:
            row.external_ref = clean_text(values["external_ref"], "External reference", 100)
        except InvalidInput as exc:
            problems.append(Problem("bad external_ref", str(exc)))
    if values.get("renewal_date", "").strip():
        try:
            row.renewal_on = parse_day(values["renewal_date"], what="renewal_date")
        except InvalidInput as exc:
            problems.append(Problem("bad renewal date", str(exc), values["renewal_date"]))
    return row, problems


def _existing(session: Session, workspace_id: int, rows: Sequence[_Row]
              ) -> tuple[dict[str, Customer], dict[str, list[Customer]]]:
    """Customers of the workspace the rows may refer to: by normalized name, by ref."""
    by_key: dict[str, Customer] = {}
    by_ref: dict[str, list[Customer]] = {}
    keys = sorted({r.key for r in rows})
    refs = sorted({r.external_ref for r in rows if r.external_ref})
    chunk = 500
    for i in range(0, max(len(keys), len(refs)), chunk):
        conds = []
        if keys[i:i + chunk]:
            conds.append(col(Customer.normalized_name).in_(keys[i:i + chunk]))
        if refs[i:i + chunk]:
            conds.append(col(Customer.external_ref).in_(refs[i:i + chunk]))
        for c in session.exec(select(Customer).where(Customer.workspace_id == workspace_id,
                                                     or_(*conds))):
            by_key[c.normalized_name] = c
            if c.external_ref:
                same = by_ref.setdefault(c.external_ref, [])
                if c not in same:
                    same.append(c)
    return by_key, by_ref


def _match(r: _Row, by_key: dict[str, Customer], by_ref: dict[str, list[Customer]]
           ) -> Customer | None:
    """The customer row ``r`` updates (None: it creates one), or InvalidInput."""
    target: Customer | None = None
    if r.external_ref:
        matches = by_ref.get(r.external_ref, [])
        if len(matches) > 1:
            raise InvalidInput(f"{len(matches)} customers already have external_ref "
                               f"{r.external_ref!r}.")
        target = matches[0] if matches else None
    same_name = by_key.get(r.key)
    if target is None:
        if same_name is not None and r.external_ref and same_name.external_ref \
                and same_name.external_ref != r.external_ref:
            raise InvalidInput(f"customer {same_name.name!r} already exists with another "
                               f"external_ref ({same_name.external_ref!r}).")
        return same_name
    if same_name is not None and same_name.id != target.id:
        raise InvalidInput(f"cannot rename {target.name!r}: another customer is already "
                           f"called {same_name.name!r}.")
    return target


def import_customers(session: Session, workspace_id: int, source: Path | bytes | str | IO[str],
                     *, all_or_nothing: bool = False, progress: Progress | None = None,
                     columns: dict[str, str] | None = None,
                     statuses: dict[str, str] | None = None,
                     reassign_owners: bool = False, preview: bool = False) -> ImportReport:
    """Import customers from CSV ``source`` (a path, bytes, CSV text or a text file) into the
    workspace; see the module docstring for the rules. ``columns`` maps fields to the file's
    column names (``--map``), ``statuses`` CRM status keys (``crm.status_key``) to ours
    (``--status``). Raises InvalidInput when the file as a whole cannot be read (not UTF-8,
    no header, no name column, broken quoting) and StorageError when the database fails
    (nothing is imported then). ``preview`` checks everything and writes nothing
    (``created``/``updated`` then count what an import would create and update)."""
    header, raw_rows = read_table(source_text(source))
    mapping = detect_mapping(header, columns)
    report = ImportReport(ignored_columns=check_header(header, mapping), header=header,
                          mapping=mapping.describe(header))
    idx = owner_index(session, workspace_id)
    extra_statuses = statuses or {}

    good: list[_Row] = []
    first_line: dict[tuple[str, str], int] = {}
    for line, cells in raw_rows:
        report.rows += 1
        if report.rows > MAX_ROWS:
            raise InvalidInput(f"The file has more than {MAX_ROWS:,} rows; split it.")
        row, problems = _parse_row(line, cells, len(header), mapping, idx, extra_statuses)
        for what, k in (("external_ref", row.external_ref), ("name", row.key)):
            seen = first_line.get((what, k)) if k else None
            if seen is not None:
                problems.append(Problem("duplicate in the file",
                                        f"duplicate of line {seen} (same {what})."))
        if problems:
            report.skipped.append(SkippedRow(line, row.raw_name or _cell(cells, mapping),
                                             tuple(problems), tuple(cells)))
            continue
        for what, k in (("external_ref", row.external_ref), ("name", row.key)):
            if k:
                first_line[(what, k)] = line
        row.cells = tuple(cells)
        good.append(row)

    by_key, by_ref = _existing(session, workspace_id, good)
    planned: list[tuple[_Row, Customer | None]] = []
    targeted: dict[int | None, int] = {}  # customer id → the line that updates it
    for r in good:
        try:
            target = _match(r, by_key, by_ref)
            if target is not None:
                if target.id in targeted:
                    raise InvalidInput(f"updates the same customer ({target.name!r}) as line "
                                       f"{targeted[target.id]}.")
                targeted[target.id] = r.line
        except InvalidInput as exc:
            report.skipped.append(SkippedRow(r.line, r.raw_name,
                                             (Problem("conflicts with a customer", str(exc)),),
                                             r.cells))
            continue
        if (target is not None and r.owner_given and target.owner_id is not None
                and r.owner_id != target.owner_id):
            report.owner_changes.append(OwnerChange(
                r.line, target.name, idx.names.get(target.owner_id, "?"),
                idx.names.get(r.owner_id or -1, "?"), reassign_owners))
            if not reassign_owners:
                r.owner_given = False  # keep the owner it has; the report lists it
        planned.append((r, target))
    report.skipped.sort(key=lambda s: s.line)
    report.warnings = near_duplicates(session, workspace_id,
                                      [r for r, t in planned if t is None])

    if preview or (all_or_nothing and report.skipped):
        if preview:
            report.created = sum(1 for _, t in planned if t is None)
            report.updated = len(planned) - report.created
        session.rollback()  # only reads happened; end the transaction they opened
        return report
    _apply(session, workspace_id, planned, report, progress)
    return report


def _cell(cells: Sequence[str], mapping: ColumnMap) -> str:
    i = mapping.columns.get("name")
    return cells[i] if i is not None and i < len(cells) else ""


_SUFFIXES = frozenset({"inc", "incorporated", "corp", "corporation", "co", "company", "ltd",
                       "limited", "llc", "llp", "plc", "gmbh", "ag", "sa", "sas", "sarl", "bv",
                       "nv", "srl", "spa", "pty", "oy", "ab", "as", "kg", "group", "holding",
                       "holdings", "the"})


def _core(key: str) -> str:
    """A name key without legal-form words and punctuation: "globex corporation" → "globex"."""
    words = [w for w in re.split(r"[^\w]+", key) if w and w not in _SUFFIXES]
    return " ".join(words)


NEAR = 90  # rapidfuzz ratio (of the names without legal forms) that counts as "looks like"


def near_duplicates(session: Session, workspace_id: int, new: Sequence[_Row],
                    limit: int = 50) -> list[str]:
    """Warnings for new customers whose names look like an existing customer's or another
    new one's ("Globex" and "Globex Corporation"): the same name without legal-form words,
    or 90 % alike. Compared only within names sharing their first three letters, so a
    50,000-row file is checked in moments."""
    if not new:
        return []
    from rapidfuzz import fuzz

    blocks: dict[str, list[tuple[str, str, str]]] = {}  # prefix → (core, shown name, where)
    for name, key in session.execute(select(Customer.name, Customer.normalized_name)
                                     .where(Customer.workspace_id == workspace_id)):
        core = _core(key)
        blocks.setdefault(core[:3], []).append((core, name, "an existing customer"))
    out: list[str] = []
    for r in new:
        core = _core(r.key)
        block = blocks.setdefault(core[:3], [])
        for other_core, other, where in block:
            if core == other_core or (len(core) > 4 and fuzz.ratio(core, other_core) >= NEAR):
                if len(out) == limit:
                    out.append("… more near-duplicate names not shown.")
                    return out
                out.append(f"line {r.line}: {r.name!r} looks like {where} {other!r} "
                           "(imported as a separate customer; use the same name to update "
                           "it instead).")
                break
        block.append((core, r.name, f"line {r.line}"))
    return out


@contextmanager
def import_transaction(session: Session) -> Iterator[None]:
    """An import's writes commit as one or not at all: a database failure rolls everything
    back and is one line naming its cause (never a half-imported file)."""
    try:
        yield
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        raise StorageError(f"The import failed and nothing was imported: {reason}") from None
    except BaseException:
        session.rollback()
        raise


def _apply(session: Session, workspace_id: int, planned: Sequence[tuple[_Row, Customer | None]],
           report: ImportReport, progress: Progress | None) -> None:
    now = utcnow()
    created = updated = unchanged = 0
    new: list[dict[str, Any]] = []  # inserted in batches, without an ORM object per row
    with import_transaction(session):
        for i, (r, target) in enumerate(planned, 1):
            if target is None:
                new.append({"workspace_id": workspace_id, "name": r.name,
                            "normalized_name": r.key, "owner_id": r.owner_id,
                            "segment": r.segment, "status": r.status or CustomerStatus.CUSTOMER,
                            "external_ref": r.external_ref, "renewal_on": r.renewal_on,
                            "archived": False,
                            "created_at": now, "updated_at": now})
                created += 1
                if len(new) >= FLUSH_EVERY:
                    session.execute(insert(Customer), new)
                    new = []
            else:
                changes: dict[str, Any] = {"name": r.name, "normalized_name": r.key}
                if r.owner_given:
                    changes["owner_id"] = r.owner_id
                for attr in ("segment", "status", "external_ref", "renewal_on"):
                    if getattr(r, attr) is not None:
                        changes[attr] = getattr(r, attr)
                changed = {k: v for k, v in changes.items() if getattr(target, k) != v}
                if changed:
                    for k, v in changed.items():
                        setattr(target, k, v)
                    target.updated_at = now
                    session.add(target)
                    updated += 1
                else:
                    unchanged += 1
            if i % FLUSH_EVERY == 0:
                session.flush()
            if progress is not None and (i % 100 == 0 or i == len(planned)):
                progress(i, len(planned))
        if new:
            session.execute(insert(Customer), new)
    report.created, report.updated, report.unchanged = created, updated, unchanged
    report.committed = True


# --------------------------------------------------------------------------- writing


def escape_cell(value: Any) -> Any:
    """A value safe to open in a spreadsheet: text that would start a formula gets a ``'``,
    and so does text starting with ``'`` (or import would take that quote for ours)."""
    if isinstance(value, str) and value.startswith(_QUOTED):
        return "'" + value
    return value


def _writer(out: IO[str]) -> Any:
    return csv.writer(out, lineterminator="\r\n")


def _person_key(ext: str | None, email: str | None, shared: set[str]) -> str:
    """How a person appears in exports: their email, else their platform user id (both are
    what the import accepts as owner); the id when the email is not theirs alone (``shared``,
    lower-cased), which the import would refuse as ambiguous."""
    if email and email.strip().lower() not in shared:
        return email
    return ext or ""


def _shared_emails(session: Session, workspace_id: int) -> set[str]:
    """Lower-cased emails that more than one person of the workspace has."""
    email = func.lower(func.trim(Person.email))
    return set(session.execute(
        select(email).where(Person.workspace_id == workspace_id, col(Person.email).is_not(None))
        .group_by(email).having(func.count() > 1)).scalars())


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _write(out: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    w = _writer(out)
    w.writerow(header)
    n = 0
    for row in rows:
        w.writerow([escape_cell(v) for v in row])
        n += 1
    return n


def export_customers(session: Session, workspace_id: int, out: IO[str], *,
                     include_archived: bool = False) -> int:
    """Write the workspace's customers (the import's columns, so it imports back);
    returns the number of rows."""
    owner = aliased(Person)
    stmt = (select(Customer.name, owner.external_id, owner.email, Customer.segment,
                   Customer.status, Customer.external_ref, Customer.renewal_on)
            .select_from(Customer)
            .outerjoin(owner, owner.id == Customer.owner_id)
            .where(Customer.workspace_id == workspace_id)
            .order_by(Customer.normalized_name))
    if not include_archived:
        stmt = stmt.where(col(Customer.archived).is_(False))
    shared = _shared_emails(session, workspace_id)
    rows = ((name, _person_key(ext, email, shared) if ext else "", seg or "", status, ref or "",
             renewal.isoformat() if renewal else "")
            for name, ext, email, seg, status, ref, renewal in
            session.execute(stmt.execution_options(yield_per=1000)))
    return _write(out, CUSTOMER_COLUMNS, rows)


def _sheet_time(value: datetime) -> str:
    """``2026-10-02 14:05:09``, in UTC: a date and time every spreadsheet reads as one (an
    ISO ``T`` and offset are read as text by several)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def export_grades(session: Session, workspace_id: int, out: IO[str], *,
                  latest_only: bool = False,
                  dimension_ids: Sequence[str] | None = None,
                  rules: GradingRules | None = None, now: datetime | None = None) -> int:
    """Write the workspace's grades (all of them, or each customer's latest), oldest first per
    customer; returns the number of rows.

    Beside the grade: its coverage (0-1), whether its letter is provisional, whether it is
    ``stale`` on ``now`` (default: the clock) by the worksheet's ``rules`` (default: the
    shipped worksheet's; UTC days, ``GradingRules.is_stale``), how many answers
    were carried from earlier gradings, the good that carries it, the worksheet and version
    it was computed with, and a ``dim_<id>`` score per dimension (``dimension_ids``; default
    the shipped worksheet's; empty where a grade has no score for it). ``graded_at`` is UTC
    as ``YYYY-MM-DD HH:MM:SS``. Only grades with a letter are ever stored (drafts are not),
    so every row has one. ``letter`` and ``recommendation`` are the model's; on a customer's
    grade of record with an override in force on ``now``, the ``override_*`` columns say what
    it shows instead, who set it, until when (UTC day) and why (``storage.overrides``)."""
    if dimension_ids is None or rules is None:  # the shipped worksheet's
        sheet = load_worksheet()
        dimension_ids = [d.id for d in sheet.dimensions] if dimension_ids is None \
            else dimension_ids
        rules = rules or sheet.grading
    dims = tuple(dimension_ids)
    now = now or utcnow()
    today = now.astimezone(UTC).date()
    overrides = terms_in_workspace(session, workspace_id, now)
    owner, grader = aliased(Person), aliased(Person)
    join_on = col(Grade.customer_id) == col(Customer.id)
    if latest_only:
        join_on = and_(join_on, col(Grade.id) == col(Customer.latest_grade_id))
    # SQLModel types columns as their values: 19 of them are too many unions for mypy
    stmt = (select(Customer.name, owner.external_id, owner.email, Grade.letter, Grade.total,  # type: ignore[misc]
                   Grade.recommendation, Grade.profile, Grade.cadence, Grade.period,
                   Grade.created_at, grader.external_id, grader.email, Grade.coverage,
                   Grade.provisional, Grade.sources, Grade.carrier, Grade.worksheet_id,
                   Grade.worksheet_version, Grade.dimensions, Customer.id,
                   col(Grade.id) == col(Customer.latest_grade_id))
            .select_from(Customer)
            .join(Grade, join_on)
            .outerjoin(owner, owner.id == Customer.owner_id)
            .outerjoin(grader, grader.id == Grade.grader_id)
            .where(Customer.workspace_id == workspace_id)
            .order_by(Customer.normalized_name, Grade.created_at, Grade.id))
    shared = _shared_emails(session, workspace_id)
    rows = ((name, _person_key(oext, oemail, shared) if oext else "", letter,
             format(total, ".10g"), rec, profile or "", cadence, period, _sheet_time(created),
             _person_key(gext, gemail, shared) if gext else "", format(coverage, ".10g"),
             "yes" if provisional else "no",
             "yes" if rules.is_stale(created.astimezone(UTC).date(), today) else "no",
             len(carried_of(sources)), carrier or "",
             ws_id, ws_version,
             *(_override_cells(overrides.get(cid)) if of_record else _NO_OVERRIDE),
             *(_score((scores or {}).get(d)) for d in dims))
            for (name, oext, oemail, letter, total, rec, profile, cadence, period, created,
                 gext, gemail, coverage, provisional, sources, carrier, ws_id, ws_version,
                 scores, cid, of_record)
            in session.execute(stmt.execution_options(yield_per=1000)))
    return _write(out, (*GRADE_COLUMNS, *(f"dim_{d}" for d in dims)), rows)


def _override_cells(t: OverrideTerms | None) -> tuple[str, ...]:
    if t is None:
        return _NO_OVERRIDE
    return (t.letter or "", t.recommendation.value if t.recommendation else "", t.set_by,
            t.until.astimezone(UTC).date().isoformat(), t.reason)


def _score(value: Any) -> str:
    return format(value, ".10g") if isinstance(value, int | float) else ""
