"""The hot look-up's Prepared statement behaves as a Core execute does: same values and
types, seen by listeners, inside the session's transaction, SQLAlchemy's exceptions, and a
dropped connection replaced."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import Engine, bindparam, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from storage.engine import session_scope
from storage.grades import latest_grade_by_name
from storage.models import Customer, Grade, Person, Workspace
from storage.prepared import Prepared
from tests.storage.helpers import count_statements, customer, grade, utc

_C, _G = Customer.__table__, Grade.__table__  # type: ignore[attr-defined]
STMT = (select(_C.c.id, _C.c.name, _G.c.total, _G.c.letter, _G.c.created_at, _C.c.archived)
        .select_from(_C.outerjoin(_G, _G.c.id == _C.c.latest_grade_id))
        .where(_C.c.normalized_name == bindparam("key")))


def test_values_and_types_are_those_of_a_core_execute(session: Session, workspace: Workspace,
                                                      rep: Person) -> None:
    graded = customer(session, workspace, "Zoë Café", rep)
    customer(session, workspace, "Never Graded", rep)
    grade(session, graded, "B", utc(2026, 2, 3, 4, 5, 6), total=66.75)
    prepared = Prepared(STMT)
    conn = session.connection()
    for key in ("zoe cafe", "never graded"):
        core = tuple(conn.execute(STMT, {"key": key}).one())
        fast = prepared.first(conn, {"key": key})
        assert fast == core
        assert [type(v) for v in fast] == [type(v) for v in core]  # type: ignore[union-attr]
    hit = prepared.first(conn, {"key": "zoe cafe"})
    assert hit is not None
    assert hit[2:5] == (66.75, "B", utc(2026, 2, 3, 4, 5, 6))
    assert hit[4].tzinfo is UTC
    assert hit[5] is False
    assert prepared.first(conn, {"key": "nobody"}) is None


def test_listeners_see_it_and_it_sees_the_session_s_pending_rows(
        session: Session, workspace: Workspace, rep: Person, engine: Engine) -> None:
    customer(session, workspace, "Pending Co", rep, commit=False)
    with count_statements(engine) as counter:
        hit = latest_grade_by_name(session, workspace.id, "PENDING co")  # type: ignore
    assert hit is not None
    assert hit.name == "Pending Co"
    kinds = [s.split(None, 1)[0].upper() for s in counter.statements]
    assert kinds == ["INSERT", "SELECT"]  # the autoflush, then the look-up, both seen
    session.rollback()
    assert latest_grade_by_name(session, workspace.id, "pending co") is None  # type: ignore


def test_driver_errors_are_sqlalchemy_errors_and_the_session_recovers(
        session: Session, workspace: Workspace, rep: Person) -> None:
    customer(session, workspace, "Acme", rep)
    broken = Prepared(select(text("no_such_column")).select_from(_C))
    with pytest.raises(DBAPIError) as caught:
        broken.first(session.connection(), {})
    assert "no_such_column" in str(caught.value.orig)
    assert not caught.value.connection_invalidated
    session.rollback()
    hit = latest_grade_by_name(session, workspace.id, "acme")  # type: ignore[arg-type]
    assert hit is not None


@pytest.mark.postgres
def test_a_dropped_connection_is_reported_and_replaced(
        engine: Engine, session: Session, workspace: Workspace, rep: Person) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL connections can be dropped from the server side")
    customer(session, workspace, "Acme", rep)
    session.close()
    with session_scope(engine) as s:
        conn = s.connection()
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            admin.commit()
        with pytest.raises(DBAPIError) as caught:
            latest_grade_by_name(s, workspace.id, "acme")  # type: ignore[arg-type]
        assert caught.value.connection_invalidated
        s.rollback()
    with session_scope(engine) as s:  # the pool replaced the dead connection
        hit = latest_grade_by_name(s, workspace.id, "acme")  # type: ignore[arg-type]
        assert hit is not None
        assert hit.name == "Acme"
