"""CSV import of customers and CSV export of customers and grades.

Import (``import_customers``): a header line is required (column names are case-insensitive;
``name`` is required, ``owner``, ``segment``, ``status`` and ``external_ref`` are optional,
other columns are ignored and reported). The file is UTF-8, with or without a byte-order mark.
Each row updates the customer with the same ``external_ref`` when one is given, otherwise the
customer with the same normalized name, and creates one when there is none. An empty cell
leaves the stored value as it is (a new customer gets the default). ``owner`` is an email
address or a Slack/Teams user id of someone the bot already knows in the workspace.

Every row is checked before anything is written; rows that cannot be imported are reported
with their line number and the reason. By default the good rows are imported and the rest
reported; with ``all_or_nothing`` nothing is imported if any row is bad. Either way the
writes are one transaction: if the database fails part-way, nothing is imported.

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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, func, or_
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from scoring import load_worksheet
from scoring.sheet import carried_of
from storage.errors import InvalidInput, StorageError
from storage.models import Customer, CustomerStatus, Grade, Person
from storage.names import clean_name, clean_text, normalize_name
from storage.types import utcnow

CUSTOMER_COLUMNS = ("name", "owner", "segment", "status", "external_ref")
GRADE_COLUMNS = ("customer", "owner", "letter", "total", "recommendation", "profile", "cadence",
                 "period", "graded_at", "grader", "coverage", "provisional", "carried",
                 "carried_by", "worksheet", "worksheet_version")
# ... then one column per dimension of the worksheet: "dim_<id>" (see export_grades)
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


def _header_key(cell: str) -> str:
    return re.sub(r"[\s\-]+", "_", cell.strip().lower())


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


@dataclass(frozen=True)
class SkippedRow:
    line: int     # line number in the file (the header is line 1)
    name: str     # the name cell as it was in the file, for the report
    reason: str


@dataclass
class ImportReport:
    rows: int = 0            # data rows read (blank lines aside)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    committed: bool = False  # False: nothing was written (all-or-nothing with bad rows)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged


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


def _read_rows(text: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header's column keys and (line number, cells) for every non-blank data row."""
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
    keys = [_header_key(unescape_cell(c)) for c in header]

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

    return keys, rows()


def _check_header(keys: Sequence[str]) -> list[str]:
    """Validate the header; returns the ignored (unknown) columns."""
    if "name" not in keys:
        known = ", ".join(CUSTOMER_COLUMNS)
        raise InvalidInput(f"The first line must be a header naming the columns ({known}); "
                           "it has no \"name\" column.")
    dupes = sorted({k for k in keys if k and keys.count(k) > 1})
    if dupes:
        raise InvalidInput(f"The header names {', '.join(dupes)} more than once.")
    return [k for k in keys if k and k not in CUSTOMER_COLUMNS]


def _owner_index(session: Session, workspace_id: int) -> tuple[dict[str, int], dict[str, int]]:
    """(user id → person id, lower-cased email → person id or -1 when ambiguous)."""
    by_id: dict[str, int] = {}
    by_email: dict[str, int] = {}
    for pid, ext, email in session.execute(
            select(Person.id, Person.external_id, Person.email)
            .where(Person.workspace_id == workspace_id)):
        by_id[ext] = pid
        if email:
            e = email.strip().lower()
            by_email[e] = -1 if e in by_email and by_email[e] != pid else pid
    return by_id, by_email


def _resolve_owner(value: str, by_id: dict[str, int], by_email: dict[str, int]) -> int:
    v = value.strip()
    m = _SLACK_MENTION.match(v)
    if m:
        v = m.group(1)
    elif v.startswith("@") and "@" not in v[1:]:
        v = v[1:]
    if "@" in v:
        pid = by_email.get(v.lower())
        if pid == -1:
            raise InvalidInput(f"owner {value!r} is the email of more than one person; "
                               "use their Slack/Teams user id.")
    else:
        pid = by_id.get(v)
    if pid is None:
        raise InvalidInput(f"unknown owner {value!r} (use the email or Slack/Teams user id of "
                           "someone who has used the bot in this workspace).")
    return pid


