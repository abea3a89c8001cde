"""Shared fixtures: a migrated database on every backend, a session, a workspace and a rep;
the fake Slack Web API and the fake Bot Connector (``tests/fakes``), one per test session.

``db_url`` is parametrized: SQLite always (a file in ``tmp_path``), PostgreSQL when
``GRADEBOT_TEST_POSTGRES_URL`` names a server (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). Tests never see each other's rows
and can run in any order.

Migrating is the slow part, so Alembic runs once per test session into ``migrated_sqlite``
(a template file) and every SQLite test gets a copy of it (``migrated_sqlite_url``). On
PostgreSQL it runs once per worker into ``postgres_template``; a test that wants a migrated
database (``migrated_postgres_url``, or ``migrated_url`` on PostgreSQL) is handed the worker's
one copy of it, ``postgres_shared``, emptied before the test (``SharedPostgresDatabase``:
other connections ended, every row deleted, sequences restarted; a test that changes the
schema fails). A test marked ``postgres_own_database`` — or wanting a second one — gets a
fresh ``CREATE DATABASE … TEMPLATE`` copy instead; a test that takes ``db_url`` without
``migrated_url`` (about migrations) a fresh empty database (``gb_test_<random>``). The one
fixture for "a migrated database on every backend" is ``migrated_url`` (and its ``engine``).

Suites that need a fixture of the same name differently (``tests/engine`` has its own
``db_url``) override it in their own conftest; nothing here is autouse.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from storage import people as people_db
from storage.engine import make_engine, normalize_url, session_scope, upgrade
from storage.models import Person, Platform, Workspace
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.slack_api import FakeSlackAPI

# CI (CI=true) runs the property tests derandomized: the same examples on every run, so a
# submission is judged by its code, not by which examples hypothesis happened to draw. Locally
# each run explores new examples (and replays the failures it kept in .hypothesis/).
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

# `gradebot llm check` verdicts: never the developer's own (~/.cache/gradebot), so a model
# trusted there cannot change what a test sees; processes the tests start inherit this.
os.environ.setdefault("GRADEBOT_LLM_CHECK_FILE",
                      str(Path(os.environ.get("TMPDIR", "/tmp")) / "gradebot-tests-no-check.json"))

POSTGRES_ENV = "GRADEBOT_TEST_POSTGRES_URL"


def postgres_server_url() -> str | None:
    """The PostgreSQL server tests may create databases on, or None (PostgreSQL skipped)."""
    url = os.environ.get(POSTGRES_ENV, "").strip()
    return normalize_url(url) if url else None


class PostgresDatabases:
    """Empty, uniquely named databases (``gb_test_<random>``) on one PostgreSQL server, created
    through an AUTOCOMMIT connection to the server URL's own database and dropped after use
    (their connections terminated first).

    With ``background=True`` the next database is created, and used ones are dropped, on a
    helper thread while tests run, so a test waits for neither; ``close()`` waits for that
    work, drops any spare and reports a failed drop."""

    def __init__(self, server_url: str, prefix: str = "gb_test_", *,
                 background: bool = False) -> None:
        self.base = make_url(normalize_url(server_url))
        self.prefix = prefix
        self.admin = create_engine(self.base, isolation_level="AUTOCOMMIT", pool_size=2)
        self.worker = ThreadPoolExecutor(1, thread_name_prefix="gb-pg") if background else None
        self.spares: dict[str | None, Future[str]] = {}  # made ahead, by template
        self.pending: list[Future[None]] = []

    def url(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    def _create(self, template: str | None = None) -> str:
        name = f"{self.prefix}{uuid.uuid4().hex[:12]}"
        like = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{like}'))
        return name

    def create(self, template: str | None = None, *, ahead: bool = True) -> str:
        """A new database, empty or a copy of ``template`` (a database nobody is connected
        to); returns its name. With ``ahead=False`` no spare copy is made for next time (a
        database needed once, as the worker's shared one)."""
        if self.worker is None:
            return self._create(template)
        spare = self.spares.pop(template, None)
        name = spare.result() if spare is not None else self._create(template)
        if ahead or spare is not None:
            self.spares[template] = self.worker.submit(self._create, template)
        return name

    def disconnect(self, name: str) -> None:
        """End every connection to ``name`` (a template must have none)."""
        with self.admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name AND pid <> pg_backend_pid()"),
                         {"name": name})

    def drop(self, name: str) -> None:
        self.disconnect(name)
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))

    def drop_template(self, name: str) -> None:
        """Drop ``name`` once the spare copy being made of it is made (and released)."""
        spare = self.spares.pop(name, None)
        if spare is not None:
            self.release(spare.result())
        self.drop(name)

    def release(self, name: str) -> None:
        if self.worker is None:
            self.drop(name)
        else:
            self.pending.append(self.worker.submit(self.drop, name))

    def close(self) -> None:
        try:
            if self.worker is not None:
                for spare in self.spares.values():
                    self.pending.append(self.worker.submit(self.drop, spare.result()))
                self.worker.shutdown(wait=True)
                for f in self.pending:
                    f.result()  # a failed drop leaves a database behind: say so
        finally:
            self.admin.dispose()


