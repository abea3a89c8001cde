"""Outcomes on every backend: recorded once per customer, kind and day; imported from CSV
with every problem of a bad row reported and the rejected rows importable again; gathered
for calibration with the grade made at least 90 days before each outcome."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import inspect
from sqlmodel import Session, select

from storage import csvio
from storage import outcomes as outcomes_db
from storage.errors import InvalidInput
from storage.import_report import write_rejected
from storage.models import Customer, Outcome, OutcomeKind, OutcomeSource, Person, Workspace
from tests.storage.helpers import customer, grade, utc

TODAY = date(2026, 12, 1)


def test_record_once_per_customer_kind_and_day(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    acme = customer(session, workspace, "Acme", rep)
    first = outcomes_db.record_outcome(
        session,
        acme,
        "renewal",
        date(2026, 3, 31),
        source=OutcomeSource.CLI,
        today=TODAY,
        recorded_by=rep,
        note="  3-year deal ",
    )
    again = outcomes_db.record_outcome(
        session,
        acme,
        OutcomeKind.RENEWED,
        date(2026, 3, 31),
        source=OutcomeSource.CARD,
        today=TODAY,
    )
    other_day = outcomes_db.record_outcome(
        session, acme, "churn", date(2026, 11, 30), source=OutcomeSource.CLI, today=TODAY
    )
    assert (first.created, again.created, other_day.created) == (True, False, True)
    assert again.outcome.id == first.outcome.id
    assert first.outcome.kind == "renewed"
    assert first.outcome.note == "3-year deal"
    rows = outcomes_db.list_outcomes(session, workspace.id)  # type: ignore[arg-type]
    assert [(r.customer, r.kind, r.happened_on, r.source, r.recorded_by) for r in rows] == [
        ("Acme", "churned", date(2026, 11, 30), "cli", None),
        ("Acme", "renewed", date(2026, 3, 31), "cli", "Rita Rep"),
    ]
    assert outcomes_db.count_outcomes(session, workspace.id) == 2  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "day", "note", "message"),
    [
        ("renewed", TODAY + timedelta(days=1), None, "is in the future"),
        ("renewed", date(1969, 12, 31), None, "too long ago"),
        ("bought a boat", TODAY, None, "unknown outcome 'bought a boat'"),
        ("renewed", TODAY, "x" * 1001, "Note is too long"),
        ("renewed", TODAY, "bad\x07bell", "control character"),
    ],
)
def test_refused_outcomes_write_nothing(
    session: Session,
    workspace: Workspace,
    rep: Person,
    kind: str,
    day: date,
    note: str | None,
    message: str,
) -> None:
    acme = customer(session, workspace, "Acme", rep)
    with pytest.raises(InvalidInput, match=message):
        outcomes_db.record_outcome(
            session, acme, kind, day, source=OutcomeSource.CLI, today=TODAY, note=note
        )
    assert session.exec(select(Outcome)).all() == []


def test_every_kind_and_its_common_words() -> None:
    assert {outcomes_db.parse_kind(k.value) for k in OutcomeKind} == set(OutcomeKind)
    assert outcomes_db.parse_kind("Paid late") is OutcomeKind.DEFAULTED_OR_PAID_LATE
    assert outcomes_db.parse_kind("Upsell") is OutcomeKind.EXPANDED
    assert outcomes_db.parse_kind("  Fired ") is OutcomeKind.EXITED_BY_US


def test_migration_adds_the_outcome_table_and_renewal_dates(engine: object) -> None:
    insp = inspect(engine)
    assert "renewal_on" in {c["name"] for c in insp.get_columns("customer")}
    assert {c["name"] for c in insp.get_columns("outcome")} >= {
        "customer_id",
        "kind",
        "happened_on",
        "recorded_by_id",
        "source",
        "note",
        "created_at",
    }


# --------------------------------------------------------------------------- import

GOOD_AND_BAD = (
    "customer,kind,happened_on,note\r\n"
    "Acme,renewed,2026-03-31,three years\r\n"  # 2 good
    "Globex,churn,2026-06-30 00:00:00,\r\n"  # 3 good (a spreadsheet's time part)
    "Nobody Inc,renewed,2026-01-01,\r\n"  # 4 unknown customer
    "Acme,bought a boat,31/03/2026,\r\n"  # 5 two problems
    ",renewed,2026-01-01,\r\n"  # 6 no customer
    "Acme,renewed,2027-01-01,\r\n"  # 7 future
    "Acme,renewed,2026-03-31,again\r\n"  # 8 duplicate of line 2
)


def _book(session: Session, ws: Workspace, rep: Person) -> tuple[Customer, Customer]:
    return (
        customer(session, ws, "Acme", rep, external_ref="SF-1"),
        customer(session, ws, "Globex", rep),
    )


def test_import_takes_good_rows_and_reports_every_problem_of_bad_ones(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    _book(session, workspace, rep)
    report = outcomes_db.import_outcomes(
        session,
        workspace.id,
        GOOD_AND_BAD,  # type: ignore[arg-type]
        today=TODAY,
        recorded_by_id=rep.id,
    )
    assert report.committed
    assert (report.rows, report.created, report.unchanged) == (7, 2, 0)
    assert report.kinds == {"renewed": 1, "churned": 1}
    problems = {s.line: [p.kind for p in s.problems] for s in report.skipped}
    assert problems == {
        4: ["unknown customer"],
        5: ["unknown kind", "bad date"],
        6: ["no customer"],
        7: ["bad date"],
        8: ["duplicate in the file"],
    }
    assert "YYYY-MM-DD" in report.skipped[1].reason
    stored = session.exec(select(Outcome).order_by(Outcome.happened_on)).all()
    assert [(o.kind, o.happened_on, o.source, o.recorded_by_id, o.note) for o in stored] == [
        ("renewed", date(2026, 3, 31), "import", rep.id, "three years"),
        ("churned", date(2026, 6, 30), "import", rep.id, None),
    ]


def test_the_same_file_again_changes_nothing(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    _book(session, workspace, rep)
    outcomes_db.import_outcomes(session, workspace.id, GOOD_AND_BAD, today=TODAY)  # type: ignore[arg-type]
    again = outcomes_db.import_outcomes(session, workspace.id, GOOD_AND_BAD, today=TODAY)  # type: ignore[arg-type]
    assert (again.created, again.unchanged, len(again.skipped)) == (0, 2, 5)
    assert len(session.exec(select(Outcome)).all()) == 2


def test_rejected_rows_fixed_import_again(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    _book(session, workspace, rep)
    report = outcomes_db.import_outcomes(session, workspace.id, GOOD_AND_BAD, today=TODAY)  # type: ignore[arg-type]
    out = io.StringIO()
    write_rejected(out, report.header, report.skipped)
    rejected = out.getvalue()
    assert rejected.splitlines()[0] == "customer,kind,happened_on,note,reason"
    fixed = (
        rejected.replace("Nobody Inc", "Globex")
        .replace("bought a boat", "expanded")
        .replace("31/03/2026", "2026-04-01")
        .replace("2027-01-01", "2026-11-01")
    )
    second = outcomes_db.import_outcomes(session, workspace.id, fixed, today=TODAY)  # type: ignore[arg-type]
    # the row without a customer is still bad; the repeat of a stored row is recorded already
    assert [(s.line, s.problems[0].kind) for s in second.skipped] == [(4, "no customer")]
    assert (second.created, second.unchanged) == (3, 1)
    assert second.ignored_columns == []  # the reason column is not a column of ours


def test_external_ref_preview_and_all_or_nothing(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    _book(session, workspace, rep)
    text = "Account ID,Outcome,Date\nSF-1,expanded,2026-05-01\nSF-9,churned,2026-05-01\n"
    preview = outcomes_db.import_outcomes(
        session,
        workspace.id,
        text,
        today=TODAY,  # type: ignore[arg-type]
        preview=True,
    )
    assert (preview.created, len(preview.skipped), preview.committed) == (1, 1, False)
    strict = outcomes_db.import_outcomes(
        session,
        workspace.id,
        text,
        today=TODAY,  # type: ignore[arg-type]
        all_or_nothing=True,
    )
    assert not strict.committed
    assert session.exec(select(Outcome)).all() == []
    done = outcomes_db.import_outcomes(session, workspace.id, text, today=TODAY)  # type: ignore[arg-type]
    assert done.created == 1
    assert 'external_ref ← "Account ID"' in done.mapping


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("customer,note\nAcme,x\n", "needs a kind column"),
        ("customer,kind\nAcme,renewed\n", "needs a happened_on column"),
        ("who,what,when\nAcme,renewed,2026-01-01\n", "no column could be read as the customer"),
    ],
)
def test_a_file_without_the_columns_is_refused_whole(
    session: Session, workspace: Workspace, text: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        outcomes_db.import_outcomes(session, workspace.id, text, today=TODAY)  # type: ignore[arg-type]


def test_customers_import_reads_and_exports_renewal_dates(
    session: Session, workspace: Workspace
) -> None:
    text = "Account Name,Renewal Date\nAcme,2027-03-31\nGlobex,\nInitech,03/31/2027\n"
    report = csvio.import_customers(session, workspace.id, text)  # type: ignore[arg-type]
    assert [(s.line, [p.kind for p in s.problems]) for s in report.skipped] == [
        (4, ["bad renewal date"])
    ]
    assert 'renewal_date ← "Renewal Date"' in report.mapping
    renewals = {c.name: c.renewal_on for c in session.exec(select(Customer)).all()}
    assert renewals == {"Acme": date(2027, 3, 31), "Globex": None}
    again = csvio.import_customers(
        session,
        workspace.id,  # type: ignore[arg-type]
        "name,renewal_date\nGlobex,2027-06-30\nAcme,\n",
    )
    assert (again.updated, again.unchanged) == (1, 1)  # an empty cell keeps the date
    out = io.StringIO()
    csvio.export_customers(session, workspace.id, out)  # type: ignore[arg-type]
    assert out.getvalue().splitlines()[1:] == [
        "Acme,,,customer,,2027-03-31",
        "Globex,,,customer,,2027-06-30",
    ]


# --------------------------------------------------------------------------- calibration


def test_calibration_uses_the_newest_grade_made_at_least_90_days_before(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    """The 90-day rule at its edge: a grade on day -90 counts, one on day -89 does not (it
    may already know what is coming); a customer with no grade that early is not used."""
    acme, globex = _book(session, workspace, rep)
    late = customer(session, workspace, "Late Co", rep)
    day = date(2026, 6, 30)
    grade(session, acme, "D", utc(2025, 1, 1))
    grade(session, acme, "B", utc(2026, 4, 1, 23, 59))  # day - 90, late evening
    grade(session, acme, "A", utc(2026, 4, 2, 0, 0))  # day - 89: too recent
    grade(session, globex, "C", utc(2026, 4, 2, 8))
    grade(session, late, "A", utc(2025, 1, 1))
    for c, kind in ((acme, "churned"), (globex, "renewed"), (late, "renewed")):
        outcomes_db.record_outcome(session, c, kind, day, source=OutcomeSource.CLI, today=TODAY)
    outcomes_db.record_outcome(
        session, late, "referred", date(2025, 2, 1), source=OutcomeSource.CLI, today=TODAY
    )  # 31 days after: none
    data = outcomes_db.calibration_data(session, workspace.id)  # type: ignore[arg-type]
    got = [(o.customer_id, o.kind, o.letter, o.graded_at) for o in data.observations]
    assert got == [
        (acme.id, "churned", "B", utc(2026, 4, 1, 23, 59)),
        (late.id, "renewed", "A", utc(2025, 1, 1)),
    ]
    assert (data.outcomes, data.ungraded) == (4, 2)
    assert data.observations[0].dimensions == {"value": 80.0}
    assert data.observations[0].answers == {"pays_now": "yes"}


def test_calibration_rows_stay_in_their_workspace(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    from storage import people as people_db

    other = people_db.get_or_create_workspace(session, "slack", "T2", "Other")
    theirs = customer(session, other, "Acme", None)
    grade(session, theirs, "A", utc(2025, 1, 1))
    outcomes_db.record_outcome(
        session, theirs, "churned", date(2026, 1, 1), source=OutcomeSource.CLI, today=TODAY
    )
    data = outcomes_db.calibration_data(session, workspace.id)  # type: ignore[arg-type]
    assert (data.observations, data.outcomes) == ([], 0)
    assert len(outcomes_db.calibration_data(session, other.id).observations) == 1  # type: ignore[arg-type]


def test_the_database_holds_one_row_per_fact_whoever_writes_it(
    engine: object, session: Session, workspace: Workspace, rep: Person
) -> None:
    """Recorded from the card in one session, the same renewal cannot be inserted again in
    another (the unique key, not only the look-up, holds it), and recording it there
    returns the first row."""
    from storage.engine import session_scope

    acme = customer(session, workspace, "Acme", rep)
    day = date(2026, 3, 31)
    with session_scope(engine) as other:  # type: ignore[arg-type]
        theirs = other.get(Customer, acme.id)
        assert theirs is not None
        first = outcomes_db.record_outcome(
            other, theirs, "renewed", day, source=OutcomeSource.CARD, today=TODAY
        )
    row = Outcome(
        workspace_id=workspace.id,
        customer_id=acme.id,
        kind="renewed",  # type: ignore[arg-type]
        happened_on=day,
        source="cli",
    )
    session.add(row)
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        session.commit()  # the database itself refuses a second row
    session.rollback()
    again = outcomes_db.record_outcome(
        session, acme, "renewed", day, source=OutcomeSource.CLI, today=TODAY
    )
    assert (again.created, again.outcome.id) == (False, first.outcome.id)


def test_renewals_due_are_those_passed_without_a_decision(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    """A renewal date passed with no renewal, expansion, churn or exit recorded from 60 days
    before it on is due; a future date, an archived customer, an early renewal and a churn
    answer it; a referral or a last year's renewal do not."""
    from storage import customers as customers_db

    def due_customer(name: str, renewal: date, owner: Person | None = rep) -> Customer:
        c = customer(session, workspace, name, owner)
        c.renewal_on = renewal
        session.add(c)
        session.commit()
        return c

    def record(c: Customer, kind: str, day: date) -> None:
        outcomes_db.record_outcome(session, c, kind, day, source=OutcomeSource.CLI, today=TODAY)

    due_customer("Old Renewal", date(2026, 6, 30))
    record(due_customer("Last Year Only", date(2026, 9, 30), None), "renewed", date(2025, 9, 30))
    record(due_customer("Referred", date(2026, 10, 31)), "referred", date(2026, 11, 1))
    record(due_customer("Early Renewal", date(2026, 10, 31)), "renewed", date(2026, 9, 15))
    record(due_customer("Churned", date(2026, 10, 31)), "churned", date(2026, 11, 5))
    due_customer("Next Year", date(2027, 3, 31))
    due_customer("Today", TODAY)
    customers_db.archive_customer(session, due_customer("Archived", date(2026, 5, 1)))
    due = outcomes_db.renewals_due(session, workspace.id, TODAY)  # type: ignore[arg-type]
    assert [(d.customer, d.owner, d.renewal_on) for d in due] == [
        ("Old Renewal", "Rita Rep", date(2026, 6, 30)),
        ("Last Year Only", None, date(2026, 9, 30)),
        ("Referred", "Rita Rep", date(2026, 10, 31)),
    ]
