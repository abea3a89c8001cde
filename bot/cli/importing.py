"""``gradebot import customers|people|outcomes FILE.csv``: bring a CRM's or an HR export's rows in.

Good rows are imported in one transaction, every problem of every bad row is reported (grouped
by reason) and the bad rows are written beside the file to fix and import again. With a Slack
bot token, people known only by email are looked up in Slack before and after the import.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from bot.cli.context import parse_workspace, reason, settings
from bot.cli.output import REFUSED, console, err, fail, warn

if TYPE_CHECKING:
    from datetime import date

    from rich.table import Table
    from sqlalchemy import Engine
    from sqlmodel import Session

    from bot import imports
    from bot.config import Settings
    from storage.models import Workspace

import_app = typer.Typer(help="Import data from CSV files.", no_args_is_help=True)
T = TypeVar("T")


def import_workspace(s: Session, value: str) -> Workspace:
    """The workspace an import goes to, created if needed: ``slack`` alone is the bot
    token's workspace (``auth.test``), ``teams`` alone the configured TENANT_ID's; with an
    id (``slack:T0123``) that one."""
    from storage import people as people_db
    from storage.models import Platform

    value = value.strip()
    st = settings()
    if value in (Platform.SLACK, Platform.TEAMS):
        value = f"{value}:{_bare_workspace(value, st)}"
    platform, external = parse_workspace(value)
    name = "Local" if platform == Platform.CLI else ""
    return people_db.get_or_create_workspace(s, platform, external, name, st.timezone)


def _bare_workspace(platform: str, st: Settings) -> str:
    from storage.models import Platform

    if platform == Platform.TEAMS:
        if not st.teams_tenant_id:
            fail("--workspace teams: set TENANT_ID, or name the tenant: teams:<tenant id>.")
        return st.teams_tenant_id
    if not st.slack_bot_token:
        fail("--workspace slack: set SLACK_BOT_TOKEN (the workspace is the token's), or name "
             "it: slack:T0123.")
    from bot.slack.directory import DirectoryError, team_of

    async def ask(client: Any) -> str:
        return (await team_of(client)).team_id

    try:
        return _slack_call(st, ask)
    except DirectoryError as exc:
        fail(str(exc))
    except Exception as exc:
        fail(f"SLACK_API_URL: cannot reach Slack's auth.test ({reason(exc)})")


def _slack_call(st: Settings, call: Callable[[Any], Awaitable[T]]) -> T:
    """Run one call with a Slack client of its own, closed after it."""
    import asyncio

    from bot.slack.app import make_client_for

    async def run() -> T:
        client = make_client_for(st)
        try:
            return await call(client)
        finally:
            session = getattr(client, "session", None)
            if session is not None and not session.closed:
                await session.close()

    return asyncio.run(run())


def _ask_directory(st: Settings, engine: Engine,
                   call: Callable[[Any], Awaitable[Any]], failed: str) -> Any | None:
    """Run one Slack directory call with a client of its own; None (and one yellow line)
    when Slack refuses or cannot be reached, since the import itself has already worked."""
    from bot.slack.directory import Directory, DirectoryError

    try:
        return _slack_call(st, lambda client: call(Directory(client, engine)))
    except DirectoryError as exc:
        warn(str(exc))
    except Exception as exc:
        warn(failed.format(reason=reason(exc)))
    return None


def resolve_in_slack(engine: Engine, ws: Workspace) -> None:
    """After an import into a Slack workspace, with a bot token: match everyone known only
    by email to their Slack user (``users.lookupByEmail``) and say who Slack does not know."""
    from rich.text import Text

    from storage.models import Platform

    st = settings()
    if ws.platform != Platform.SLACK or not st.slack_bot_token:
        return
    found = _ask_directory(
        st, engine, lambda d: d.resolve_pending(ws.id, retry_unfound=False),
        "Could not look people up in Slack ({reason}); they are matched when they first use "
        "the bot.")
    if found is None:
        return
    if found.resolved:
        console.print(Text(f"✓ Found {len(found.resolved)} of "
                           f"{len(found.resolved) + len(found.not_found)} people in Slack by "
                           "email."))
    if found.not_found:
        shown = ", ".join(found.not_found[:10]) + (" …" if len(found.not_found) > 10 else "")
        console.print(Text(f"Not in Slack (yet): {shown} — matched when they join and first "
                           "use the bot.", style="yellow"), soft_wrap=True)


def owners_from_slack(engine: Engine, ws: Workspace, kind: imports.ImportKind, data: bytes,
                      options: imports.ImportOptions, source: str) -> None:
    """Before a customer import into a Slack workspace, with a bot token: owners named by an
    email nobody imported yet are looked up in Slack and added as the users they are, so
    their customers import rather than being rejected."""
    from rich.text import Text

    from bot import imports
    from storage.errors import InvalidInput, StorageError
    from storage.models import Platform

    st = settings()
    if kind is not imports.ImportKind.CUSTOMERS or ws.platform != Platform.SLACK \
            or not st.slack_bot_token:
        return
    try:
        emails = imports.unknown_owner_emails(imports.run_import(
            engine, ws, kind, data, options, source=source, preview=True))
    except (InvalidInput, StorageError):
        return  # the import itself says what is wrong with the file
    if not emails:
        return
    found = _ask_directory(st, engine, lambda d: d.add_known(ws.id, emails),
                           "Could not look owners up in Slack ({reason}).")
    if found is None:
        return
    if found.resolved:
        console.print(Text(f"✓ Added {len(found.resolved)} owner"
                           f"{'s' if len(found.resolved) != 1 else ''} from Slack by email: "
                           + ", ".join(found.resolved[:10])
                           + (" …" if len(found.resolved) > 10 else "")), soft_wrap=True)


def _problems_table(report: imports.Report) -> Table:
    from rich.table import Table
    from rich.text import Text

    from bot.engine.prompts import plural

    t = Table(title=f"{plural(len(report.skipped), 'row')} not imported, by reason",
              title_justify="left")
    t.add_column("Reason", no_wrap=True)
    t.add_column("Rows", justify="right")
    t.add_column("Lines", overflow="fold")
    t.add_column("For example", overflow="fold")
    for g in report.problems:
        t.add_row(Text(g.kind), str(g.count), Text(g.lines), Text("\n".join(g.examples)))
    return t


def _print_report(report: imports.Report, kind: imports.ImportKind, file: Path) -> None:
    """The report: mapping, ignored columns, problems grouped by reason, owners held back,
    look-alike names, the headline; the rejected rows written beside the file."""
    from rich.text import Text

    from bot import imports
    from storage.import_report import save_rejected

    for line in imports.detail_lines(report, problems=False):
        console.print(Text(line, style="yellow" if line.startswith(("Ignored", "Owners kept",
                                                                    "Names that"))
                           else ""), soft_wrap=True)
    if report.skipped:
        console.print(_problems_table(report))
        try:
            path = save_rejected(file, report.header, report.skipped)
            console.print(Text(f"Rejected rows written to {path} (with a reason column): fix "
                               f"them there and run `gradebot import {kind.value} {path}`."),
                          soft_wrap=True)
        except OSError as exc:
            warn(f"Could not write the rejected rows: {exc.strerror or exc}")


MapOption = Annotated[list[str] | None, typer.Option(
    "--map", help='field="Column name", e.g. --map name="Account Name" (repeatable)')]


def _run_import(kind: imports.ImportKind, file: Path, workspace: str,
                options: imports.ImportOptions, *, today: date | None = None) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.text import Text

    from bot import imports
    from bot.cli.context import open_database
    from bot.engine.prompts import plural
    from storage.engine import session_scope
    from storage.errors import InvalidInput, StorageError

    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"Cannot read {file}: {exc.strerror or exc}")
    with open_database(migrate=True) as engine:
        with session_scope(engine) as s:
            ws = import_workspace(s, workspace)
        owners_from_slack(engine, ws, kind, data, options, file.name)
        progress = Progress(TextColumn(f"Importing {kind.value}"), BarColumn(),
                            MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                            transient=True)
        task = progress.add_task("import", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            with progress:
                report = imports.run_import(engine, ws, kind, data, options, source=file.name,
                                            progress=advance, today=today)
        except InvalidInput as exc:
            fail(f"{file.name}: {exc}")
        except StorageError as exc:
            fail(str(exc), code=REFUSED)
        _print_report(report, kind, file)
        if not report.committed:
            fail(imports.headline(report, kind, preview=False), code=REFUSED)
        console.print(Text(f"✓ {imports.headline(report, kind, preview=False)}"))
        resolve_in_slack(engine, ws)
    if report.skipped:
        err.print(Text(f"{plural(len(report.skipped), 'row')} not imported (see above).",
                       style="red"))
        raise typer.Exit(REFUSED)


def _options(columns: list[str] | None, statuses: list[str] | None, all_or_nothing: bool,
             reassign: bool) -> imports.ImportOptions:
    from bot import imports
    from storage import crm
    from storage.errors import InvalidInput

    try:
        return imports.ImportOptions(crm.parse_field_map(columns or []),
                                     crm.parse_status_map(statuses or []), all_or_nothing,
                                     reassign)
    except InvalidInput as exc:
        fail(str(exc))


ImportWorkspaceOption = Annotated[str, typer.Option(
    "--workspace", help="slack (the bot token's workspace), slack:T0123, teams:<tenant id>, "
                        "or cli:local (the default); created if needed")]


@import_app.command("customers")
def import_customers_cmd(
    file: Annotated[Path, typer.Argument(
        help="CSV with a header: name, owner (email, user id or name), segment, status, "
             "external_ref — or a HubSpot, Salesforce or Pipedrive export. UTF-8.",
        exists=True, dir_okay=False, readable=True)],
    columns: MapOption = None,
    statuses: Annotated[list[str] | None, typer.Option(
        "--status", help='"CRM value"=prospect|customer|former, e.g. --status '
                         '"Customer - Direct"=customer (repeatable)')] = None,
    all_or_nothing: Annotated[bool, typer.Option(
        "--all-or-nothing", help="Import nothing if any row is bad")] = False,
    reassign_owners: Annotated[bool, typer.Option(
        "--reassign-owners", help="Let the file change the owner of a customer that "
                                  "already has one (listed either way)")] = False,
    workspace: ImportWorkspaceOption = "cli:local",
) -> None:
    """Create or update customers from a CSV file (matched by external_ref, else by name).

    Good rows are imported in one transaction; every problem of every bad row is reported,
    grouped by reason, and the bad rows are written to FILE.rejected.csv to fix and import.

    Exit code 1 when any row was not imported."""
    from bot.imports import ImportKind

    _run_import(ImportKind.CUSTOMERS, file, workspace,
                _options(columns, statuses, all_or_nothing, reassign_owners))


@import_app.command("people")
def import_people_cmd(
    file: Annotated[Path, typer.Argument(
        help="CSV with a header: name, email, role (rep|manager|admin), manager (their "
             "email), user_id (Slack/Teams, optional), timezone (optional). UTF-8.",
        exists=True, dir_okay=False, readable=True)],
    columns: MapOption = None,
    all_or_nothing: Annotated[bool, typer.Option(
        "--all-or-nothing", help="Import nothing if any row is bad")] = False,
    workspace: ImportWorkspaceOption = "cli:local",
) -> None:
    """Add or update people before they have used the bot (matched by user id, else email).

    Someone known only by email owns customers, has a role and a manager, and is matched to
    their Slack or Teams account on first contact (or at once, by email, with a Slack token).

    Exit code 1 when any row was not imported."""
    from bot.imports import ImportKind

    _run_import(ImportKind.PEOPLE, file, workspace,
                _options(columns, None, all_or_nothing, False))


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
