"""Workspaces and people: created once, found by id, email or name, roles and settings."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from storage import people as people_db
from storage.errors import InvalidInput, NotFound
from storage.models import Person, Role, Workspace
from tests.storage.helpers import utc


def test_workspace_and_person_are_created_once(session: Session, workspace: Workspace,
                                               rep: Person) -> None:
    again = people_db.get_or_create_workspace(session, "cli", "local", "Other name")
    assert again.id == workspace.id
    assert people_db.find_workspace(session, "cli", "local") == workspace
    assert people_db.find_workspace(session, "slack", "local") is None
    same = people_db.get_or_create_person(session, workspace, "U0REP", "Rita R.",
                                          timezone="Europe/Paris")
    assert same.id == rep.id
    assert (same.display_name, same.email, same.timezone) == (
        "Rita R.", "rita@example.com", "Europe/Paris")
    assert [p.id for p in people_db.people_of(session, workspace.id)] == [rep.id]  # type: ignore
    with pytest.raises(NotFound):
        people_db.get_person(session, 4242)


def test_a_new_workspace_starts_in_the_given_time_zone(session: Session,
                                                      workspace: Workspace) -> None:
    ws = people_db.get_or_create_workspace(session, "slack", "T0PARIS", "Paris",
                                           timezone="Europe/Paris")
    assert ws.get_settings().timezone == "Europe/Paris"
    # an existing workspace keeps its own setting (admins change it in Settings)
    again = people_db.get_or_create_workspace(session, "slack", "T0PARIS", timezone="Asia/Tokyo")
    assert (again.id, again.get_settings().timezone) == (ws.id, "Europe/Paris")
    assert workspace.get_settings().timezone == "UTC"  # the default


def test_find_person_by_id_email_or_name(session: Session, workspace: Workspace) -> None:
    p = people_db.get_or_create_person(session, workspace, "U0ALICE", "Alice Martin",
                                       email="Alice.Martin@Example.com")
    ws = workspace.id
    for key in ("U0ALICE", "@U0ALICE", "Alice.Martin@Example.com", "alice.martin@example.com",
                "ALICE.MARTIN@EXAMPLE.COM", "alice martin", " Alice Martin "):
        found = people_db.find_person(session, ws, key)  # type: ignore[arg-type]
        assert found is not None, key
        assert found.id == p.id, key
    assert people_db.find_person(session, ws, "bob@example.com") is None  # type: ignore


def test_roles(session: Session, workspace: Workspace, rep: Person) -> None:
    boss = people_db.get_or_create_person(session, workspace, "U0BOSS", "Boss")
    people_db.set_role(session, boss, "manager")
    people_db.set_role(session, rep, Role.REP, boss)
    assert (boss.role, rep.manager_id) == (Role.MANAGER, boss.id)
    assert [p.id for p in people_db.team_of(session, boss)] == [rep.id]
    with pytest.raises(InvalidInput, match="Unknown role"):
        people_db.set_role(session, rep, "overlord")
    with pytest.raises(InvalidInput, match="own manager"):
        people_db.set_role(session, boss, Role.MANAGER, boss)


def test_workspace_settings_are_validated(session: Session, workspace: Workspace) -> None:
    settings = people_db.update_workspace_settings(session, workspace, timezone="Asia/Tokyo",
                                                   annual_month=4)
    assert settings.annual_month == 4
    fresh = session.get(Workspace, workspace.id, populate_existing=True)
    assert fresh is not None
    assert fresh.get_settings().timezone == "Asia/Tokyo"
    with pytest.raises(InvalidInput) as err:
        people_db.update_workspace_settings(session, workspace, annual_month=13)
    assert str(err.value) == ("Invalid setting annual_month: Input should be less than or "
                              "equal to 12")
    assert workspace.get_settings().annual_month == 4
    for zone in ("Mars/Olympus", "../../etc/passwd", ""):
        with pytest.raises(InvalidInput, match="unknown time zone"):
            people_db.update_workspace_settings(session, workspace, timezone=zone)
    assert workspace.get_settings().timezone == "Asia/Tokyo"


def test_set_away(session: Session, rep: Person) -> None:
    people_db.set_away(session, rep, utc(2026, 8, 31))
    fresh = session.get(Person, rep.id, populate_existing=True)
    assert fresh is not None
    assert fresh.away_until == utc(2026, 8, 31)


def test_a_profile_value_that_cannot_be_stored_is_left_out(session: Session,
                                                          workspace: Workspace) -> None:
    """An email longer than the column, or a time zone this machine does not know, must not
    keep someone from using the bot (PostgreSQL would refuse the row)."""
    p = people_db.get_or_create_person(session, workspace, "U0ODD", "Odd",
                                       email="a" * 300 + "@x.com", timezone="Mars/Olympus")
    assert (p.email, p.timezone) == (None, None)
    p = people_db.get_or_create_person(session, workspace, "U0ODD", "Odd",
                                       email=" odd@example.com ", timezone="Europe/Paris")
    assert (p.email, p.timezone) == ("odd@example.com", "Europe/Paris")
    p = people_db.get_or_create_person(session, workspace, "U0ODD", "Odd", timezone="Z" * 80)
    assert p.timezone == "Europe/Paris"  # kept, not replaced by an unusable one
