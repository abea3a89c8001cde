"""Data commands: ``gradebot db upgrade``, ``gradebot import people|customers FILE.csv`` and
``gradebot export grades|customers FILE.csv``.

The main CLI registers the three Typer apps defined here::

    app.add_typer(db_app, name="db")
    app.add_typer(import_app, name="import")
    app.add_typer(export_app, name="export")
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import IO, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session

from bot import imports
from bot.config import ConfigError, Settings, load_settings
from bot.engine.prompts import plural
from scoring import Worksheet
from storage import crm, csvio
from storage import people as people_db
from storage.engine import (
    current_revision,
    make_engine,
    session_scope,
    upgrade,
)
from storage.errors import InvalidInput, StorageError
from storage.import_report import save_rejected
from storage.models import Platform, Workspace

db_app = typer.Typer(help="The database: create or migrate its tables.", no_args_is_help=True)
import_app = typer.Typer(help="Import data from CSV files.", no_args_is_help=True)
export_app = typer.Typer(help="Export data to CSV files (UTF-8, opens in spreadsheets).",
                         no_args_is_help=True)

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)

WorkspaceOption = Annotated[str, typer.Option(
    "--workspace", help="platform:external id, e.g. slack:T0123 (default cli:local)")]


def cli_settings() -> Settings:
    """The settings ``gradebot serve`` reads (the environment, then ``.env`` in the working
    directory, through ``bot.config``): every command must see the same database, token and
    time zone as the bot, or an admin imports into one database and the bot reads another.
    A bad setting is one line."""
    try:
        return load_settings()
    except ConfigError as exc:
        fail(str(exc))


def database_url() -> str:
    """The database to use: ``DATABASE_URL`` (environment or ``.env``), else a SQLite file
    in the working directory."""
    return cli_settings().database_url


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear line (no traceback) and exit."""
    err.print(Text.assemble(("✗ ", "red"), message), soft_wrap=True)
    raise typer.Exit(code)


def _shown_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "DATABASE_URL"


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]


@contextmanager
def open_database(*, migrate: bool) -> Iterator[Engine]:
    """An engine on ``database_url()``; migrated first when ``migrate``, else it must be at
    the latest revision already. Database problems become one line."""
    url = database_url()
    try:
        parsed = make_url(url)
    except ArgumentError:
        fail(f"DATABASE_URL is not a database URL: {url!r}")
    if not migrate and parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if path and path != ":memory:" and not Path(path).exists():
            fail(f"No database at {path}: run `gradebot db upgrade` first (or set DATABASE_URL).")
    try:
        if migrate:
            upgrade(url)
        engine = make_engine(url)
        if not migrate and current_revision(engine) is None:
            engine.dispose()
            fail("The database has no tables yet: run `gradebot db upgrade` first.")
    except StorageError as exc:
        fail(f"DATABASE_URL: {exc}")
    except typer.Exit:
        raise
    except Exception as exc:  # connection refused, bad credentials, unwritable file …
        fail(f"DATABASE_URL: cannot open the database ({_reason(exc)})")
    try:
        yield engine
    finally:
        engine.dispose()


def _parse_workspace(value: str) -> tuple[str, str]:
    platform, sep, external = value.strip().partition(":")
    platforms = [p.value for p in Platform]
    if not sep or not external.strip() or platform not in platforms:
        fail(f"--workspace {value!r}: use platform:external_id with platform one of "
             f"{', '.join(platforms)} (e.g. slack:T0123 or cli:local).")
    return platform, external.strip()


def _default_timezone() -> str:
    """GRADEBOT_TIMEZONE, the time zone a new workspace starts with."""
    return cli_settings().timezone


def _worksheet() -> Worksheet:
    """The configured worksheet (GRADEBOT_WORKSHEET, else the shipped one)."""
    from bot.config import ConfigError, load_settings

    try:
        return load_settings().load_worksheet()
    except ConfigError as exc:
        fail(str(exc))