@contextmanager
def temporary_postgres_database(server_url: str, prefix: str = "gb_test_") -> Iterator[str]:
    """A fresh empty database on the server of ``server_url`` for the duration of the block
    (its URL), dropped afterwards."""
    dbs = PostgresDatabases(server_url, prefix)
    try:
        name = dbs.create()
        try:
            yield dbs.url(name)
        finally:
            dbs.drop(name)
    finally:
        dbs.close()


# What a test could change in a migrated database besides its rows: relations, columns,
# defaults, indexes, constraints, functions, types, triggers, schemas, extensions, the
# database's own settings (ALTER DATABASE … SET) and the Alembic revision. Read after every
# test that used the shared database; a change means it cannot be emptied back to "migrated".
_SCHEMA_FINGERPRINT = text("""
SELECT md5(coalesce(string_agg(line, E'\\n' ORDER BY line), '')) FROM (
  SELECT 'rel ' || c.relname || ' ' || c.relkind::text AS line
    FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'col ' || a.attrelid::regclass::text || '.' || a.attname || ' '
         || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text || ' '
         || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'idx ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL
  SELECT 'con ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'fn ' || oid::regprocedure::text FROM pg_proc WHERE pronamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'typ ' || typname FROM pg_type WHERE typnamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'trg ' || t.tgrelid::regclass::text || ' ' || t.tgname || ' ' || t.tgenabled::text
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'nsp ' || nspname FROM pg_namespace
    WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
  UNION ALL
  SELECT 'ext ' || extname || ' ' || extversion FROM pg_extension
  UNION ALL
  SELECT 'set ' || array_to_string(setconfig, ',') FROM pg_db_role_setting
    WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
  UNION ALL
  SELECT 'ver ' || version_num FROM alembic_version
) AS schema
""")

_TERMINATE_OTHERS = text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = current_database() AND pid <> pg_backend_pid()")
_OTHERS_LEFT = text("SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")


