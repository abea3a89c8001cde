"""Outcomes: what happened to a customer (renewed, churned, …) and when, recorded from the
CLI, the customer card or a CSV file, and read back for calibration.

An outcome is a fact about a day: the same customer, kind and day recorded twice is one row
(the second time changes nothing and says so), so a file can be imported again safely. A day
in the future is refused: an outcome is recorded once it has happened.

CSV import (``import_outcomes``): a header is required; columns ``customer`` (the name, as
the customers import knows it) or ``external_ref`` (the CRM id: matched first when given),
``kind``, ``happened_on`` (``YYYY-MM-DD``) and an optional ``note``. Bad rows are reported
with every problem they have, and the good rows written in one transaction (or none with
``all_or_nothing``), as for customers and people (``storage.import_report``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import DateTime, func, insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, select

from scoring.calibration import LEAD_DAYS, Observation
from storage.crm import Profile, detect_mapping, header_key
from storage.csvio import (
    MAX_CELL,
    MAX_ROWS,
    check_header,
    import_transaction,
    read_table,
    source_text,
    unescape_cell,
)
from storage.days import EARLIEST, parse_day
from storage.errors import InvalidInput, StorageError
from storage.import_report import Problem, RowReport, SkippedRow
from storage.models import Customer, Grade, Outcome, OutcomeKind, OutcomeSource, Person
from storage.names import clean_text, normalize_name
from storage.types import utcnow

NOTE_MAX = 1000

# what people write for each kind (keys as ``header_key`` makes them)
_KIND_WORDS: dict[str, OutcomeKind] = {
    **dict.fromkeys(("renewed", "renewal", "renew", "renews"), OutcomeKind.RENEWED),
    **dict.fromkeys(
        ("expanded", "expansion", "expand", "upsell", "upsold", "grew"), OutcomeKind.EXPANDED
    ),
    **dict.fromkeys(
        ("churned", "churn", "lost", "cancelled", "canceled", "left"), OutcomeKind.CHURNED
    ),
    **dict.fromkeys(
        (
            "defaulted_or_paid_late",
            "defaulted",
            "default",
            "paid_late",
            "late_payment",
            "late",
            "unpaid",
            "non_payment",
        ),
        OutcomeKind.DEFAULTED_OR_PAID_LATE,
    ),
    **dict.fromkeys(("referred", "referral", "referred_a_customer", "refer"), OutcomeKind.REFERRED),
    **dict.fromkeys(
        ("exited_by_us", "exited", "exit", "fired", "let_go", "offboarded"),
        OutcomeKind.EXITED_BY_US,
    ),
}
KIND_CHOICES = ", ".join(k.value for k in OutcomeKind)

OUTCOME_FIELDS = ("customer", "external_ref", "kind", "happened_on", "note")
OUTCOME_PROFILES = (
    Profile(
        "outcomes",
        {
            "customer": (
                "customer",
                "name",
                "customer_name",
                "account_name",
                "company_name",
                "organization_name",
                "account",
                "company",
            ),
            "external_ref": (
                "external_ref",
                "account_id",
                "record_id",
                "company_id",
                "organization_id",
                "crm_id",
            ),
            "kind": ("kind", "outcome", "event", "what_happened", "type"),
            "happened_on": ("happened_on", "date", "on", "outcome_date", "when", "day"),
            "note": ("note", "notes", "comment", "comments", "why"),
        },
    ),
)


def parse_kind(value: str) -> OutcomeKind:
    """The kind ``value`` names (ours, or a common word for it); InvalidInput otherwise."""
    kind = _KIND_WORDS.get(header_key(value))
    if kind is None:
        raise InvalidInput(f"unknown outcome {value.strip()[:60]!r} (use {KIND_CHOICES}).")
    return kind


def clean_note(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return clean_text(value, "Note", NOTE_MAX)


@dataclass(frozen=True)
class Recorded:
    outcome: Outcome
    created: bool  # False: the same customer, kind and day was recorded already


def record_outcome(
    session: Session,
    customer: Customer,
    kind: OutcomeKind | str,
    happened_on: date,
    *,
    source: OutcomeSource,
    today: date,
    recorded_by: Person | None = None,
    note: str | None = None,
) -> Recorded:
    """Record that ``kind`` happened to ``customer`` on ``happened_on`` (committed); the
    existing row when it was recorded already."""
    kind = parse_kind(kind) if not isinstance(kind, OutcomeKind) else kind
    if happened_on > today:
        raise InvalidInput(
            f"{happened_on.isoformat()} is in the future: record an outcome once it has happened."
        )
    if happened_on < EARLIEST:
        raise InvalidInput(f"{happened_on.isoformat()} is too long ago.")
    cleaned = clean_note(note)
    existing = _existing(session, customer.id, kind, happened_on)
    if existing is not None:
        return Recorded(existing, False)
    row = Outcome(
        workspace_id=customer.workspace_id,
        customer_id=customer.id,
        kind=kind,
        happened_on=happened_on,
        source=source,
        note=cleaned,
        recorded_by_id=recorded_by.id if recorded_by else None,
    )
    try:
        with import_transaction(session):  # one line, and a rollback, if the database fails
            session.add(row)
    except StorageError:
        # the same fact recorded a moment ago by someone else (the unique key refused ours)
        again = _existing(session, customer.id, kind, happened_on)
        if again is None:
            raise
        return Recorded(again, False)
    return Recorded(row, True)


def _existing(session: Session, customer_id: int, kind: str, day: date) -> Outcome | None:
    return session.exec(
        select(Outcome).where(
            Outcome.customer_id == customer_id, Outcome.kind == kind, Outcome.happened_on == day
        )
    ).first()


@dataclass(frozen=True)
class OutcomeRow:
    """An outcome as a list shows it."""

    id: int
    customer: str
    kind: str
    happened_on: date
    source: str
    recorded_by: str | None
    note: str | None


def list_outcomes(
    session: Session, workspace_id: int, customer_id: int | None = None, limit: int = 200
) -> list[OutcomeRow]:
    """The newest outcomes of the workspace (or of one customer), newest day first."""
    who = aliased(Person)
    stmt = (
        select(
            Outcome.id,
            Customer.name,
            Outcome.kind,
            Outcome.happened_on,
            Outcome.source,
            who.display_name,
            Outcome.note,
        )
        .select_from(Outcome)
        .join(Customer, Customer.id == Outcome.customer_id)
        .outerjoin(who, who.id == Outcome.recorded_by_id)
        .where(Outcome.workspace_id == workspace_id)
        .order_by(col(Outcome.happened_on).desc(), col(Outcome.id).desc())
        .limit(limit)
    )
    if customer_id is not None:
        stmt = stmt.where(Outcome.customer_id == customer_id)
    return [OutcomeRow(*r) for r in session.execute(stmt)]


def count_outcomes(session: Session, workspace_id: int) -> int:
    return session.exec(
        select(func.count()).select_from(Outcome).where(Outcome.workspace_id == workspace_id)
    ).one()


# A renewal is answered by a decision recorded no earlier than this before its date (an
# early renewal signed a month ahead answers it; last year's does not).
RENEWAL_WINDOW = timedelta(days=60)
DECISIONS = (
    OutcomeKind.RENEWED,
    OutcomeKind.EXPANDED,
    OutcomeKind.CHURNED,
    OutcomeKind.EXITED_BY_US,
)


@dataclass(frozen=True)
class RenewalDue:
    """A customer whose renewal date has passed with no decision recorded for it: whoever
    owns it should say what happened."""

    customer_id: int
    customer: str
    owner_id: int | None
    owner: str | None
    renewal_on: date


def renewals_due(session: Session, workspace_id: int, today: date) -> list[RenewalDue]:
    """Customers (not archived) whose ``renewal_on`` is before ``today`` and who have no
    renewed / expanded / churned / exited outcome dated from ``RENEWAL_WINDOW`` before it
    on; oldest renewal first."""
    who = aliased(Person)
    last = (
        select(func.max(Outcome.happened_on))
        .where(
            Outcome.customer_id == Customer.id, col(Outcome.kind).in_([k.value for k in DECISIONS])
        )
        .correlate(Customer)
        .scalar_subquery()
    )
    stmt = (
        select(
            Customer.id,
            Customer.name,
            Customer.owner_id,
            who.display_name,
            Customer.renewal_on,
            last,
        )
        .outerjoin(who, who.id == Customer.owner_id)
        .where(
            Customer.workspace_id == workspace_id,
            col(Customer.archived).is_(False),
            col(Customer.renewal_on).is_not(None),
            col(Customer.renewal_on) < today,
        )
        .order_by(Customer.renewal_on, Customer.normalized_name)
    )
    return [
        RenewalDue(cid, name, owner_id, owner, renewal)
        for cid, name, owner_id, owner, renewal, decided in session.execute(stmt)
        if decided is None or decided < renewal - RENEWAL_WINDOW
    ]


# --------------------------------------------------------------------------- import


@dataclass
class OutcomeImportReport(RowReport):
    """``unchanged``: rows recorded already (the same customer, kind and day)."""

    kinds: dict[str, int] = field(default_factory=dict)  # created, by kind


@dataclass
class _OutcomeRow:
    line: int
    shown: str
    customer_id: int | None = None
    kind: OutcomeKind | None = None
    day: date | None = None
    note: str | None = None
    cells: tuple[str, ...] = ()


class _Customers:
    """The workspace's customers by normalized name and by external reference."""

    def __init__(self, session: Session, workspace_id: int) -> None:
        self.by_key: dict[str, int] = {}
        self.by_ref: dict[str, int] = {}
        for cid, key, ref in session.execute(
            select(Customer.id, Customer.normalized_name, Customer.external_ref).where(
                Customer.workspace_id == workspace_id
            )
        ):
            self.by_key[key] = cid
            if ref:
                self.by_ref[ref] = -1 if ref in self.by_ref else cid

    def find(self, name: str, ref: str) -> int | str:
        """The customer id, or the problem message."""
        if ref:
            cid = self.by_ref.get(ref)
            if cid == -1:
                return f"more than one customer has external_ref {ref!r}."
            if cid is not None:
                return cid
        if name:
            cid = self.by_key.get(normalize_name(name))
            if cid is not None:
                return cid
        shown = ref if ref and not name else name
        return (
            f"unknown customer {shown[:80]!r} (import it first with `gradebot import "
            "customers`, or use its exact name or external_ref)."
        )


