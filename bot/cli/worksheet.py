"""``gradebot worksheet check|rescore``: validate a worksheet file; see what it would change."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.context import open_database, workspace_named
from bot.cli.context import worksheet as configured_worksheet
from bot.cli.output import console, fail

worksheet_app = typer.Typer(help="Inspect and validate worksheet files.", no_args_is_help=True)


@worksheet_app.command("check")
def worksheet_check(
    path: Annotated[Path | None, typer.Argument(help="Worksheet YAML (default: the shipped one)")]
    = None,
) -> None:
    """Validate a worksheet file and summarise it."""
    from rich.text import Text

    from scoring import WorksheetError, load_worksheet

    try:
        ws = load_worksheet(path)
    except WorksheetError as exc:
        fail(str(exc))
    console.print(Text.assemble(
        ("✓", "green"), f" {ws.title} (id {ws.id}, version {ws.version}): "
        f"{len(ws.dimensions)} dimensions, {len(ws.questions_for('annual'))} annual and "
        f"{len(ws.questions_for('quarterly'))} quarterly questions"))


@worksheet_app.command("rescore")
def worksheet_rescore(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the changes, write nothing "
                                                            "(the only mode)")] = False,
    workspace: Annotated[str | None, typer.Option(
        help="Only this workspace (platform:external_id, e.g. slack:T0123)")] = None,
    show: Annotated[int, typer.Option(help="List at most this many changed grades")] = 20,
) -> None:
    """How every stored grade would change under the current worksheet: letter before →
    after, with counts. Stored grades are never rewritten (they keep the worksheet version
    they were made with), so only --dry-run exists."""
    from rich.table import Table
    from rich.text import Text

    from bot.rescore import NO_LETTER, rescore
    from storage import grades as grades_db
    from storage.engine import session_scope

    if not dry_run:
        fail("Stored grades are never rewritten; run it with --dry-run to see what the "
             "current worksheet would change.")
    sheet = configured_worksheet()
    with open_database(migrate=False) as engine, session_scope(engine) as s:
        ws_id = workspace_named(s, workspace, create_local=False).id if workspace else None
        report = rescore(sheet, grades_db.stored_grades(s, ws_id))
        s.rollback()  # a dry run: nothing was changed, and nothing is kept
    console.print(f"Re-scoring {report.grades:,} stored grades with worksheet "
                  f"{report.worksheet} (dry run: nothing is written).", markup=False)
    if not report.grades:
        return
    t = Table(title="Letter before → after")
    for column in ("before", "after", "grades"):
        t.add_column(column, justify="right" if column == "grades" else "left")
    for (before, after), n in sorted(report.transitions.items()):
        t.add_row(before, after if after != before else f"{after} (same)", f"{n:,}")
    console.print(t)
    console.print(f"{len(report.changed):,} would change letter, {report.unchanged:,} "
                  f"would keep it ({sum(1 for r in report.changed if r.letter == NO_LETTER):,}"
                  " would have too few answers for a letter).")
    for r in report.changed[:show]:
        g = r.stored
        now = "no letter" if r.total is None or r.letter == NO_LETTER else \
            f"{r.letter} {r.total:g}" + (" provisional" if r.provisional else "")
        console.print(Text(f"  {g.customer} · {g.created_at.date().isoformat()} "
                           f"{g.cadence} (v{g.worksheet_version}): {g.letter} {g.total:g} → "
                           f"{now}"))
    if len(report.changed) > show:
        console.print(f"  …and {len(report.changed) - show:,} more (--show N).")


def register(app: typer.Typer) -> None:
    app.add_typer(worksheet_app, name="worksheet")
