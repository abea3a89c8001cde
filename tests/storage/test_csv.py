"""CSV import of customers and CSV export of customers and grades, in storage (the command
line's side is in tests/cli/test_importing.py)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, func
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from scoring.worksheet import GradingRules
from storage import csvio
from storage import people as people_db
from storage.errors import InvalidInput, StorageError
from storage.grades import save_grade
from storage.models import Customer, Grade, Person, Workspace
from tests.storage.helpers import customer, grade, utc


def count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Customer)).one()


def by_name(session: Session, ws: Workspace) -> dict[str, Customer]:
    session.expire_all()
    return {c.name: c for c in session.exec(select(Customer).where(
        Customer.workspace_id == ws.id))}


def run_import(session: Session, ws: Workspace, text: str | bytes, **kw: Any
               ) -> csvio.ImportReport:
    return csvio.import_customers(session, ws.id, text, **kw)  # type: ignore[arg-type]


@pytest.fixture
def bob(session: Session, workspace: Workspace) -> Person:
    return people_db.get_or_create_person(session, workspace, "U0BOB", "Bob",
                                          email="Bob.Builder@Example.com")


def test_import_creates_customers_with_every_column(session: Session, workspace: Workspace,
                                                    rep: Person, bob: Person) -> None:
    text = ("\ufeffName,OWNER,Segment,  Status ,External-Ref\r\n"
            "Acme Corp,rita@example.com,Enterprise,Customer,CRM-1\r\n"
            "Beta Ltd,bob.builder@EXAMPLE.com,SMB,prospect,\r\n"
            "Gamma GmbH,U0BOB,,former,CRM-3\r\n"
            "\r\n"
            "Delta,<@U0REP>,,,\r\n"
            "Epsilon,@U0BOB,,,\r\n"
            "Zeta,,,,\r\n")
    report = run_import(session, workspace, text.encode())
    assert report.skipped == []
    assert (report.rows, report.created, report.updated, report.committed) == (6, 6, 0, True)
    cs = by_name(session, workspace)
    acme = cs["Acme Corp"]
    assert (acme.owner_id, acme.segment, acme.status, acme.external_ref) == (
        rep.id, "Enterprise", "customer", "CRM-1")
    assert acme.normalized_name == "acme corp"
    assert (cs["Beta Ltd"].owner_id, cs["Beta Ltd"].status, cs["Beta Ltd"].external_ref) == (
        bob.id, "prospect", None)
    assert (cs["Gamma GmbH"].owner_id, cs["Gamma GmbH"].status) == (bob.id, "former")
    assert cs["Delta"].owner_id == rep.id
    assert cs["Epsilon"].owner_id == bob.id
    assert (cs["Zeta"].owner_id, cs["Zeta"].status) == (None, "customer")


def test_import_upserts_by_external_ref_then_by_name(session: Session, workspace: Workspace,
                                                     rep: Person, bob: Person) -> None:
    renamed = customer(session, workspace, "Old Name", rep, external_ref="CRM-1",
                       segment="SMB")
    by_nm = customer(session, workspace, "Acme", rep, segment="Mid")
    same = customer(session, workspace, "Same Co", rep, external_ref="CRM-9",
                    segment="SMB")
    adopt = customer(session, workspace, "No Ref Yet", None)
    text = ("name,owner,segment,status,external_ref\n"
            "New Name,,,,CRM-1\n"          # found by ref: renamed, the rest kept
            "ACME,U0BOB,Enterprise,,\n"      # found by name: owner and segment change
            "Same Co,,SMB,,CRM-9\n"          # nothing changes
            "no ref yet,,,prospect,CRM-4\n"  # found by name: gets a ref
            "Brand New,,,,CRM-5\n")
    report = run_import(session, workspace, text)
    assert report.skipped == []
    assert (report.created, report.updated, report.unchanged) == (1, 3, 1)
    assert count(session) == 5
    cs = by_name(session, workspace)
    assert cs["New Name"].id == renamed.id
    assert (cs["New Name"].segment, cs["New Name"].owner_id) == ("SMB", rep.id)
    assert cs["New Name"].normalized_name == "new name"
    # ACME already has an owner: the file's other owner is held back and listed
    assert (cs["ACME"].id, cs["ACME"].owner_id, cs["ACME"].segment) == (by_nm.id, rep.id,
                                                                         "Enterprise")
    assert report.owner_changes == [csvio.OwnerChange(3, "Acme", "rita@example.com",
                                                      "Bob.Builder@Example.com", False)]
    assert cs["Same Co"].updated_at == same.updated_at
    assert (cs["no ref yet"].id, cs["no ref yet"].status, cs["no ref yet"].external_ref) == (
        adopt.id, "prospect", "CRM-4")
    assert cs["Brand New"].external_ref == "CRM-5"
    # the same file again changes nothing
    again = run_import(session, workspace, text)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    # …until the import is told to reassign owners
    moved = run_import(session, workspace, text, reassign_owners=True)
    assert (moved.updated, [c.applied for c in moved.owner_changes]) == (1, [True])
    assert by_name(session, workspace)["ACME"].owner_id == bob.id


BAD_FILE = (
    "name,owner,status,external_ref\n"      # 1
    "Good One,rita@example.com,,R1\n"       # 2
    ",rita@example.com,,\n"                 # 3 empty name
    "Ghost Co,nobody@example.com,,\n"       # 4 unknown owner
    "Status Co,,vip,\n"                     # 5 bad status
    "good one,,,\n"                         # 6 duplicate name (of line 2)
    "Other,,,R1\n"                          # 7 duplicate external_ref (of line 2)
    '"Multi\nLine",,,\n'                    # 8-9 control character (a newline) in the name
    "Bidi \u202eoC,,,\n"                    # 10 bidi override
    "Too,many,,,values,here\n"              # 11 too many values
    "Taken,,,R7\n"                          # 12 Taken exists with ref R8
    "Good Two,U0REP,customer,\n"            # 13
    "Rename Me,,,R9\n"                      # 14 R9 is "Existing"; "Rename Me" is someone else
)


def test_bad_rows_are_reported_with_line_numbers_and_the_good_ones_imported(
        session: Session, workspace: Workspace, rep: Person) -> None:
    customer(session, workspace, "Taken", rep, external_ref="R8")
    customer(session, workspace, "Existing", rep, external_ref="R9")
    customer(session, workspace, "Rename Me", rep)
    report = run_import(session, workspace, BAD_FILE)
    reasons = {s.line: s.reason for s in report.skipped}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 10, 11, 12, 14]
    assert "cannot be empty" in reasons[3]
    assert "unknown owner 'nobody@example.com'" in reasons[4]
    assert "unknown status 'vip'" in reasons[5]
    assert reasons[6] == "duplicate of line 2 (same name)."
    assert reasons[7] == "duplicate of line 2 (same external_ref)."
    assert "U+000A" in reasons[8]
    assert "U+202E" in reasons[10]
    assert "6 values but the header has 4 columns" in reasons[11]
    assert "already exists with another external_ref ('R8')" in reasons[12]
    assert "cannot rename 'Existing'" in reasons[14]
    assert {s.line: s.name for s in report.skipped}[4] == "Ghost Co"
    assert (report.rows, report.created, report.committed) == (12, 2, True)
    assert set(by_name(session, workspace)) == {"Taken", "Existing", "Rename Me", "Good One",
                                                "Good Two"}


def test_all_or_nothing_imports_nothing_when_a_row_is_bad(
        session: Session, workspace: Workspace, rep: Person, engine: Engine) -> None:
    customer(session, workspace, "Taken", rep, external_ref="R8")
    customer(session, workspace, "Existing", rep, external_ref="R9")
    customer(session, workspace, "Rename Me", rep)
    report = run_import(session, workspace, BAD_FILE, all_or_nothing=True)
    assert not report.committed
    assert len(report.skipped) == 10
    assert report.created == report.updated == 0
    with Session(engine) as fresh:
        assert count(fresh) == 3
    good = run_import(session, workspace, "name\nFine\nAlso Fine\n", all_or_nothing=True)
    assert good.committed
    assert good.created == 2


def test_a_customer_updated_twice_in_one_file_is_reported(session: Session,
                                                          workspace: Workspace,
                                                          rep: Person) -> None:
    customer(session, workspace, "Foo", rep, external_ref="R1")
    report = run_import(session, workspace, "name,external_ref\nBar,R1\nFoo,\n")
    assert [(s.line, s.reason) for s in report.skipped] == [
        (3, "updates the same customer ('Foo') as line 2.")]


class FailOn:
    """Make the database fail on the ``n``-th statement that starts with ``prefix``."""

    def __init__(self, prefix: str, n: int) -> None:
        self.prefix, self.n, self.seen = prefix, n, 0

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        if statement.lstrip().upper().startswith(self.prefix):
            self.seen += 1
            if self.seen == self.n:
                raise OperationalError(statement, None, OSError("disk full (simulated)"))


@pytest.mark.parametrize(("prefix", "n"), [("INSERT INTO CUSTOMER", 2),
                                           ("UPDATE CUSTOMER", 1)])
def test_nothing_is_half_imported_when_the_database_fails(
        session: Session, workspace: Workspace, rep: Person, engine: Engine, prefix: str,
        n: int) -> None:
    existing = customer(session, workspace, "Existing", rep, segment="SMB")
    rows = [f"Customer {i:04d},,Enterprise" for i in range(2 * csvio.FLUSH_EVERY + 200)]
    text = "name,owner,segment\nExisting,,Mid\n" + "\n".join(rows) + "\n"
    fail = FailOn(prefix, n)
    event.listen(engine, "before_cursor_execute", fail)
    try:
        with pytest.raises(StorageError, match=r"nothing was imported.*disk full"):
            run_import(session, workspace, text)
    finally:
        event.remove(engine, "before_cursor_execute", fail)
    assert fail.seen == n  # it failed where we wanted, after earlier writes had gone in
    with Session(engine) as fresh:
        assert count(fresh) == 1
        assert fresh.get(Customer, existing.id).segment == "SMB"  # type: ignore[union-attr]
    report = run_import(session, workspace, text)  # and it works once the database does
    assert (report.created, report.updated) == (len(rows), 1)


@pytest.mark.parametrize(("data", "message"), [
    (b"", "The file is empty"),
    (b"\n\n", "The file is empty"),
    (b"Acme,rita@example.com\n", 'no column could be read as the name'),
    (b"name,owner,Name\nAcme,,\n", "header names name more than once"),
    ("name\nCaf\u00e9\n".encode("latin-1"), r"not UTF-8 \(byte 0xE9 at offset 8\)"),
    (b'"broken"header,owner\nAcme,\n', "line 1: ',' expected after '\"'"),
])
def test_files_that_cannot_be_read(sqlite_url: str, data: bytes, message: str) -> None:
    from storage.engine import make_engine, session_scope, upgrade

    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        with session_scope(engine) as s:
            ws = people_db.get_or_create_workspace(s, "cli", "local")
            with pytest.raises(InvalidInput, match=message):
                csvio.import_customers(s, ws.id, data)  # type: ignore[arg-type]
            assert count(s) == 0
    finally:
        engine.dispose()


def test_unknown_columns_are_ignored_and_reported(session: Session,
                                                  workspace: Workspace) -> None:
    report = run_import(session, workspace, "Name,Revenue,Notes\nAcme,1000,hi\nA\x00B,,\n")
    assert report.ignored_columns == ["Revenue", "Notes"]
    assert report.created == 1
    assert [(s.line, "U+0000" in s.reason) for s in report.skipped] == [(3, True)]


FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1+2", "-3+4", "@SUM(A1:A9)",
            "\tTabbed", "=cmd|' /C calc'!A0"]


def test_export_escapes_formulas_and_imports_back_unchanged(
        session: Session, workspace: Workspace, rep: Person) -> None:
    customer(session, workspace, FORMULAS[0], rep, segment=FORMULAS[5], external_ref="-7")
    for name in FORMULAS[1:4]:
        customer(session, workspace, name, rep)
    customer(session, workspace, "Plain 'Quoted' Co", rep, segment="O'Brien")
    # names that already start with a quote: exported so that import gives them back
    for name in ("'=quoted", "'-1", "'Tis the Season Co"):
        customer(session, workspace, name, rep)
    out = io.StringIO()
    assert csvio.export_customers(session, workspace.id, out) == 8  # type: ignore[arg-type]
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["name", "owner", "segment", "status", "external_ref", "renewal_date"]
    cells = [c for r in rows[1:] for c in r]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t")]
    by_cell = {r[0]: r for r in rows[1:]}
    assert by_cell["'" + FORMULAS[0]] == ["'" + FORMULAS[0], "rita@example.com",
                                          "'" + FORMULAS[5], "customer", "'-7", ""]
    assert {"'+1+2", "'-3+4", "'@SUM(A1:A9)"} <= set(by_cell)
    assert by_cell["Plain 'Quoted' Co"][2] == "O'Brien"  # other quotes are left alone
    assert {"''=quoted", "''-1", "''Tis the Season Co"} <= set(by_cell)
    report = run_import(session, workspace, out.getvalue())
    assert report.skipped == []
    assert (report.created, report.updated, report.unchanged) == (0, 0, 8)
    assert count(session) == 8
    # a quote that is part of a name someone typed into a spreadsheet stays in it
    report = run_import(session, workspace, "name\n'Twas Ltd\n")
    assert report.created == 1
    assert "'Twas Ltd" in by_name(session, workspace)


def test_a_huge_cell_makes_its_row_bad_and_the_rest_is_imported(
        session: Session, workspace: Workspace) -> None:
    """csv would stop the whole import at a cell over its own limit (131,072 characters),
    mid-record; the cell is read whole instead and only its row refused."""
    text = ("name,segment,notes\nGood One,x,\n" + "L" * 200_000 + ",y,\n"
            + 'Multi Line,y,"' + "M" * 150_000 + '\nstill the same cell"\nGood Two,z,\n')
    report = run_import(session, workspace, text)
    assert report.created == 2
    assert [(s.line, s.reason) for s in report.skipped] == [
        (3, "a value is 200,000 characters long (at most 100,000)."),
        (4, "a value is 150,020 characters long (at most 100,000)."),
    ]
    assert set(by_name(session, workspace)) == {"Good One", "Good Two"}


@pytest.mark.parametrize("broken", [
    '"Beta Co,y\nGamma,z\nDelta,z\n',                            # a quote never closed
    'Acme,"Met them.\nThey said "call back".\nBudget OK"\nGamma,z\n',  # inner quotes
])
def test_broken_quoting_refuses_the_file_naming_the_line(session: Session,
                                                         workspace: Workspace,
                                                         broken: str) -> None:
    """Past broken quoting, where the next record starts is a guess: guessing would drop
    rows or invent customers (a line of a note becoming a name), so nothing is imported."""
    with pytest.raises(InvalidInput, match=r"^line 3: .* the quoting is broken there, so the "
                                           r"file cannot be read past it; nothing was imported"):
        run_import(session, workspace, "name,segment\nGood One,x\n" + broken)
    assert count(session) == 0


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_and_tab_separated_files(session: Session, workspace: Workspace,
                                          bob: Person, sep: str) -> None:
    """What Excel saves as CSV where the decimal separator is a comma."""
    text = sep.join(["Name", "Owner", "Segment"]) + "\n" + \
        sep.join(["Müller, Söhne & Co", "bob.builder@example.com", "Mid"]) + "\n"
    report = run_import(session, workspace, text)
    assert (report.created, report.skipped) == (1, [])
    c = by_name(session, workspace)["Müller, Söhne & Co"]
    assert (c.owner_id, c.segment) == (bob.id, "Mid")


def test_an_email_two_people_share_is_exported_as_the_user_id(
        session: Session, workspace: Workspace, rep: Person) -> None:
    twin = people_db.get_or_create_person(session, workspace, "U0TWIN", "Twin",
                                          email="RITA@example.com ")
    customer(session, workspace, "Shared Mail Co", twin)
    customer(session, workspace, "Rita's Co", rep)
    out = io.StringIO()
    csvio.export_customers(session, workspace.id, out)  # type: ignore[arg-type]
    owners = {r[0]: r[1] for r in list(csv.reader(io.StringIO(out.getvalue())))[1:]}
    assert owners == {"Shared Mail Co": "U0TWIN", "Rita's Co": rep.external_id}
    report = run_import(session, workspace, out.getvalue())
    assert (report.skipped, report.unchanged) == ([], 2)


NO_OVERRIDE = [""] * 5  # override_letter … override_reason: none in force


def test_export_grades(session: Session, workspace: Workspace, rep: Person,
                       bob: Person) -> None:
    acme = customer(session, workspace, "Acme", rep)
    beta = customer(session, workspace, "-Beta", None)
    customer(session, workspace, "Never Graded", rep)
    grade(session, acme, "C", utc(2025, 12, 1, 10, 30), grader=bob, cadence="quarterly",
          period="2025-Q4", total=55.5)
    grade(session, acme, "A", utc(2026, 2, 1, 9), grader=rep)
    grade(session, beta, "B", utc(2026, 3, 1), grader=bob)
    # a provisional pulse with 9 answers carried from the annual before it
    pulse = Grade(workspace_id=beta.workspace_id, customer_id=beta.id,
                  previous_grade_id=beta.latest_grade_id, grader_id=bob.id,
                  cadence="quarterly", period="2026-Q2", worksheet_id="default",
                  worksheet_version=2, total=72.25, letter="B", recommendation="maintain",
                  profile="good_at_it", coverage=0.857, provisional=True,
                  carrier="good_at_it",
                  dimensions={"others": None, "skills": 90.0, "value": 55.5, "fit": 70.0,
                              "outcomes": 80.0},
                  sources={"fresh": 5, "carried": {f"q{i}": {"at": "2026-03-01T00:00:00+00:00",
                                                            "cadence": "annual"}
                                                   for i in range(9)}},
                  created_at=utc(2026, 5, 4, 16, 45, 30))
    save_grade(session, pulse, beta)
    out = io.StringIO()
    assert csvio.export_grades(session, workspace.id, out,  # type: ignore[arg-type]
                               now=utc(2026, 6, 1)) == 4
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    dims = ["dim_others", "dim_skills", "dim_value", "dim_fit", "dim_outcomes"]
    assert rows == [
        [*csvio.GRADE_COLUMNS, *dims],
        ["'-Beta", "", "B", "70", "maintain", "good_for_you", "annual", "2026",
         "2026-03-01 00:00:00", "Bob.Builder@Example.com", "1", "no", "no", "0", "", "default",
         "1", *NO_OVERRIDE, "", "", "80", "", ""],
        ["'-Beta", "", "B", "72.25", "maintain", "good_at_it", "quarterly", "2026-Q2",
         "2026-05-04 16:45:30", "Bob.Builder@Example.com", "0.857", "yes", "no", "9", "good_at_it",
         "default", "2", *NO_OVERRIDE, "", "90", "55.5", "70", "80"],
        ["Acme", "rita@example.com", "C", "55.5", "maintain", "good_for_you", "quarterly",
         "2025-Q4", "2025-12-01 10:30:00", "Bob.Builder@Example.com", "1", "no", "no", "0", "",
         "default", "1", *NO_OVERRIDE, "", "", "80", "", ""],
        ["Acme", "rita@example.com", "A", "85", "maintain", "good_for_you", "annual", "2026",
         "2026-02-01 09:00:00", "rita@example.com", "1", "no", "no", "0", "", "default", "1",
         *NO_OVERRIDE, "", "", "80", "", ""],
    ]
    # a spreadsheet's date: the graded_at column parses as a plain date and time
    assert datetime.strptime(rows[2][8], "%Y-%m-%d %H:%M:%S") == datetime(2026, 5, 4, 16, 45,
                                                                          30)
    # stale: older than the worksheet's stale_after_days (456 by default) on the day of export
    later = io.StringIO()
    csvio.export_grades(session, workspace.id, later, now=utc(2027, 3, 3))  # type: ignore[arg-type]
    stale = {(r[0], r[2]): r[12] for r in csv.reader(io.StringIO(later.getvalue()))}
    assert stale[("Acme", "C")] == "yes"  # 2025-12-01: 457 days before
    assert stale[("Acme", "A")] == stale[("'-Beta", "B")] == "no"
    short = io.StringIO()
    csvio.export_grades(session, workspace.id, short, now=utc(2026, 6, 1),  # type: ignore[arg-type]
                        rules=GradingRules(stale_after_days=100))
    assert [r[12] for r in csv.reader(io.StringIO(short.getvalue()))][1:] == [
        "no", "no", "yes", "yes"]
    only_fit = io.StringIO()
    csvio.export_grades(session, workspace.id, only_fit,  # type: ignore[arg-type]
                        dimension_ids=["fit"])
    assert next(csv.reader(io.StringIO(only_fit.getvalue())))[-1] == "dim_fit"
    latest = io.StringIO()
    assert csvio.export_grades(session, workspace.id, latest,  # type: ignore[arg-type]
                               latest_only=True) == 2
    assert [r[3] for r in csv.reader(io.StringIO(latest.getvalue()))][1:] == ["72.25", "85"]
    other = people_db.get_or_create_workspace(session, "slack", "T0OTHER")
    assert csvio.export_grades(session, other.id, io.StringIO()) == 0  # type: ignore[arg-type]