def _parse_outcome(
    line: int, cells: list[str], values: dict[str, str], known: _Customers, today: date
) -> tuple[_OutcomeRow, list[Problem]]:
    name, ref = values.get("customer", "").strip(), values.get("external_ref", "").strip()
    row = _OutcomeRow(line, name or ref, cells=tuple(cells))
    problems: list[Problem] = []
    if max((len(c) for c in cells), default=0) > MAX_CELL:
        return row, [Problem("value too long", f"a value is over {MAX_CELL:,} characters.")]
    if not name and not ref:
        problems.append(Problem("no customer", "needs the customer's name (or external_ref)."))
    else:
        found = known.find(name, ref)
        if isinstance(found, str):
            problems.append(Problem("unknown customer", found, name or ref))
        else:
            row.customer_id = found
    kind = values.get("kind", "").strip()
    if not kind:
        problems.append(Problem("no kind", f"needs the kind of outcome ({KIND_CHOICES})."))
    else:
        try:
            row.kind = parse_kind(kind)
        except InvalidInput as exc:
            problems.append(Problem("unknown kind", str(exc), kind))
    day = values.get("happened_on", "").strip()
    if not day:
        problems.append(Problem("no date", "needs the day it happened (YYYY-MM-DD)."))
    else:
        try:
            row.day = parse_day(day, today)
        except InvalidInput as exc:
            problems.append(Problem("bad date", str(exc), day))
    try:
        row.note = clean_note(values.get("note"))
    except InvalidInput as exc:
        problems.append(Problem("bad note", str(exc)))
    return row, problems


