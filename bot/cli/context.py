"""What every command starts from: the settings, the services, the database, a workspace.

Every command reads the settings ``gradebot serve`` reads (the environment, then ``.env`` in
the working directory, through ``bot.config``): an admin who imports into one database while
the bot reads another, or a look-up in another time zone, is a bug. A bad setting or an
unreachable database is one line (``fail``), never a traceback.

Heavy modules (``bot.config`` pulls SQLAlchemy, ``bot.services`` the engine) are imported
inside the functions: this module is loaded to build the command tree, also for ``--help``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.output import fail

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

    from bot.config import Settings
    from bot.services import Services
    from scoring import Worksheet
    from storage.models import Workspace

AsOption = Annotated[str | None, typer.Option("--as", help="Who you are (default: your login)")]
WorkspaceOption = Annotated[str, typer.Option(
    "--workspace", help="platform:external id, e.g. slack:T0123 (default cli:local)")]


def settings() -> Settings:
    """The settings, read once per call from the environment and ``.env``. Every command
    calls this before its work, its modules loaded: the garbage collector resumes here."""
    from bot.cli.startup import resume_collector
    from bot.config import ConfigError, load_settings

    resume_collector()
    try:
        return load_settings()
    except ConfigError as exc:
        fail(str(exc))


def worksheet() -> Worksheet:
    """The configured worksheet (GRADEBOT_WORKSHEET, else the shipped one)."""
    from bot.config import ConfigError

    try:
        return settings().load_worksheet()
    except ConfigError as exc:
        fail(str(exc))


def services(*, migrate: bool = True, look_up: bool = False) -> Services:
    """Everything a conversation or a look-up needs, on the configured database, migrated
    first when ``migrate`` (as ``gradebot serve`` does on start). A ``look_up`` reads only:
    a database already at the latest revision is not handed to Alembic (nor to the start-up
    repairs of ``build_services``), which cost a look-up ~0.2 s, and the conversation engine
    is not built."""
    from bot.config import ConfigError
    from bot.services import build_services
    from storage.engine import is_current

    st = settings()
    if migrate and look_up:
        migrate = not is_current(st.database_url)
    try:
        return build_services(st, migrate=migrate, look_up=look_up)
    except ConfigError as exc:
        fail(str(exc))


def shown_url(url: str) -> str:
    """A database URL fit to print: its password hidden."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "DATABASE_URL"


def reason(exc: BaseException) -> str:
    """The first line of what went wrong (the driver's message when there is one)."""
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]


@contextmanager
def open_database(*, migrate: bool) -> Iterator[Engine]:
    """An engine on the configured database; migrated first when ``migrate``, else it must
    be at the latest revision already. Database problems become one line."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from storage.engine import current_revision, make_engine, upgrade
    from storage.errors import StorageError

    url = settings().database_url
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
        fail(f"DATABASE_URL: cannot open the database ({reason(exc)})")
    try:
        yield engine
    finally:
        engine.dispose()


def parse_workspace(value: str) -> tuple[str, str]:
    """``platform:external_id`` → its two parts, or one line saying how to write it."""
    from storage.models import Platform

    platform, sep, external = value.strip().partition(":")
    platforms = [p.value for p in Platform]
    if not sep or not external.strip() or platform not in platforms:
        fail(f"--workspace {value!r}: use platform:external_id with platform one of "
             f"{', '.join(platforms)} (e.g. slack:T0123 or cli:local).")
    return platform, external.strip()


def workspace_named(s: Session, value: str, *, create_local: bool) -> Workspace:
    """The workspace ``--workspace`` names; ``cli:…`` is created when ``create_local``,
    any other missing one is refused with one line."""
    from storage import people as people_db
    from storage.models import Platform

    platform, external = parse_workspace(value)
    ws = people_db.find_workspace(s, platform, external)
    if ws is None and create_local and platform == Platform.CLI:
        return people_db.get_or_create_workspace(s, platform, external, "Local",
                                                 settings().timezone)
    if ws is None:
        fail(f"No workspace {value!r} yet (it appears once someone uses the bot there).")
    return ws