def _parse_row(line: int, cells: list[str], keys: Sequence[str], by_id: dict[str, int],
               by_email: dict[str, int]) -> _Row:
    if len(cells) > len(keys) and any(c.strip() for c in cells[len(keys):]):
        raise InvalidInput(f"{len(cells)} values but the header has {len(keys)} columns.")
    longest = max((len(c) for c in cells), default=0)
    if longest > MAX_CELL:
        raise InvalidInput(f"a value is {longest:,} characters long (at most {MAX_CELL:,}).")
    values = {k: unescape_cell(c) for k, c in zip(keys, cells, strict=False)
              if k in CUSTOMER_COLUMNS}
    raw_name = values.get("name", "")
    name = clean_name(raw_name)
    row = _Row(line, raw_name, name, normalize_name(name))
    if values.get("owner", "").strip():
        row.owner_id = _resolve_owner(values["owner"], by_id, by_email)
        row.owner_given = True
    if values.get("segment", "").strip():
        row.segment = clean_text(values["segment"], "Segment", 100)
    status = values.get("status", "").strip()
    if status:
        try:
            row.status = CustomerStatus(status.lower()).value
        except ValueError:
            raise InvalidInput(f"bad status {status!r} (use prospect, customer or former)."
                               ) from None
    if values.get("external_ref", "").strip():
        row.external_ref = clean_text(values["external_ref"], "External reference", 100)
    return row


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
                     *, all_or_nothing: bool = False, progress: Progress | None = None
                     ) -> ImportReport:
    """Import customers from CSV ``source`` (a path, bytes, CSV text or a text file) into the
    workspace; see the module docstring for the rules. Raises InvalidInput when the file as a
    whole cannot be read (not UTF-8, no header, broken quoting) and StorageError when the
    database fails (nothing is imported then)."""
    if isinstance(source, Path):
        text = decode_csv(source.read_bytes(), source.name)
    elif isinstance(source, bytes):
        text = decode_csv(source)
    elif isinstance(source, str):
        text = source.removeprefix("\ufeff")
    else:
        text = source.read().removeprefix("\ufeff")
    keys, raw_rows = _read_rows(text)
    report = ImportReport(ignored_columns=_check_header(keys))
    by_id, by_email = _owner_index(session, workspace_id)

    good: list[_Row] = []
    first_line: dict[tuple[str, str], int] = {}
    for line, cells in raw_rows:
        report.rows += 1
        if report.rows > MAX_ROWS:
            raise InvalidInput(f"The file has more than {MAX_ROWS:,} rows; split it.")
        raw_name = cells[keys.index("name")] if keys.index("name") < len(cells) else ""
        try:
            row = _parse_row(line, cells, keys, by_id, by_email)
            for what, k in (("external_ref", row.external_ref), ("name", row.key)):
                if k is None:
                    continue
                seen = first_line.get((what, k))
                if seen is not None:
                    raise InvalidInput(f"duplicate of line {seen} (same {what}).")
            for what, k in (("external_ref", row.external_ref), ("name", row.key)):
                if k is not None:
                    first_line[(what, k)] = line
        except InvalidInput as exc:
            report.skipped.append(SkippedRow(line, raw_name, str(exc)))
            continue
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
            report.skipped.append(SkippedRow(r.line, r.raw_name, str(exc)))
            continue
        planned.append((r, target))
    report.skipped.sort(key=lambda s: s.line)

    if all_or_nothing and report.skipped:
        session.rollback()  # only reads happened; end the transaction they opened
        return report
    _apply(session, workspace_id, planned, report, progress)
    return report


