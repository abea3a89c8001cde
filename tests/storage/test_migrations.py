"""Alembic migrations from an empty database, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.engine import alembic_config, current_revision, make_engine, upgrade
from storage.models import Customer
from tests.storage.helpers import head

TABLES = {"workspace", "person", "customer", "grading_session", "answer", "grade", "decision",
          "reminder_delivery", "processed_event", "outcome", "second_opinion",
          "opinion_grade", "grade_override"}


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
        assert indexes["ux_session_strategic_active"]["unique"]
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


def _local_workspace(conn: Connection) -> None:
    """Workspace 1, written as an older revision's table takes it."""
    conn.execute(text(
        "INSERT INTO workspace (id, platform, external_id, name, settings, created_at) "
        "VALUES (1, 'cli', 'local', 'Local', '{}', CURRENT_TIMESTAMP)"))


def test_0002_copies_each_latest_grade_letter_and_time_onto_its_customer(db_url: str) -> None:
    """A database graded under 0001 plans reminders correctly after upgrading."""
    upgrade(db_url, "0001")
    engine = make_engine(db_url)
    at = "2025-06-30 12:00:00" if engine.dialect.name == "sqlite" else "2025-06-30 12:00:00+00"
    try:
        with engine.begin() as conn:
            _local_workspace(conn)
            for cid, name in ((1, "Graded Co"), (2, "Never Graded")):
                conn.execute(text(
                    "INSERT INTO customer (id, workspace_id, name, normalized_name, status, "
                    "archived, created_at, updated_at) VALUES (:id, 1, :n, :n, 'customer', "
                    "false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"id": cid, "n": name})
            for gid, letter, when in ((1, "D", "2024-01-01 00:00:00"), (2, "B", at)):
                conn.execute(text(
                    "INSERT INTO grade (id, workspace_id, customer_id, cadence, period, "
                    "worksheet_id, worksheet_version, total, letter, recommendation, coverage, "
                    "dimensions, goods, explanation, answers, created_at) VALUES (:id, 1, 1, "
                    "'annual', '2025', 'default', 1, 70, :l, 'maintain', 1, '{}', '{}', '[]', "
                    "'{}', :at)"), {"id": gid, "l": letter, "at": when})
            conn.execute(text("UPDATE customer SET latest_grade_id = 2 WHERE id = 1"))
        upgrade(db_url)
        with Session(engine) as s:
            graded, never = s.get(Customer, 1), s.get(Customer, 2)
            assert graded is not None
            assert never is not None
            assert graded.latest_letter == "B"  # the pointer's grade, not the older one
            assert graded.latest_graded_at == datetime(2025, 6, 30, 12, tzinfo=UTC)
            assert (never.latest_letter, never.latest_graded_at) == (None, None)
    finally:
        engine.dispose()


def _insert_session(conn: Connection, sid: int, person_id: int, customer_id: int | None,
                    status: str) -> None:
    conn.execute(text(
        "INSERT INTO grading_session (id, workspace_id, person_id, customer_id, kind, cadence, "
        "worksheet_id, worksheet_version, position, status, platform, refs, state, version, "
        "created_at, updated_at) VALUES (:id, 1, :p, :c, :k, :k, 'default', 1, 0, :st, "
        "'slack', '{}', '{}', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
        {"id": sid, "p": person_id, "c": customer_id, "st": status,
         "k": "strategic" if customer_id is None else "annual"})


def test_0003_keeps_the_newest_active_strategic_review_of_each_rep(db_url: str) -> None:
    """A database where a race already left a rep with several active strategic reviews
    upgrades: the newest stays active, the others expire (version bumped, so a copy read
    before cannot move them), and nothing else changes. Downgrade drops the index only."""
    upgrade(db_url, "0002")
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            _local_workspace(conn)
            for pid in (1, 2):
                conn.execute(text(
                    "INSERT INTO person (id, workspace_id, external_id, display_name, role, "
                    "created_at) VALUES (:id, 1, :x, :x, 'rep', CURRENT_TIMESTAMP)"),
                    {"id": pid, "x": f"U{pid}"})
            conn.execute(text(
                "INSERT INTO customer (id, workspace_id, name, normalized_name, status, "
                "archived, created_at, updated_at) VALUES (1, 1, 'Acme', 'acme', 'customer', "
                "false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
            rows = [(1, 1, None, "open"), (2, 1, None, "saved"), (3, 1, None, "paused"),
                    (4, 1, 1, "open"), (5, 1, None, "review"), (6, 1, None, "expired"),
                    (7, 2, None, "open")]
            for sid, pid, cid, status in rows:
                _insert_session(conn, sid, pid, cid, status)
        upgrade(db_url)
        assert current_revision(engine) == head()
        with engine.connect() as conn:
            got = dict(conn.execute(text(
                "SELECT id, status || ':' || CAST(version AS VARCHAR(8)) FROM grading_session"
            )).all())
        assert got == {1: "expired:2", 2: "saved:1", 3: "expired:2", 4: "open:1",
                       5: "review:1", 6: "expired:1", 7: "open:1"}
        with engine.connect() as conn, pytest.raises(IntegrityError):  # now the index holds
            _insert_session(conn, 8, 2, None, "paused")
        command.downgrade(alembic_config(db_url), "0002")
        assert "ux_session_strategic_active" not in {
            ix["name"] for ix in inspect(engine).get_indexes("grading_session")}
        with engine.begin() as conn:  # without the index the database allows it again...
            _insert_session(conn, 8, 2, None, "paused")
        upgrade(db_url)  # ...and upgrading again resolves it before building the index
        with engine.connect() as conn:
            assert conn.execute(text("SELECT id FROM grading_session WHERE person_id = 2 AND "
                                     "status IN ('open', 'review', 'paused')")
                                ).scalars().all() == [8]
    finally:
        engine.dispose()


def test_0004_rewrites_customer_keys_with_joiners(db_url: str) -> None:
    """Keys stored before joiners were dropped from them are rewritten, so exact look-ups
    find those customers; where the rewritten key is taken, the row keeps its key."""
    from storage.customers import find_customer

    upgrade(db_url, "0003")
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            _local_workspace(conn)
            for cid, name, key in ((1, "Ac\u200dme", "ac\u200dme"),           # rewritten
                                   (2, "Beta", "beta"),
                                   (3, "Be\u200cta", "be\u200cta"),           # key taken
                                   (4, "👩\u200d💻 Dev Co", "👩\u200d💻 dev co")):
                conn.execute(text(
                    "INSERT INTO customer (id, workspace_id, name, normalized_name, status, "
                    "archived, created_at, updated_at) VALUES (:id, 1, :n, :k, 'customer', "
                    "false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"id": cid, "n": name,
                                                                      "k": key})
        upgrade(db_url)
        with engine.connect() as conn:
            keys = dict(conn.execute(text("SELECT id, normalized_name FROM customer")).all())
        assert keys == {1: "acme", 2: "beta", 3: "be\u200cta", 4: "👩💻 dev co"}
        with Session(engine) as s:
            assert find_customer(s, 1, "ACME").exact.id == 1  # type: ignore[union-attr]
            assert find_customer(s, 1, "👩\u200d💻 dev co").exact.id == 4  # type: ignore[union-attr]
    finally:
        engine.dispose()