def import_outcomes(
    session: Session,
    workspace_id: int,
    source: Path | bytes | str | IO[str],
    *,
    today: date,
    recorded_by_id: int | None = None,
    all_or_nothing: bool = False,
    columns: dict[str, str] | None = None,
    preview: bool = False,
) -> OutcomeImportReport:
    """Import outcomes from CSV ``source`` (see the module docstring). Raises InvalidInput
    when the file as a whole cannot be read and StorageError when the database fails
    (nothing is written then)."""
    header, raw_rows = read_table(source_text(source))
    mapping = detect_mapping(
        header, columns, OUTCOME_FIELDS, OUTCOME_PROFILES, required=("customer", "external_ref")
    )
    for needed in ("kind", "happened_on"):
        if needed not in mapping.columns:
            raise InvalidInput(
                f"The header needs a {needed} column (it has "
                f"{', '.join(repr(h.strip()) for h in header[:12])}); map it "
                f'with --map {needed}="Column name".'
            )
    report = OutcomeImportReport(
        ignored_columns=check_header(header, mapping),
        header=header,
        mapping=mapping.describe(header),
    )
    known = _Customers(session, workspace_id)
    good: list[_OutcomeRow] = []
    seen: dict[tuple[int, str, date], int] = {}
    for line, cells in raw_rows:
        report.rows += 1
        if report.rows > MAX_ROWS:
            raise InvalidInput(f"The file has more than {MAX_ROWS:,} rows; split it.")
        values = {
            f: unescape_cell(cells[i]) if i < len(cells) else "" for f, i in mapping.columns.items()
        }
        row, problems = _parse_outcome(line, cells, values, known, today)
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            problems.append(
                Problem(
                    "too many values",
                    f"{len(cells)} values but the header has {len(header)} columns.",
                )
            )
        key = (row.customer_id, row.kind, row.day)
        if not problems and key in seen:
            problems.append(
                Problem(
                    "duplicate in the file",
                    f"duplicate of line {seen[key]} (same customer, kind and "
                    "day).",
                )
            )
        if problems:
            report.skipped.append(SkippedRow(line, row.shown, tuple(problems), tuple(cells)))
            continue
        seen[key] = line  # type: ignore[index]
        good.append(row)
    stored = _stored_keys(session, workspace_id, good)
    new = [r for r in good if (r.customer_id, r.kind, r.day) not in stored]
    report.unchanged = len(good) - len(new)
    if preview or (all_or_nothing and report.skipped):
        if preview:
            report.created = len(new)
        session.rollback()
        return report
    now = utcnow()
    with import_transaction(session):
        for i in range(0, len(new), 500):
            session.execute(
                insert(Outcome),
                [
                    {
                        "workspace_id": workspace_id,
                        "customer_id": r.customer_id,
                        "kind": r.kind,
                        "happened_on": r.day,
                        "recorded_by_id": recorded_by_id,
                        "source": OutcomeSource.IMPORT,
                        "note": r.note,
                        "created_at": now,
                    }
                    for r in new[i : i + 500]
                ],
            )
    report.created = len(new)
    for r in new:
        report.kinds[str(r.kind)] = report.kinds.get(str(r.kind), 0) + 1
    report.committed = True
    return report


