"""``gradebot db upgrade``: create the tables, or migrate them to the latest version."""

from __future__ import annotations

import typer

from bot.cli.context import open_database, settings, shown_url
from bot.cli.output import console

db_app = typer.Typer(help="The database: create or migrate its tables.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the tables, or migrate them to the latest version (safe to run again)."""
    from rich.text import Text

    from storage.engine import current_revision

    with open_database(migrate=True) as engine:
        revision = current_revision(engine)
    console.print(Text(f"✓ Database at revision {revision} "
                       f"({shown_url(settings().database_url)})"))


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
