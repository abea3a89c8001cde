"""The worksheet the channel and conversation suites grade with.

Those suites test conversations, buttons, cards and threads, mostly through one quarterly
pulse of a new customer. With the default sheet such a pulse covers 37 % of the worksheet,
below its 60 % coverage floor, so it would end as a draft rather than a saved grade. They
run with the default sheet and a floor of 35 %, so a full pulse still gets a (provisional)
letter. The floor itself, carrying answers from earlier gradings and drafts are tested on
the default sheet as it ships: tests/scoring, tests/engine/test_sheet.py and
tests/slack/test_sheet.py.
"""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

from scoring.worksheet import DEFAULT_WORKSHEET_PATH

PULSE_FLOOR = 0.35


@cache
def pulse_sheet_path() -> Path:
    """The default worksheet with ``coverage_floor`` lowered to PULSE_FLOOR (written once)."""
    text = DEFAULT_WORKSHEET_PATH.read_text(encoding="utf-8")
    old = "  coverage_floor: 0.6\n"
    assert old in text, "default.yml's coverage_floor moved: update tests/sheets.py"
    path = Path(tempfile.mkdtemp(prefix="gradebot-sheet-")) / "pulse.yml"
    path.write_text(text.replace(old, f"  coverage_floor: {PULSE_FLOOR}\n"), encoding="utf-8")
    return path
