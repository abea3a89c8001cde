"""Alembic migrations from an empty database, on every backend."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.engine import alembic_config, current_revision, make_engine, upgrade

TABLES = {"workspace", "person", "customer", "grading_session", "answer", "grade", "decision",
          "reminder_delivery", "processed_event"}


def head() -> str:
    h = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert h is not None
    return h


def test_upgrade_from_empty_reaches_head_with_every_table(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        assert not set(inspect(engine).get_table_names()) & TABLES
        upgrade(db_url)
        assert current_revision(engine) == head()
        names = set(inspect(engine).get_table_names())
        assert names >= TABLES | {"alembic_version"}
        assert set(SQLModel.metadata.tables) == TABLES  # the list above is complete
        indexes = {ix["name"]: ix for ix in inspect(engine).get_indexes("grading_session")}
        assert indexes["ux_session_active"]["unique"]
    finally:
        engine.dispose()


def test_upgrade_twice_is_idempotent_and_keeps_data(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO workspace (platform, external_id, name, settings, "
                              "created_at) VALUES ('cli', 'local', 'Local', '{}', "
                              "CURRENT_TIMESTAMP)"))
        upgrade(db_url)
        assert current_revision(engine) == head()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM workspace")).scalar_one() == 1
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    """Autogenerate finds nothing to do: the migration and the tables agree."""
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn, opts={
                "compare_type": True}), SQLModel.metadata)
        assert diffs == []
    finally:
        engine.dispose()


def test_downgrade_to_base_and_back(db_url: str) -> None:
    upgrade(db_url)
    command.downgrade(alembic_config(db_url), "base")
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        assert not set(inspect(engine).get_table_names()) & TABLES
        upgrade(db_url)
        assert current_revision(engine) == head()
    finally:
        engine.dispose()