def _apply(session: Session, workspace_id: int, planned: Sequence[tuple[_Row, Customer | None]],
           report: ImportReport, progress: Progress | None) -> None:
    now = utcnow()
    created = updated = unchanged = 0
    try:
        for i, (r, target) in enumerate(planned, 1):
            if target is None:
                session.add(Customer(workspace_id=workspace_id, name=r.name,
                                     normalized_name=r.key, owner_id=r.owner_id,
                                     segment=r.segment,
                                     status=r.status or CustomerStatus.CUSTOMER,
                                     external_ref=r.external_ref, created_at=now,
                                     updated_at=now))
                created += 1
            else:
                changes: dict[str, Any] = {"name": r.name, "normalized_name": r.key}
                if r.owner_given:
                    changes["owner_id"] = r.owner_id
                for attr in ("segment", "status", "external_ref"):
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
            if progress is not None:
                progress(i, len(planned))
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        raise StorageError(f"The import failed and nothing was imported: {reason}") from None
    except BaseException:
        session.rollback()
        raise
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
                   Customer.status, Customer.external_ref)
            .select_from(Customer)
            .outerjoin(owner, owner.id == Customer.owner_id)
            .where(Customer.workspace_id == workspace_id)
            .order_by(Customer.normalized_name))
    if not include_archived:
        stmt = stmt.where(col(Customer.archived).is_(False))
    shared = _shared_emails(session, workspace_id)
    rows = ((name, _person_key(ext, email, shared) if ext else "", seg or "", status, ref or "")
            for name, ext, email, seg, status, ref in
            session.execute(stmt.execution_options(yield_per=1000)))
    return _write(out, CUSTOMER_COLUMNS, rows)


def _sheet_time(value: datetime) -> str:
    """``2026-10-02 14:05:09``, in UTC: a date and time every spreadsheet reads as one (an
    ISO ``T`` and offset are read as text by several)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def export_grades(session: Session, workspace_id: int, out: IO[str], *,
                  latest_only: bool = False,
                  dimension_ids: Sequence[str] | None = None) -> int:
    """Write the workspace's grades (all of them, or each customer's latest), oldest first per
    customer; returns the number of rows.

    Beside the grade: its coverage (0-1), whether its letter is provisional, how many answers
    were carried from earlier gradings, the good that carries it, the worksheet and version
    it was computed with, and a ``dim_<id>`` score per dimension (``dimension_ids``; default
    the shipped worksheet's; empty where a grade has no score for it). ``graded_at`` is UTC
    as ``YYYY-MM-DD HH:MM:SS``. Only grades with a letter are ever stored (drafts are not),
    so every row has one."""
    dims = tuple(dimension_ids) if dimension_ids is not None else tuple(
        d.id for d in load_worksheet().dimensions)
    owner, grader = aliased(Person), aliased(Person)
    join_on = Grade.customer_id == Customer.id
    if latest_only:
        join_on = and_(join_on, Grade.id == Customer.latest_grade_id)
    stmt = (select(Customer.name, owner.external_id, owner.email, Grade.letter, Grade.total,
                   Grade.recommendation, Grade.profile, Grade.cadence, Grade.period,
                   Grade.created_at, grader.external_id, grader.email, Grade.coverage,
                   Grade.provisional, Grade.sources, Grade.carrier, Grade.worksheet_id,
                   Grade.worksheet_version, Grade.dimensions)
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
             "yes" if provisional else "no", len(carried_of(sources)), carrier or "",
             ws_id, ws_version, *(_score((scores or {}).get(d)) for d in dims))
            for (name, oext, oemail, letter, total, rec, profile, cadence, period, created,
                 gext, gemail, coverage, provisional, sources, carrier, ws_id, ws_version,
                 scores) in session.execute(stmt.execution_options(yield_per=1000)))
    return _write(out, (*GRADE_COLUMNS, *(f"dim_{d}" for d in dims)), rows)


def _score(value: Any) -> str:
    return format(value, ".10g") if isinstance(value, int | float) else ""
