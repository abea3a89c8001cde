"""People imported before first contact: the CSV import, and matching the email-only person
to their Slack/Teams identity when they first use the bot — one person, never two."""

from __future__ import annotations

from sqlmodel import Session, select

from storage import csvio, people_csv
from storage import people as people_db
from storage.models import Customer, Person, Role, Workspace


def everyone(session: Session, ws: Workspace) -> dict[str, Person]:
    session.expire_all()
    return {p.email or p.external_id: p for p in session.exec(
        select(Person).where(Person.workspace_id == ws.id))}


TEAM = ("name,email,role,manager,user_id,timezone\n"
        "Mia Manager,mia@example.com,manager,,,Europe/Berlin\n"
        "Ray Rep,Ray@Example.com,,mia@example.com,,\n"
        "Sam Slack,sam@example.com,rep,mia@example.com,U0SAM,\n")


def test_import_people_known_only_by_email(session: Session, workspace: Workspace) -> None:
    report = people_csv.import_people(session, workspace, TEAM)
    assert (report.created, report.skipped, report.pending) == (3, [], 2)
    people = everyone(session, workspace)
    mia, ray, sam = people["mia@example.com"], people["Ray@Example.com"], people["sam@example.com"]
    assert people_db.is_pending(mia)
    assert (mia.role, mia.timezone, mia.manager_id) == (Role.MANAGER, "Europe/Berlin", None)
    assert (ray.role, ray.manager_id) == (Role.REP, mia.id)
    assert ray.external_id == "email:ray@example.com"
    assert (sam.external_id, sam.manager_id) == ("U0SAM", mia.id)
    # they can be found (set-role), own customers, and the same file again changes nothing
    assert people_db.find_person(session, workspace.id, "RAY@example.com") == ray  # type: ignore[arg-type]
    owned = csvio.import_customers(session, workspace.id, "name,owner\nAcme,ray@example.com\n")  # type: ignore[arg-type]
    assert owned.created == 1
    again = people_csv.import_people(session, workspace, TEAM)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_every_problem_of_every_bad_row_is_reported(session: Session,
                                                    workspace: Workspace) -> None:
    text = ("name,email,role,manager,timezone\n"
            "Ok,ok@example.com,rep,,\n"
            "Bad,not-an-email,boss,ok@example.com,Mars/Base\n"   # 3 problems
            "Nobody,,rep,,\n"                                    # neither email nor id
            "Self,self@example.com,rep,self@example.com,\n"      # own manager
            "Again,OK@example.com,rep,,\n"                       # duplicate of line 2
            "Orphan,orphan@example.com,rep,ghost@example.com,\n")
    report = people_csv.import_people(session, workspace, text)
    kinds = {s.line: [p.kind for p in s.problems] for s in report.skipped}
    assert kinds == {3: ["bad email", "unknown role", "unknown time zone"],
                     4: ["no email or user id"], 5: ["own manager"],
                     6: ["duplicate in the file"], 7: ["unknown manager"]}
    assert report.created == 1
    groups = {g.kind: (g.count, g.lines) for g in report.problems}
    assert groups["bad email"] == (1, "3")


def test_first_contact_claims_the_imported_person(session: Session,
                                                  workspace: Workspace) -> None:
    people_csv.import_people(session, workspace, TEAM)
    ray = everyone(session, workspace)["Ray@Example.com"]
    csvio.import_customers(session, workspace.id, "name,owner\nAcme,ray@example.com\n")  # type: ignore[arg-type]
    # Slack/Teams: a new user id whose profile email is Ray's (any case) is Ray
    seen = people_db.get_or_create_person(session, workspace, "U0RAY", "ray",
                                          email="RAY@example.com", timezone="America/Denver")
    assert seen.id == ray.id
    assert seen.display_name == "Ray Rep"  # as imported, not the platform's handle
    assert (seen.external_id, seen.timezone, seen.manager_id) == ("U0RAY", "America/Denver",
                                                                  ray.manager_id)
    assert len(everyone(session, workspace)) == 3
    acme = session.exec(select(Customer)).one()
    assert acme.owner_id == ray.id


def test_someone_first_seen_without_an_email_is_merged_when_it_arrives(
        session: Session, workspace: Workspace) -> None:
    """Slack's first request has no email: the person is created by user id, and users.info
    brings the email a moment later — then the imported row is folded in."""
    people_csv.import_people(session, workspace, TEAM)
    before = everyone(session, workspace)
    mia, ray = before["mia@example.com"], before["Ray@Example.com"]
    csvio.import_customers(session, workspace.id, "name,owner\nAcme,mia@example.com\n")  # type: ignore[arg-type]
    new = people_db.get_or_create_person(session, workspace, "U0MIA", "")
    assert new.id != mia.id
    merged = people_db.get_or_create_person(session, workspace, "U0MIA", "Mia M.",
                                            email="mia@example.com")
    assert merged.id == new.id
    people = everyone(session, workspace)
    assert len(people) == 3  # the stand-in is gone
    assert (merged.role, merged.timezone, merged.display_name) == (Role.MANAGER,
                                                                   "Europe/Berlin",
                                                                   "Mia Manager")
    assert people["Ray@Example.com"].manager_id == merged.id  # reports moved over
    assert session.exec(select(Customer)).one().owner_id == merged.id
    assert ray.id in {p.id for p in people.values()}


def test_a_known_user_id_in_the_file_is_updated_not_duplicated(session: Session,
                                                               workspace: Workspace) -> None:
    existing = people_db.get_or_create_person(session, workspace, "U0SAM", "sam")
    report = people_csv.import_people(session, workspace, TEAM)
    assert (report.created, report.updated) == (2, 1)
    sam = everyone(session, workspace)["sam@example.com"]
    assert (sam.id, sam.display_name, sam.email) == (existing.id, "Sam Slack", "sam@example.com")


def test_preview_writes_nothing(session: Session, workspace: Workspace) -> None:
    report = people_csv.import_people(session, workspace, TEAM, preview=True)
    assert (report.created, report.committed) == (3, False)
    assert everyone(session, workspace) == {}
