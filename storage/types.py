"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps everywhere.

    SQLite silently drops offsets (``10:00+01:00`` comes back as naive ``10:00``), so values are
    converted to UTC on the way in and UTC is re-attached on the way out. Naive datetimes are
    refused: guessing their zone is how reminders end up an hour early.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return _as_utc(value)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        # One function per value instead of the impl's processor plus process_result_value:
        # timestamps are read by the hundred thousand when reminders are planned, and
        # ``datetime.replace(tzinfo=...)`` alone costs more than parsing the text.
        return _from_sqlite_text if dialect.name == "sqlite" else _as_utc


def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # raw SQLite text, e.g. from a hand-written query
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _from_sqlite_text(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:  # what process_bind_param stored: naive UTC text
            parsed = datetime.fromisoformat(value + "+00:00")
        except ValueError:  # text that carries its own offset
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:  # (not so for a bare date)
            return parsed
    return _as_utc(value)
