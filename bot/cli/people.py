"""``gradebot people list|set-role``: who is a rep, manager or admin, and who reports to whom."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.context import WorkspaceOption, services, workspace_named
from bot.cli.output import console, fail

if TYPE_CHECKING:
    from sqlmodel import Session

    from storage.models import Person, Workspace

people_app = typer.Typer(help="Roles: reps, managers and admins.", no_args_is_help=True)


def _person(s: Session, ws: Workspace, key: str) -> Person:
    from storage import people as people_db

    assert ws.id is not None  # a stored workspace
    person = people_db.find_person(s, ws.id, key)
    if person is None:
        fail(f"No person {key!r} in this workspace (use a user id, email or name).")
    return person


@people_app.command("list")
def people_list(workspace: WorkspaceOption = "cli:local") -> None:
    """Everyone the bot knows in a workspace, with role and manager."""
    from rich.table import Table
    from rich.text import Text

    from storage import people as people_db

    sv = services()
    with sv.session() as s:
        ws = workspace_named(s, workspace, create_local=False)
        assert ws.id is not None
        people = people_db.people_of(s, ws.id)
        names = {p.id: p.display_name for p in people}
        t = Table()
        for col in ("User id", "Name", "Email", "Role", "Manager"):
            t.add_column(col)
        for p in people:
            uid = "(not seen yet)" if people_db.is_pending(p) else p.external_id
            t.add_row(*(Text(v) for v in (uid, p.display_name, p.email or "", p.role,
                                          names.get(p.manager_id, "") if p.manager_id else "")))
        console.print(t)


@people_app.command("set-role")
def people_set_role(
    who: Annotated[str, typer.Argument(help="User id, email or display name")],
    role: Annotated[str, typer.Argument(help="rep, manager or admin")],
    manager: Annotated[str | None, typer.Option(help="Their manager (id, email or name)")] = None,
    workspace: WorkspaceOption = "cli:local",
) -> None:
    """Make someone a rep, manager or admin, and optionally set their manager."""
    from rich.text import Text

    from storage import people as people_db
    from storage.errors import InvalidInput

    sv = services()
    with sv.session() as s:
        ws = workspace_named(s, workspace, create_local=False)
        person = _person(s, ws, who)
        boss = _person(s, ws, manager) if manager else None
        try:
            people_db.set_role(s, person, role, boss)
        except InvalidInput as exc:
            fail(str(exc))
        console.print(Text(f"✓ {person.display_name} is now a {role}"
                           + (f" reporting to {boss.display_name}" if boss else "") + "."))


def register(app: typer.Typer) -> None:
    app.add_typer(people_app, name="people")
