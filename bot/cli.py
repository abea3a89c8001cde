"""The ``gradebot`` command line: run the bot, grade in the terminal, look-ups, admin tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from scoring import WorksheetError, load_worksheet

app = typer.Typer(
    name="gradebot",
    help="Grade your customers so you invest more in the good ones.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
worksheet_app = typer.Typer(help="Inspect and validate worksheet files.", no_args_is_help=True)
app.add_typer(worksheet_app, name="worksheet")

console = Console()
err = Console(stderr=True)


@worksheet_app.command("check")
def worksheet_check(
    path: Annotated[Path | None, typer.Argument(help="Worksheet YAML (default: the shipped one)")]
    = None,
) -> None:
    """Validate a worksheet file and summarise it."""
    try:
        ws = load_worksheet(path)
    except WorksheetError as exc:
        err.print(f"[red]✗[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from None
    console.print(f"[green]✓[/green] {ws.title} (id {ws.id}, version {ws.version}): "
                  f"{len(ws.dimensions)} dimensions, "
                  f"{len(ws.questions_for('annual'))} annual and "
                  f"{len(ws.questions_for('quarterly'))} quarterly questions", highlight=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
