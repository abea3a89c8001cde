"""``gradebot export grades|customers FILE.csv``: CSV files that open in spreadsheets."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer

from bot.cli.context import WorkspaceOption, open_database, workspace_named
from bot.cli.context import worksheet as configured_worksheet
from bot.cli.output import console, fail

if TYPE_CHECKING:
    from sqlmodel import Session

export_app = typer.Typer(help="Export data to CSV files (UTF-8, opens in spreadsheets).",
                         no_args_is_help=True)

Writer = Callable[["Session", int, IO[str]], int]


def _export(file: Path, workspace_value: str, what: str, write: Writer) -> None:
    """Write through a temporary file renamed at the end: a failed export leaves no
    half-written file behind (or the previous export intact)."""
    from rich.text import Text

    from bot.engine.prompts import plural
    from storage.engine import session_scope

    with open_database(migrate=False) as engine, session_scope(engine) as s:
        ws = workspace_named(s, workspace_value, create_local=False)
        assert ws.id is not None  # a stored workspace
        to_stdout = str(file) == "-"
        tmp = file.with_name(f".{file.name}.tmp") if not to_stdout else None
        try:
            if tmp is None:
                n = write(s, ws.id, sys.stdout)
            else:
                with tmp.open("w", encoding="utf-8-sig", newline="") as out:
                    n = write(s, ws.id, out)
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
    graded_at (UTC, YYYY-MM-DD HH:MM:SS), grader, coverage, provisional, stale (older than
    the worksheet's stale_after_days today), carried (answers carried from earlier
    gradings), carried_by, worksheet, worksheet_version, and dim_<id> per dimension of the
    configured worksheet."""
    from storage import csvio

    sheet = configured_worksheet()
    dims = [d.id for d in sheet.dimensions]
    _export(file, workspace, "grades",
            lambda s, ws, out: csvio.export_grades(s, ws, out, latest_only=latest,
                                                   dimension_ids=dims, rules=sheet.grading))


@export_app.command("customers")
def export_customers_cmd(
    file: Annotated[Path, typer.Argument(help="CSV file to write ('-' for standard output)")],
    workspace: WorkspaceOption = "cli:local",
    archived: Annotated[bool, typer.Option(help="Include archived customers")] = False,
) -> None:
    """Customers, in the columns `gradebot import customers` reads back."""
    from storage import csvio

    _export(file, workspace, "customers",
            lambda s, ws, out: csvio.export_customers(s, ws, out, include_archived=archived))


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