class SharedPostgresDatabase:
    """The worker's one migrated PostgreSQL database (a ``CREATE DATABASE … TEMPLATE`` copy
    of ``postgres_template``, made once), handed to one test at a time and emptied before
    each: a CREATE DATABASE costs ~0.34 s of fsync here, emptying ~5 ms.

    Before a test (``reset``): every other connection to it is terminated, and waited for
    (what the last test left open dies with its session state: advisory locks, prepared
    statements, LISTEN, temporary tables, open transactions); then, in one transaction, a
    ``DELETE`` from every table but ``alembic_version`` (referencing tables first) and every
    sequence that was drawn from restarted at its start value, so ids start at 1 again.
    After the test (``changed``) the schema fingerprint is compared with the migrated one: a
    test that altered the schema or the database's settings gets a fresh copy made in its
    place and fails, to be marked ``postgres_own_database``."""

    def __init__(self, dbs: PostgresDatabases, template: str) -> None:
        self.dbs = dbs
        self.template = template
        self.in_use = False
        self._open()
        try:
            self._inspect()
        except BaseException:
            self.close()  # a failed set-up leaves no database behind
            raise

    def _inspect(self) -> None:
        """Read the migrated fingerprint and build the statement that empties the database."""
        with self.engine.connect() as conn:
            self.fingerprint = conn.execute(_SCHEMA_FINGERPRINT).scalar_one()
            tables = conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version' ORDER BY tablename")).scalars().all()
            # Emptying is only "back to migrated" if the migrations leave every table empty.
            seeded = [t for t in tables
                      if conn.execute(text(f'SELECT EXISTS (SELECT 1 FROM "{t}")')).scalar()]
            references = conn.execute(text(
                "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
                "WHERE contype = 'f' AND connamespace = 'public'::regnamespace")).all()
        assert not seeded, f"migrations put rows in {seeded}: emptying would lose them"
        # Referencing tables first, so each DELETE leaves no foreign key dangling.
        graph: dict[str, set[str]] = {t: set() for t in tables}
        for child, parent in references:
            if child != parent:
                graph[parent.strip('"')].add(child.strip('"'))
        order = list(TopologicalSorter(graph).static_order())
        # DELETE, not TRUNCATE: TRUNCATE makes new files for every table and index (0.25 s of
        # fsync here, nearly a CREATE DATABASE); deleting the few rows a test wrote is one
        # ordinary commit. The sequences a test drew from restart at their start value.
        self.empty = ";".join([*(f'DELETE FROM "{t}"' for t in order),
                               "SELECT setval((quote_ident(schemaname) || '.' "
                               "|| quote_ident(sequencename))::regclass, start_value, false) "
                               "FROM pg_sequences "
                               "WHERE schemaname = 'public' AND last_value IS NOT NULL"])

    def _open(self) -> None:
        self.name = self.dbs.create(self.template, ahead=False)
        self.url = self.dbs.url(self.name)
        # pre-ping: a test may have terminated this connection too (tests/storage/test_retry)
        self.engine = create_engine(self.url, isolation_level="AUTOCOMMIT", pool_size=1,
                                    pool_pre_ping=True)

    def reset(self) -> None:
        """End every other connection, then empty every table and restart its sequence."""
        with self.engine.connect() as conn:
            if conn.execute(_TERMINATE_OTHERS).first() is not None:
                # pg_terminate_backend only signals: wait until they are gone, so a test
                # counting connections (or sessions) sees its own only
                deadline = time.monotonic() + 10
                while conn.execute(_OTHERS_LEFT).scalar() and time.monotonic() < deadline:
                    time.sleep(0.005)
            conn.exec_driver_sql(self.empty)  # one round trip, one transaction

    def changed(self) -> bool:
        """Whether the schema or settings differ from the migrated ones; if so the database
        is replaced by a fresh copy of the template (the next test finds it migrated)."""
        try:
            with self.engine.connect() as conn:
                same = conn.execute(_SCHEMA_FINGERPRINT).scalar_one() == self.fingerprint
        except DBAPIError:  # e.g. alembic_version dropped
            same = False
        if not same:
            self.close()
            self._open()
        return not same

    def close(self) -> None:
        self.engine.dispose()
        self.dbs.release(self.name)  # terminates what is still connected, then drops


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases | None]:
    """The session's source of fresh PostgreSQL databases (None when not configured)."""
    server = postgres_server_url()
    if server is None:
        yield None
        return
    dbs = PostgresDatabases(server, background=True)
    try:
        yield dbs
    finally:
        dbs.close()


