"""Fixtures for the conversation-engine tests: a migrated SQLite file per test, a clock the
test controls, people with roles, and a scripted chat (the migrated template is the shared
one, ``migrated_sqlite``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine
from sqlalchemy import Engine

from bot.engine import Actor, Conversation
from scoring import Worksheet, load_worksheet
from storage.engine import make_engine
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


@pytest.fixture
def db_url(migrated_sqlite_url: str) -> str:
    """SQLite only here: this test's copy of the migrated template (tests/conftest.py)."""
    return migrated_sqlite_url


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
