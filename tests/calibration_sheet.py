"""A worksheet for the calibration card's tests: the pulse sheet (``tests.sheets``) with
markup in a dimension's name and in every question's label, so the card's tests see that
names from the worksheet are shown as typed (no ping, no bold, no mention) wherever they
appear."""

from __future__ import annotations

import re
import tempfile
from functools import cache
from pathlib import Path

from tests.sheets import pulse_sheet_path

DIMENSION = "Fit <!channel> <at>all</at> *loud*"  # the name "Fit" becomes this
LABEL_MARK = "<!here>"  # appended to every question's label


@cache
def marked_sheet_path() -> Path:
    text = pulse_sheet_path().read_text(encoding="utf-8")
    assert "    name: Fit\n" in text, "default.yml's Fit dimension moved"
    text = text.replace("    name: Fit\n", f'    name: "{DIMENSION}"\n')
    text = re.sub(
        r"^(    label: )(.+)$",
        lambda m: f'{m.group(1)}"{m.group(2)} {LABEL_MARK}"',
        text,
        flags=re.MULTILINE,
    )
    path = Path(tempfile.mkdtemp(prefix="gradebot-sheet-")) / "marked.yml"
    path.write_text(text, encoding="utf-8")
    return path


# What the card says on 52 seeded outcomes, whichever channel renders it (each line is
# display's, so Slack and Teams must show the same).
CARD_LINES = (
    "52 outcomes with a grade made at least 90 days before",
    "Separating churners: AUC 0.",
    "95% interval",
    "Calibration: Brier score 0.",
    "Outcomes per letter (the grade made ≥ 90 days before)",
    "Dimension weights: now → suggested (95% interval",
    "Questions that carried the signal",
)
