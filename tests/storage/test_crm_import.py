"""Customer import of real CRM exports: which columns are which (HubSpot, Salesforce,
Pipedrive, ``--map``), CRM statuses, problems grouped by reason, rejected rows that import
again, owners never changed silently, look-alike names."""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import Session, select

from storage import crm, csvio
from storage import people as people_db
from storage.errors import InvalidInput
from storage.import_report import group_problems, line_ranges, write_rejected
from storage.models import Customer, Person, Workspace


@pytest.fixture
def owners(session: Session, workspace: Workspace) -> dict[str, Person]:
    return {n: people_db.get_or_create_person(session, workspace, f"U0{n.upper()}", n.title(),
                                              email=f"{n}@example.com")
            for n in ("ana", "ben")}


def run(session: Session, ws: Workspace, text: str, **kw: object) -> csvio.ImportReport:
    return csvio.import_customers(session, ws.id, text, **kw)  # type: ignore[arg-type]


def names(session: Session) -> dict[str, Customer]:
    session.expire_all()
    return {c.name: c for c in session.exec(select(Customer)).all()}


@pytest.mark.parametrize(("header", "row", "profile"), [
    ("Company name,Company owner,Lifecycle Stage,Industry,Record ID",
     "Acme,Ana,Customer,Tech,9001", "HubSpot export"),
    ("Account Name,Account Owner Email,Type,Industry,Account ID",
     "Acme,ana@example.com,Customer - Direct,Tech,9001", "Salesforce export"),
    ("Organization - Name,Organization - Owner,Organization - Label,Organization - ID",
     "Acme,ana@example.com,Customer,9001", "Pipedrive export"),
])
def test_crm_exports_are_read_without_flags(session: Session, workspace: Workspace,
                                            owners: dict[str, Person], header: str, row: str,
                                            profile: str) -> None:
    report = run(session, workspace, f"{header}\n{row}\n")
    assert report.mapping.startswith(f"{profile}: name ← ")
    assert (report.created, report.skipped) == (1, [])
    acme = names(session)["Acme"]
    assert (acme.owner_id, acme.status, acme.external_ref) == (owners["ana"].id, "customer",
                                                               "9001")


def test_map_and_status_flags(session: Session, workspace: Workspace,
                              owners: dict[str, Person]) -> None:
    text = "Firm,Rep,Stage\nAcme,ben@example.com,Signed\nBeta,ana@example.com,Talking\n"
    with pytest.raises(InvalidInput, match='--map name="Your Name Column"'):
        run(session, workspace, text)
    report = run(session, workspace, text, columns={"name": "Firm", "owner": "rep",
                                                    "status": "STAGE"},
                 statuses=crm.parse_status_map(["Signed=customer", "Talking=prospect"]))
    assert report.mapping == ('your --map: name ← "Firm", owner ← "Rep", status ← "Stage"')
    assert {n: c.status for n, c in names(session).items()} == {"Acme": "customer",
                                                                "Beta": "prospect"}
    with pytest.raises(InvalidInput, match="the file has no such column"):
        run(session, workspace, text, columns={"name": "Company"})
    with pytest.raises(InvalidInput, match="unknown field 'colour'"):
        run(session, workspace, text, columns={"colour": "Firm"})
    with pytest.raises(InvalidInput, match="is not prospect, customer or former"):
        crm.parse_status_map(["Signed=vip"])
    with pytest.raises(InvalidInput, match='use field="Column name"'):
        crm.parse_field_map(["name"])


def test_one_reason_for_forty_rows_is_one_line_of_the_report(session: Session,
                                                              workspace: Workspace) -> None:
    rows = "".join(f"Co {i},ghost@example.com,\n" for i in range(39))
    report = run(session, workspace, "name,owner,status\n" + rows + "Ok,,vip\n")
    [owner, status] = report.problems
    assert (owner.kind, owner.count, owner.lines) == ("unknown owner", 39, "2–40")
    assert len(owner.examples) == 1  # the same message 39 times is one example
    assert (status.kind, status.count, status.lines) == ("unknown status", 1, "41")


def test_rejected_rows_are_fixed_and_imported_again(session: Session, workspace: Workspace,
                                                    owners: dict[str, Person]) -> None:
    text = ("Account Name,Account Owner Email,Type\n"
            "Good,ana@example.com,Prospect\n"
            "Bad Owner,nobody@example.com,Weird\n")
    report = run(session, workspace, text)
    out = io.StringIO()
    write_rejected(out, report.header, report.skipped)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [["Account Name", "Account Owner Email", "Type", "reason"],
                    ["Bad Owner", "nobody@example.com", "Weird", report.skipped[0].reason]]
    rows[1][1:3] = ["ben@example.com", "Customer - Channel"]
    fixed = io.StringIO()
    csv.writer(fixed).writerows(rows)
    again = run(session, workspace, fixed.getvalue())
    assert (again.created, again.skipped, again.ignored_columns) == (1, [], [])
    assert names(session)["Bad Owner"].owner_id == owners["ben"].id


def test_an_owner_is_never_changed_silently(session: Session, workspace: Workspace,
                                           owners: dict[str, Person]) -> None:
    run(session, workspace, "name,owner\nAcme,ana@example.com\nFree,\n")
    report = run(session, workspace, "name,owner\nAcme,ben@example.com\nFree,ben@example.com\n")
    assert [(c.customer, c.current, c.new, c.applied) for c in report.owner_changes] == [
        ("Acme", "ana@example.com", "ben@example.com", False)]
    got = names(session)
    assert got["Acme"].owner_id == owners["ana"].id
    assert got["Free"].owner_id == owners["ben"].id  # it had none: no change to list


def test_look_alike_names_are_warned_about(session: Session, workspace: Workspace) -> None:
    run(session, workspace, "name\nGlobex\nInitech\n")
    report = run(session, workspace, "name\nGlobex Corporation\nInitech Inc.\nInitrode\n"
                                     "Umbrella\nUmbrella GmbH\n")
    assert report.created == 5
    assert report.warnings == [
        "line 2: 'Globex Corporation' looks like an existing customer 'Globex' (imported as a "
        "separate customer; use the same name to update it instead).",
        "line 3: 'Initech Inc.' looks like an existing customer 'Initech' (imported as a "
        "separate customer; use the same name to update it instead).",
        "line 6: 'Umbrella GmbH' looks like line 5 'Umbrella' (imported as a separate "
        "customer; use the same name to update it instead)."]


def test_line_ranges_and_grouping() -> None:
    assert line_ranges([7, 3, 4, 5, 9, 10, 4]) == "3–5, 7, 9–10"
    assert line_ranges(range(2, 200, 2), limit=3) == "2, 4, 6, … (96 more)"
    assert group_problems([]) == []
