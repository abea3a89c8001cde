"""``once_more_if_dropped``: a transaction whose connection dropped is run once more on a new
connection; any other error, or a second drop, reaches the caller."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from storage.engine import once_more_if_dropped, session_scope


def _terminate_own_backend(engine: Engine, pid: int) -> None:
    admin = create_engine(engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            deadline = time.monotonic() + 5
            while conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"),
                               {"p": pid}).scalar_one() and time.monotonic() < deadline:
                time.sleep(0.02)
    finally:
        admin.dispose()


def test_other_errors_are_not_retried(engine: Engine) -> None:
    calls: list[int] = []

    def work() -> None:
        calls.append(1)
        with session_scope(engine) as s:
            s.connection().execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(DBAPIError) as caught:
        once_more_if_dropped(work)
    assert not caught.value.connection_invalidated
    assert len(calls) == 1


@pytest.mark.parametrize("drops", [1, 2])
def test_a_dropped_connection_is_retried_once(engine: Engine, drops: int) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL connections can be dropped from the server side")
    calls: list[int] = []

    def work() -> int:
        calls.append(1)
        with session_scope(engine) as s:
            conn = s.connection()
            if len(calls) <= drops:
                _terminate_own_backend(engine, conn.execute(
                    text("SELECT pg_backend_pid()")).scalar_one())
            return int(conn.execute(text("SELECT 41 + 1")).scalar_one())

    if drops == 1:
        assert once_more_if_dropped(work) == 42
    else:
        with pytest.raises(DBAPIError) as caught:
            once_more_if_dropped(work)
        assert caught.value.connection_invalidated
    assert len(calls) == 2