def workspace_named(s: Session, value: str, *, create_local: bool) -> Workspace:
    platform, external = _parse_workspace(value)
    ws = people_db.find_workspace(s, platform, external)
    if ws is None and create_local and platform == Platform.CLI:
        return people_db.get_or_create_workspace(s, platform, external, "Local",
                                                 _default_timezone())
    if ws is None:
        fail(f"No workspace {value!r} yet (it appears once someone uses the bot there).")
    return ws


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the tables, or migrate them to the latest version (safe to run again)."""
    with open_database(migrate=True) as engine:
        revision = current_revision(engine)
    console.print(Text(f"✓ Database at revision {revision} ({_shown_url(database_url())})"))


def import_workspace(s: Session, value: str) -> Workspace:
    """The workspace an import goes to, created if needed: ``slack`` alone is the bot
    token's workspace (``auth.test``), ``teams`` alone the configured TENANT_ID's; with an
    id (``slack:T0123``) that one."""
    value = value.strip()
    st = cli_settings()
    if value in (Platform.SLACK, Platform.TEAMS):
        value = f"{value}:{_bare_workspace(value, st)}"
    platform, external = _parse_workspace(value)
    name = "Local" if platform == Platform.CLI else ""
    return people_db.get_or_create_workspace(s, platform, external, name, st.timezone)


def _bare_workspace(platform: str, st: Settings) -> str:
    if platform == Platform.TEAMS:
        if not st.teams_tenant_id:
            fail("--workspace teams: set TENANT_ID, or name the tenant: teams:<tenant id>.")
        return st.teams_tenant_id
    if not st.slack_bot_token:
        fail("--workspace slack: set SLACK_BOT_TOKEN (the workspace is the token's), or name "
             "it: slack:T0123.")
    from bot.slack.app import make_client_for
    from bot.slack.directory import DirectoryError, team_of

    async def ask() -> str:
        client = make_client_for(st)
        try:
            return (await team_of(client)).team_id
        finally:
            await _close(client)

    try:
        return asyncio.run(ask())
    except DirectoryError as exc:
        fail(str(exc))
    except Exception as exc:
        fail(f"SLACK_API_URL: cannot reach Slack's auth.test ({_reason(exc)})")


async def _close(client: Any) -> None:
    session = getattr(client, "session", None)
    if session is not None and not session.closed:
        await session.close()


def _ask_directory(st: Any, engine: Engine,
                   call: Callable[[Any], Awaitable[Any]], failed: str) -> Any | None:
    """Run one Slack directory call with a client of its own; None (and one yellow line)
    when Slack refuses or cannot be reached, since the import itself has already worked."""
    from bot.slack.app import make_client_for
    from bot.slack.directory import Directory, DirectoryError

    async def run() -> Any:
        client = make_client_for(st)
        try:
            return await call(Directory(client, engine))
        finally:
            await _close(client)

    try:
        return asyncio.run(run())
    except DirectoryError as exc:
        err.print(Text(f"! {exc}", style="yellow"), soft_wrap=True)
    except Exception as exc:
        err.print(Text("! " + failed.format(reason=_reason(exc)), style="yellow"),
                  soft_wrap=True)
    return None


def resolve_in_slack(engine: Engine, ws: Workspace) -> None:
    """After an import into a Slack workspace, with a bot token: match everyone known only
    by email to their Slack user (``users.lookupByEmail``) and say who Slack does not know."""
    st = cli_settings()
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
    st = cli_settings()
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
            err.print(Text(f"! Could not write the rejected rows: {exc.strerror or exc}",
                           style="yellow"))


MapOption = Annotated[list[str] | None, typer.Option(
    "--map", help='field="Column name", e.g. --map name="Account Name" (repeatable)')]


def _run_import(kind: imports.ImportKind, file: Path, workspace: str,
                options: imports.ImportOptions, *, today: date | None = None) -> None:
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
            fail(str(exc), code=1)
        _print_report(report, kind, file)
        if not report.committed:
            fail(imports.headline(report, kind, preview=False), code=1)
        console.print(Text(f"✓ {imports.headline(report, kind, preview=False)}"))
        resolve_in_slack(engine, ws)
    if report.skipped:
        err.print(Text(f"{plural(len(report.skipped), 'row')} not imported (see above).",
                       style="red"))
        raise typer.Exit(1)


def _options(columns: list[str] | None, statuses: list[str] | None, all_or_nothing: bool,
             reassign: bool) -> imports.ImportOptions:
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
    _run_import(imports.ImportKind.CUSTOMERS, file, workspace,
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
    _run_import(imports.ImportKind.PEOPLE, file, workspace,
                _options(columns, None, all_or_nothing, False))


Writer = Callable[[Session, int, IO[str]], int]


def _export(file: Path, workspace: str, what: str, write: Writer) -> None:
    """Write through a temporary file renamed at the end: a failed export leaves no
    half-written file behind (or the previous export intact)."""
    with open_database(migrate=False) as engine, session_scope(engine) as s:
        ws = workspace_named(s, workspace, create_local=False)
        to_stdout = str(file) == "-"
        tmp = file.with_name(f".{file.name}.tmp") if not to_stdout else None
        try:
            if tmp is None:
                n = write(s, ws.id, sys.stdout)  # type: ignore[arg-type]
            else:
                with tmp.open("w", encoding="utf-8-sig", newline="") as out:
                    n = write(s, ws.id, out)  # type: ignore[arg-type]
                tmp.replace(file)
        except OSError as exc:
            fail(f"Cannot write {file}: {exc.strerror or exc}")
        finally:
            if tmp is not None and tmp.exists():
                tmp.unlink()
    if not to_stdout:
        console.print(Text(f"✓ Wrote {plural(n, what.removesuffix('s'))} to {file}"))


@export_app.command("grades")
def export_grades_cmd(
    file: Annotated[Path, typer.Argument(help="CSV file to write ('-' for standard output)")],
    workspace: WorkspaceOption = "cli:local",
    latest: Annotated[bool, typer.Option(help="Only each customer's latest grade")] = False,
) -> None:
    """Grades: customer, owner, letter, total, recommendation, profile, cadence, period,
    graded_at (UTC, YYYY-MM-DD HH:MM:SS), grader, coverage, provisional, carried (answers
    carried from earlier gradings), carried_by, worksheet, worksheet_version, and dim_<id>
    per dimension of the configured worksheet."""
    dims = [d.id for d in _worksheet().dimensions]
    _export(file, workspace, "grades",
            lambda s, ws, out: csvio.export_grades(s, ws, out, latest_only=latest,
                                                   dimension_ids=dims))


@export_app.command("customers")
def export_customers_cmd(
    file: Annotated[Path, typer.Argument(help="CSV file to write ('-' for standard output)")],
    workspace: WorkspaceOption = "cli:local",
    archived: Annotated[bool, typer.Option(help="Include archived customers")] = False,
) -> None:
    """Customers, in the columns `gradebot import customers` reads back."""
    _export(file, workspace, "customers",
            lambda s, ws, out: csvio.export_customers(s, ws, out, include_archived=archived))