def _backends() -> list[object]:
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(postgres_server_url() is None,
                               reason=f"PostgreSQL not configured: set {POSTGRES_ENV}, e.g. "
                                      "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
        ]),
    ]


@pytest.fixture(scope="session")
def postgres_template(postgres_databases: PostgresDatabases | None) -> Iterator[str | None]:
    """A PostgreSQL database migrated to head once per test session (per xdist worker):
    migrated test databases are ``CREATE DATABASE … TEMPLATE`` copies of it, as SQLite tests
    copy ``migrated_sqlite``. Running Alembic for each of ~130 PostgreSQL tests cost ~1.3 s
    of waiting and 0.2 s of CPU each. Never connect to it."""
    if postgres_databases is None:
        yield None
        return
    name = postgres_databases.create()
    try:
        upgrade(postgres_databases.url(name))
        postgres_databases.disconnect(name)
        yield name
    finally:
        postgres_databases.drop_template(name)


@pytest.fixture(scope="session")
def postgres_shared(postgres_databases: PostgresDatabases | None,
                    postgres_template: str | None) -> Iterator[SharedPostgresDatabase | None]:
    """The worker's migrated PostgreSQL database that tests take in turn (None when
    PostgreSQL is not configured); see ``SharedPostgresDatabase``."""
    if postgres_databases is None or postgres_template is None:
        yield None
        return
    shared = SharedPostgresDatabase(postgres_databases, postgres_template)
    try:
        yield shared
    finally:
        shared.close()


OWN_DATABASE = "postgres_own_database"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{OWN_DATABASE}: the test's migrated PostgreSQL database is a fresh copy "
                   "of the template of its own, not the worker's shared one (for tests that "
                   "change its schema or settings)")


