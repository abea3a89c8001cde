"""``gradebot people list|set-role``: who is a rep, manager or admin, set from the command
line; refusals are one line and change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app as cli
from storage import people as people_db
from storage.engine import session_scope
from storage.models import Person

W = ("--workspace", "slack:T1")


@pytest.fixture
def org(cli_db: Engine) -> Engine:
    with session_scope(cli_db) as s:
        ws = people_db.get_or_create_workspace(s, "slack", "T1", "Acme Sales")
        for uid, name in (("U1", "Bob Boss"), ("U2", "Carl Rep"), ("U3", "Dana Rep")):
            p = people_db.get_or_create_person(s, ws, uid, name)
            if uid == "U3":
                p.email = "dana@example.com"
                s.add(p)
                s.commit()
    return cli_db


def run(*args: str) -> Any:
    return CliRunner().invoke(cli.app, ["people", *args])


def roles(engine: Any) -> dict[str, tuple[str, str | None]]:
    with session_scope(engine) as s:
        people = s.exec(select(Person)).all()
        names = {p.id: p.display_name for p in people}
        return {p.display_name: (p.role, names.get(p.manager_id)) for p in people}


def test_make_a_manager_and_give_them_reports(org: Any) -> None:
    r = run("set-role", "U1", "manager", *W)
    assert r.exit_code == 0, r.output
    assert r.output.strip() == "✓ Bob Boss is now a manager."
    r = run("set-role", "Carl Rep", "rep", "--manager", "U1", *W)
    assert r.output.strip() == "✓ Carl Rep is now a rep reporting to Bob Boss."
    r = run("set-role", "dana@example.com", "rep", "--manager", "bob boss", *W)
    assert r.exit_code == 0, r.output
    assert roles(org) == {"Bob Boss": ("manager", None), "Carl Rep": ("rep", "Bob Boss"),
                          "Dana Rep": ("rep", "Bob Boss")}
    listed = run("list", *W)
    assert listed.exit_code == 0, listed.output
    carl = next(line for line in listed.output.splitlines() if "Carl Rep" in line)
    assert [cell.strip() for cell in carl.strip("│ ").split("│")] == [
        "U2", "Carl Rep", "", "rep", "Bob Boss"]


@pytest.mark.parametrize(("args", "message"), [
    (("set-role", "U2", "overlord"), "Unknown role 'overlord': use rep, manager or admin."),
    (("set-role", "U9", "rep"), "No person 'U9' in this workspace"),
    (("set-role", "U2", "rep", "--manager", "nobody"), "No person 'nobody' in this workspace"),
    (("set-role", "U2", "manager", "--manager", "U2"), "A person cannot be their own manager."),
])
def test_refusals_change_nothing(org: Any, args: tuple[str, ...], message: str) -> None:
    before = roles(org)
    r = run(*args, *W)
    assert r.exit_code == 2
    assert message in r.output, r.output
    assert roles(org) == before


@pytest.mark.parametrize(("workspace", "message"), [
    ("slack:T404", "No workspace 'slack:T404' yet"),
    ("T1", "--workspace 'T1': use platform:external_id"),
    ("irc:T1", "--workspace 'irc:T1': use platform:external_id"),
])
def test_the_workspace_must_exist_and_be_named_right(org: Any, workspace: str,
                                                      message: str) -> None:
    r = run("list", "--workspace", workspace)
    assert r.exit_code == 2
    assert message in r.output, r.output
