"""A hot read run on the session's own DB-API cursor.

SQLAlchemy's execution layer costs ~35–40 µs per statement (execution context, parameter
and result objects) — nothing for most queries, but several times the cost of an indexed
look-up on in-process SQLite, which answers in ~10 µs. ``Prepared`` keeps what matters from
that layer and drops the rest:

* the SQL is still built with Core and compiled by the dialect (once per dialect), so
  there is no hand-written SQL and both backends get their own paramstyle and casts;
* it runs on the session's connection, inside the session's transaction, after the
  session's autoflush, so it sees what the session has pending;
* values go through the column types' own result processors (timestamps come back aware
  UTC as everywhere else);
* ``before/after_cursor_execute`` listeners still see the statement (tracing, counting);
* driver errors are raised as SQLAlchemy's exceptions, and a dropped connection is
  invalidated, exactly as a Core ``execute`` does — callers catch one set of errors.

Use it for single-row look-ups on the hot path only; everything else uses the session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError


@dataclass
class _Compiled:
    sql: str
    positions: Sequence[str] | None  # bind names in order for positional paramstyles
    processors: list[tuple[int, Callable[[Any], Any]]] | None = None  # filled on first run

    def args(self, params: Mapping[str, Any]) -> Any:
        if self.positions is None:
            return dict(params)
        return tuple(params[name] for name in self.positions)


class Prepared:
    """A Core ``select`` compiled once per dialect and fetched with a DB-API cursor."""

    def __init__(self, stmt: Select[Any]) -> None:
        self.stmt = stmt
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            c = self.stmt.compile(dialect=dialect)
            positions = list(c.positiontup) if c.positional and c.positiontup else None
            compiled = self._compiled[dialect.name] = _Compiled(c.string, positions)
        return compiled

    def first(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row (values converted by the column types), or None."""
        dialect = conn.dialect
        compiled = self._for(dialect)
        args = compiled.args(params)
        fairy = conn.connection  # the pooled DB-API connection of this transaction
        cursor = fairy.cursor()
        try:
            if conn.dispatch.before_cursor_execute:
                conn.dispatch.before_cursor_execute(conn, cursor, compiled.sql, args, None,
                                                    False)
            cursor.execute(compiled.sql, args)
            row = cursor.fetchone()
            if compiled.processors is None:
                compiled.processors = self._processors(dialect, cursor.description)
            if conn.dispatch.after_cursor_execute:
                conn.dispatch.after_cursor_execute(conn, cursor, compiled.sql, args, None,
                                                   False)
        except dialect.loaded_dbapi.Error as e:
            raise self._wrap(conn, cursor, compiled.sql, args, e) from e
        finally:
            cursor.close()
        if row is None or not compiled.processors:
            return row
        values = list(row)
        for i, process in compiled.processors:
            values[i] = process(values[i])
        return tuple(values)

    def _processors(self, dialect: Dialect, description: Sequence[Any]
                    ) -> list[tuple[int, Callable[[Any], Any]]]:
        """The result processor of each selected column's type, as SQLAlchemy picks them:
        the dialect's implementation of the type, told the driver's column type code."""
        out: list[tuple[int, Callable[[Any], Any]]] = []
        for i, (column, desc) in enumerate(zip(self.stmt.selected_columns, description,
                                               strict=True)):
            process = dialect.type_descriptor(column.type).result_processor(dialect, desc[1])
            if process is not None:
                out.append((i, process))
        return out

    @staticmethod
    def _wrap(conn: Connection, cursor: Any, sql: str, args: Any,
              error: Exception) -> BaseException:
        """The SQLAlchemy exception a Core execute would raise for ``error``; a dropped
        connection is invalidated so the pool replaces it."""
        dialect = conn.dialect
        # SQLAlchemy types the driver's error as its PEP 249 protocol, not as an exception
        dropped = dialect.is_disconnect(error, conn.connection.dbapi_connection,  # type: ignore[arg-type]
                                        cursor)
        if dropped:
            conn.invalidate(error)
        return DBAPIError.instance(sql, args, error, dialect.loaded_dbapi.Error,
                                   connection_invalidated=dropped, dialect=dialect)