@contextmanager
def migrated_postgres(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated PostgreSQL database for this test: the worker's shared one, emptied
    (``postgres_shared``); a fresh copy of ``postgres_template`` instead for a test marked
    ``postgres_own_database`` or a second database in the same test."""
    dbs: PostgresDatabases | None = request.getfixturevalue("postgres_databases")
    shared: SharedPostgresDatabase | None = request.getfixturevalue("postgres_shared")
    assert dbs is not None  # callers skip otherwise
    assert shared is not None
    if request.node.get_closest_marker(OWN_DATABASE) or shared.in_use:
        name = dbs.create(shared.template)
        try:
            yield dbs.url(name)
        finally:
            dbs.release(name)
        return
    shared.in_use = True
    try:
        shared.reset()
        yield shared.url
    finally:
        shared.in_use = False
        if shared.changed():
            pytest.fail(f"the test changed the schema or settings of the shared PostgreSQL "
                        f"database: mark it @pytest.mark.{OWN_DATABASE}", pytrace=False)


@pytest.fixture(params=_backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (not migrated): a SQLite file, or a fresh PostgreSQL database of
    this test's own, dropped after it. (For a test that uses ``migrated_url`` it is the
    migrated one of ``migrated_postgres`` instead, not migrated after.)"""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gradebot.db'}"
        return
    if "migrated_url" in request.fixturenames:
        with migrated_postgres(request) as url:
            yield url
        return
    dbs: PostgresDatabases | None = request.getfixturevalue("postgres_databases")
    assert dbs is not None  # the param is skipped otherwise
    name = dbs.create()
    try:
        yield dbs.url(name)
    finally:
        dbs.release(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An empty SQLite database file (for tests that are about SQLite only)."""
    return f"sqlite:///{tmp_path / 'gradebot.db'}"


# ---------------------------------------------------------------------- migrated databases
@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated from empty to head by Alembic, once per test session: the
    template every SQLite test copies (``copy_migrated``). Never write to it."""
    path = tmp_path_factory.mktemp("migrated") / "template.db"
    upgrade(f"sqlite:///{path}")
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
    return path


def copy_migrated(template: Path, path: Path) -> str:
    """A fresh migrated SQLite database at ``path`` (a copy of ``template``); its URL."""
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def migrated_sqlite_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    """This test's own migrated SQLite database."""
    return copy_migrated(migrated_sqlite, tmp_path / "migrated.db")


@pytest.fixture
def migrated_postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated PostgreSQL database with no rows for this test, the worker's shared one
    (``migrated_postgres``; skipped when none is configured)."""
    if postgres_server_url() is None:
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_ENV}")
    with migrated_postgres(request) as url:
        yield url


@pytest.fixture
def migrated_url(db_url: str, migrated_sqlite: Path) -> str:
    """The database at ``db_url`` (every backend) at the head revision: SQLite by copying
    the template, PostgreSQL by being made a copy of ``postgres_template`` (``db_url``)."""
    if db_url.startswith("sqlite:///"):
        return copy_migrated(migrated_sqlite, Path(db_url.removeprefix("sqlite:///")))
    return db_url


# ---------------------------------------------------------------------- fake servers
@pytest.fixture(scope="session")
def fake_slack() -> Iterator[FakeSlackAPI]:
    """The fake Slack Web API, one per test session; reset it in the fixture that uses it."""
    api = FakeSlackAPI().start()
    yield api
    api.stop()


@pytest.fixture(scope="session")
def connector() -> Iterator[FakeBotConnector]:
    """The fake Bot Connector (a Teams ``serviceUrl``), one per test session."""
    c = FakeBotConnector().start()
    yield c
    c.stop()


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
           migrated_sqlite: Path) -> Iterator[Engine]:
    """What the ``gradebot`` CLI commands see in a test: a migrated SQLite file as
    ``DATABASE_URL``, a working directory with no ``.env``, no Slack/LLM/gradebot settings
    from the developer's shell, and wide consoles (no wrapped lines to match)."""
    from bot.cli import output

    monkeypatch.chdir(tmp_path)
    for var in list(os.environ):
        if var.startswith(("SLACK_", "OPENAI_", "GRADEBOT_")) or var == "TZ":
            monkeypatch.delenv(var)
    url = copy_migrated(migrated_sqlite, tmp_path / "cli.db")
    monkeypatch.setenv("DATABASE_URL", url)
    for console in (output.console, output.err):
        monkeypatch.setattr(console, "_width", 160)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    """The migrated database at ``db_url`` (``migrated_url``), and its engine."""
    eng = make_engine(migrated_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_scope(engine) as s:
        yield s


@pytest.fixture
def workspace(session: Session) -> Workspace:
    """The local terminal workspace (platform ``cli``, external id ``local``)."""
    return people_db.get_or_create_workspace(session, Platform.CLI, "local", "Local")


@pytest.fixture
def rep(session: Session, workspace: Workspace) -> Person:
    """A rep of ``workspace`` with an email address."""
    return people_db.get_or_create_person(session, workspace, "U0REP", "Rita Rep",
                                          email="rita@example.com")


# ---------------------------------------------------------------------- end-of-run figures
# Suites print figures (the rules' accuracy, load figures) after every run. Under pytest-xdist
# the tests run in workers, so each worker hands its lines to the controller, which prints them.
_REPORT = pytest.StashKey[dict[str, list[str]]]()


def report_line(config: pytest.Config, section: str, line: str) -> None:
    """Add a line to the end-of-run summary, under ``section``."""
    config.stash.setdefault(_REPORT, {}).setdefault(section, []).append(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = getattr(session.config, "workeroutput", None)  # set in xdist workers only
    if out is not None:
        out["gradebot_report"] = session.config.stash.get(_REPORT, {})


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    for section, lines in (getattr(node, "workeroutput", {}) or {}).get(
            "gradebot_report", {}).items():
        for line in lines:
            report_line(node.config, section, line)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter,
                            config: pytest.Config) -> None:
    for section, lines in sorted(config.stash.get(_REPORT, {}).items()):
        terminalreporter.write_sep("-", section)
        for line in lines:
            terminalreporter.write_line(line)
