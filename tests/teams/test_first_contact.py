"""Teams: someone imported by email before they installed the app is matched, on their first
message, through the member's email (or UPN) from the Teams members API — one person, with
the imported role and customers, and from then on reachable by reminders."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from bot.reminders.plan import not_reachable, plan_workspace
from storage import csvio, people_csv
from storage import people as people_db
from storage.engine import session_scope
from storage.models import Customer, Person
from tests.teams.conftest import TENANT, USER, Env

MONDAY = datetime(2027, 1, 4, 18, tzinfo=UTC)


def test_an_imported_person_is_matched_by_their_teams_email(env: Env) -> None:
    with session_scope(env.sv.db) as s:
        ws = people_db.get_or_create_workspace(s, "teams", TENANT)
        people_csv.import_people(s, ws, "name,email,role\nRita Rep,rita@contoso.com,manager\n")
        csvio.import_customers(s, ws.id, "name,owner\nContoso,rita@contoso.com\n")  # type: ignore[arg-type]
        [gap] = not_reachable(s, ws, MONDAY)
        assert (gap.person_name, gap.why) == ("Rita Rep", "has not installed the Teams app yet")
        assert plan_workspace(s, ws, MONDAY) == []
    env.connector.members[f"29:1{USER}"] = {"id": f"29:1{USER}", "name": "Rita Rep",
                                            "aadObjectId": USER,
                                            "userPrincipalName": "Rita@Contoso.com"}
    rep = env.rep()
    rep.ask("help")
    rep.ask("help")
    assert env.connector.member_gets == [f"29:1{USER}"]  # asked once, not per message
    with session_scope(env.sv.db) as s:
        people = s.exec(select(Person)).all()
        assert [(p.external_id, p.role) for p in people] == [(USER, "manager")]
        assert s.exec(select(Customer)).one().owner_id == people[0].id
        assert people[0].conversation_ref is not None
        ws = people_db.find_workspace(s, "teams", TENANT)
        assert not_reachable(s, ws, MONDAY) == []  # type: ignore[arg-type]
        [planned] = plan_workspace(s, ws, MONDAY)  # type: ignore[arg-type]
        assert [c.name for c in planned.customers] == ["Contoso"]


def test_without_a_member_email_a_new_teams_user_is_just_themselves(env: Env) -> None:
    rep = env.rep()
    rep.ask("help")
    with session_scope(env.sv.db) as s:
        assert [p.external_id for p in s.exec(select(Person)).all()] == [USER]
