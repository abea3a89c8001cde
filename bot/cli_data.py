"""Data commands: ``gradebot db upgrade``, ``gradebot import customers FILE.csv`` and
``gradebot export grades|customers FILE.csv``.

The main CLI registers the three Typer apps defined here::

    app.add_typer(db_app, name="db")
    app.add_typer(import_app, name="import")
    app.add_typer(export_app, name="export")
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session

from bot.engine.prompts import plural
from scoring import Worksheet
from storage import csvio
from storage import people as people_db
from storage.engine import (
    DEFAULT_URL,
    current_revision,
    make_engine,
    normalize_url,
    session_scope,
    upgrade,
)
from storage.errors import InvalidInput, StorageError
from storage.models import Platform, Workspace

db_app = typer.Typer(help="The database: create or migrate its tables.", no_args_is_help=True)
import_app = typer.Typer(help="Import data from CSV files.", no_args_is_help=True)
export_app = typer.Typer(help="Export data to CSV files (UTF-8, opens in spreadsheets).",
                         no_args_is_help=True)

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)

WorkspaceOption = Annotated[str, typer.Option(
    "--workspace", help="platform:external id, e.g. slack:T0123 (default cli:local)")]


def database_url() -> str:
    """The database to use: ``DATABASE_URL``, else a SQLite file in the working directory.

    The one place these commands read it (until a settings module provides it)."""
    return normalize_url(os.environ.get("DATABASE_URL", "").strip() or DEFAULT_URL)


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
    from bot.config import ConfigError, load_settings

    try:
        return load_settings().timezone
    except ConfigError as exc:
        fail(str(exc))


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


def _skipped_table(skipped: list[csvio.SkippedRow]) -> Table:
    t = Table(title="Rows not imported", title_justify="left")
    t.add_column("Line", justify="right", no_wrap=True)
    t.add_column("Name")
    t.add_column("Reason", overflow="fold")
    for s in skipped:
        t.add_row(str(s.line), Text(s.name[:60]), Text(s.reason))
    return t


@import_app.command("customers")
def import_customers_cmd(
    file: Annotated[Path, typer.Argument(
        help="CSV with a header: name, owner (email or user id), segment, status "
             "(prospect|customer|former), external_ref. UTF-8.",
        exists=True, dir_okay=False, readable=True)],
    all_or_nothing: Annotated[bool, typer.Option(
        "--all-or-nothing", help="Import nothing if any row is bad")] = False,
    workspace: WorkspaceOption = "cli:local",
) -> None:
    """Create or update customers from a CSV file (matched by external_ref, else by name).

    Good rows are imported in one transaction; bad rows are listed with the reason.

    Exit code 1 when any row was not imported."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"Cannot read {file}: {exc.strerror or exc}")
    with open_database(migrate=True) as engine, session_scope(engine) as s:
        ws = workspace_named(s, workspace, create_local=True)
        progress = Progress(TextColumn("Importing"), BarColumn(), MofNCompleteColumn(),
                            console=console, transient=True)
        task = progress.add_task("import", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            with progress:
                report = csvio.import_customers(s, ws.id, csvio.decode_csv(data, file.name),  # type: ignore[arg-type]
                                                all_or_nothing=all_or_nothing,
                                                progress=advance)
        except InvalidInput as exc:
            fail(f"{file.name}: {exc}")
        except StorageError as exc:
            fail(str(exc), code=1)
    if report.ignored_columns:
        console.print(Text(f"Ignored columns: {', '.join(report.ignored_columns)}",
                           style="yellow"))
    if report.skipped:
        console.print(_skipped_table(report.skipped))
    if not report.committed:
        fail(f"Nothing imported: {len(report.skipped)} of {plural(report.rows, 'row')} "
             "are bad (--all-or-nothing).", code=1)
    console.print(Text(f"✓ Imported {report.imported} of {plural(report.rows, 'row')}: "
                       f"{report.created} created, {report.updated} updated, "
                       f"{report.unchanged} unchanged."))
    if report.skipped:
        err.print(Text(f"{plural(len(report.skipped), 'row')} not imported (see above).",
                       style="red"))
        raise typer.Exit(1)


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