def _stored_keys(
    session: Session, workspace_id: int, rows: Sequence[_OutcomeRow]
) -> set[tuple[int, str, date]]:
    """(customer, kind, day) of the rows' customers' outcomes already stored."""
    ids = sorted({r.customer_id for r in rows if r.customer_id is not None})
    out: set[tuple[int, str, date]] = set()
    for i in range(0, len(ids), 500):
        out.update(
            session.execute(
                select(Outcome.customer_id, Outcome.kind, Outcome.happened_on).where(
                    Outcome.workspace_id == workspace_id,
                    col(Outcome.customer_id).in_(ids[i : i + 500]),
                )
            )
        )
    return out


# --------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class CalibrationData:
    """Every outcome of a workspace paired with its customer's grade of record made at
    least ``scoring.calibration.LEAD_DAYS`` before it, and how many had none."""

    observations: list[Observation]
    outcomes: int  # all recorded outcomes of the workspace
    ungraded: int  # of them, with no grade early enough


def calibration_data(session: Session, workspace_id: int) -> CalibrationData:
    """The rows ``scoring.calibration.calibrate`` needs, in one query: each outcome joined
    to the newest grade of its customer made before ``grade_cutoff`` of its day (a
    correlated look-up on the (customer, created_at) index of grades)."""
    g = aliased(Grade)
    pick = (
        select(g.id)
        .where(
            g.customer_id == Outcome.customer_id,
            g.created_at < _cutoff(Outcome.happened_on),
            *_of_record(g),
        )
        .order_by(col(g.created_at).desc(), col(g.id).desc())
        .limit(1)
        .correlate(Outcome)
        .scalar_subquery()
    )
    stmt = (
        select(
            Outcome.customer_id,
            Outcome.kind,
            Outcome.happened_on,
            Grade.created_at,
            Grade.total,
            Grade.letter,
            Grade.dimensions,
            Grade.answers,
        )
        .select_from(Outcome)
        .join(Grade, Grade.id == pick)
        .where(Outcome.workspace_id == workspace_id)
        .order_by(Outcome.customer_id, Outcome.happened_on, Outcome.id)
    )
    observations = [
        Observation(cid, kind, day, at, total, letter, dims or {}, answers or {})
        for cid, kind, day, at, total, letter, dims, answers in session.execute(
            stmt.execution_options(yield_per=2000)
        )
    ]
    recorded = count_outcomes(session, workspace_id)
    return CalibrationData(observations, recorded, recorded - len(observations))


class _cutoff(FunctionElement[datetime]):  # noqa: N801  (used like a SQL function)
    """``scoring.calibration.grade_cutoff`` of a date column, in SQL: midnight (UTC) of the
    day ``LEAD_DAYS - 1`` days earlier. Each backend spells date arithmetic its own way."""

    type = DateTime()
    inherit_cache = True
    name = "gradebot_cutoff"


@compiles(_cutoff, "sqlite")
def _cutoff_sqlite(element: _cutoff, compiler: Any, **kw: Any) -> str:
    # the text SQLite keeps timestamps as ('YYYY-MM-DD HH:MM:SS.ffffff') sorts by time
    return f"datetime({compiler.process(element.clauses, **kw)}, '-{LEAD_DAYS - 1} days')"


@compiles(_cutoff, "postgresql")
def _cutoff_postgres(element: _cutoff, compiler: Any, **kw: Any) -> str:
    # date - integer is a date; compared with a timestamptz it is midnight in the session's
    # zone, which is UTC (storage.engine)
    return f"(({compiler.process(element.clauses, **kw)}) - {LEAD_DAYS - 1})"


def _of_record(g: Any) -> tuple[Any, ...]:
    """Conditions that keep only grades of record. Every row of ``grade`` is one (second
    opinions are kept in a table of their own, beside the grade of record), so none yet;
    the one place to add one if that changes. The model's grade is used, not an override."""
    return ()
