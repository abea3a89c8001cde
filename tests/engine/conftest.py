"""Fixtures for the conversation-engine tests: a migrated SQLite file per test, a clock the
test controls, people with roles, and a scripted chat. Standalone: no shared fixtures."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import Engine

from bot.engine import Actor, Conversation
from scoring import Worksheet, load_worksheet
from storage.engine import make_engine, upgrade
from tests.engine.helpers import START, Chat, Clock, People
from tests.sheets import pulse_sheet_path


@pytest.fixture
def clock() -> Iterator[Clock]:
    with time_machine.travel(START, tick=True) as traveller:
        yield Clock(traveller)


@pytest.fixture(scope="session")
def worksheet() -> Worksheet:
    """The default sheet with a floor a single pulse reaches (see tests/sheets.py)."""
    return load_worksheet(pulse_sheet_path())


@pytest.fixture(scope="session")
def migrated(tmp_path_factory) -> Path:
    """One migrated database file; each test gets its own copy (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "engine.db"
    upgrade(f"sqlite:///{path}")
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
    return path


@pytest.fixture
def db_url(tmp_path, migrated: Path) -> str:
    path = tmp_path / "engine.db"
    shutil.copyfile(migrated, path)
    return f"sqlite:///{path}"


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def conv(db: Engine, worksheet: Worksheet, clock: Clock) -> Conversation:
    return Conversation(db, worksheet, clock=clock)


@pytest.fixture
def people(db: Engine) -> People:
    return People(db)


@pytest.fixture
def alice(people: People) -> Actor:
    return people.add("alice")


@pytest.fixture
def chat(conv: Conversation, alice: Actor) -> Chat:
    return Chat(conv, alice)
