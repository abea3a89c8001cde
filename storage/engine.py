"""The database engine: SQLite by default, PostgreSQL by URL, migrated by Alembic."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlmodel import Session

from storage.errors import StorageError

DEFAULT_URL = "sqlite:///gradebot.db"
T = TypeVar("T")
MIGRATIONS = Path(__file__).parent / "migrations"


def normalize_url(url: str) -> str:
    """Accept the URLs operators paste: ``postgres://`` and ``postgresql://`` mean psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _postgres_utc(dbapi_conn: Any, _record: Any) -> None:
    """Run every PostgreSQL session in UTC. Stored instants do not change (timestamptz is
    absolute), but psycopg hands back datetimes in the session's zone: in UTC they arrive
    with ``datetime.UTC`` itself, which the column type passes through, instead of a
    ``ZoneInfo`` that must be converted row by row — a third of the time of planning the
    reminders of a 500k-customer workspace. A SET on connect rather than a startup
    ``options`` parameter, which connection poolers such as PgBouncer refuse."""
    if dbapi_conn.info.parameter_status("TimeZone") == "UTC":
        return
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True  # a SET inside a transaction is undone by its rollback
    try:
        dbapi_conn.execute("SET TIME ZONE 'UTC'")
    finally:
        dbapi_conn.autocommit = autocommit


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Build an engine for ``url`` (default: ``gradebot.db`` in the working directory)."""
    url = normalize_url(url or DEFAULT_URL)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(f"DATABASE_URL is not a database URL: {url!r}") from None
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 10})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise StorageError(f"unsupported database {parsed.get_backend_name()!r}: use SQLite or "
                           "PostgreSQL (postgresql+psycopg://user@host/db)")
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _postgres_utc)
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that rolls back on any error so nothing half-written is ever committed."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise


def once_more_if_dropped(work: Callable[[], T]) -> T:
    """Run ``work`` (a whole transaction of its own), and once more if the database
    connection dropped under it (a restarted or failed-over server, a proxy's idle cut): the
    transaction was rolled back and the pool has replaced the connection. Only for work that
    is safe to redo — idempotent or guarded by a unique key."""
    try:
        return work()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        return work()


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (idempotent; the bot runs it on start)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


_REVISION_LINE = re.compile(r"^(down_revision|revision)\b[^=\n]*=\s*(.+)$", re.MULTILINE)


def head_revisions() -> frozenset[str] | None:
    """The latest migration(s), read from the version files' ``revision`` /
    ``down_revision`` lines without loading Alembic (a look-up command pays ~0.2 s for
    it); None when a file is not as simple as that (then ask Alembic)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = {k: v.strip() for k, v in _REVISION_LINE.findall(path.read_text("utf-8"))}
        rev, down = found.get("revision", ""), found.get("down_revision", "")
        if not re.fullmatch(r"'\w+'|\"\w+\"", rev) or \
                not re.fullmatch(r"None|'\w+'|\"\w+\"", down):
            return None
        revisions.add(rev.strip("'\""))
        if down != "None":
            parents.add(down.strip("'\""))
    return frozenset(revisions - parents) or None


def is_current(url: str) -> bool:
    """Whether the database at ``url`` is migrated to the latest revision already (False
    when it cannot tell: then migrate, which is always safe)."""
    heads = head_revisions()
    if heads is None:
        return False
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).exists():
        return False
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        return frozenset(r[0] for r in rows) == heads
    except Exception:
        return False
    finally:
        engine.dispose()
