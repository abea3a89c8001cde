"""Days typed in files and commands: one spelling, so a day is never read as another."""

from __future__ import annotations

import re
from datetime import date

from storage.errors import InvalidInput

EARLIEST = date(1970, 1, 1)
_DAY = re.compile(
    r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?)?$"
)


def parse_day(value: str, today: date | None = None, what: str = "") -> date:
    """A day written ``YYYY-MM-DD`` (a time after it, as spreadsheets export, is ignored);
    not after ``today`` when one is given. Day-first and month-first dates are refused:
    ``03/04/2026`` is the 3rd of April in one country and the 4th of March in the next."""
    v = value.strip()
    m = _DAY.match(v)
    label = f"{what} " if what else ""
    try:
        if m is None:
            raise ValueError
        day = date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise InvalidInput(
            f"{label}{v[:40]!r} is not a date: write it YYYY-MM-DD, e.g. 2026-03-31."
        ) from None
    if day < EARLIEST:
        raise InvalidInput(f"{label}{day.isoformat()} is too long ago.")
    if today is not None and day > today:
        raise InvalidInput(
            f"{label}{day.isoformat()} is in the future: record an outcome once it has happened."
        )
    return day
