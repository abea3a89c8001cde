"""The calibration report for every channel: rows → figures → a report, or one line saying
why not.

One path for ``gradebot calibrate`` and the admins' card (``/portfolio calibration`` in
Slack, ``portfolio calibration`` in Teams): the same refusal lines (too few outcomes,
nothing to compare, scikit-learn missing, not an admin), the same figures, and the card's
display parts from ``bot.display`` — channels only lay them out. Computing takes seconds
on a large book (2.7 s on 10,000 customers), so channels call it after their ack.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import display
from bot.display import Line, Part
from bot.trust import Refused
from scoring import Worksheet
from scoring.calibration import Calibration, MissingExtra, Refusal, calibrate
from storage.outcomes import CalibrationData


@dataclass(frozen=True)
class CalibrationView:
    """A report, with how many outcomes were recorded and how many had no grade early
    enough to count."""

    report: Calibration
    recorded: int
    ungraded: int
    title: str = display.CALIBRATION_TITLE

    def parts(self, note: Line | None = None) -> list[Part]:
        """The card below its title (``note``: the chart could not be attached)."""
        return display.calibration_parts(self.report, self.recorded, self.ungraded, note)


def calibration_result(ws: Worksheet, data: CalibrationData) -> CalibrationView | Refused:
    """The report on ``data``, or the one line that says why there is none (including
    how to install scikit-learn, the optional extra, when it is missing)."""
    try:
        report = calibrate(ws, data.observations)
    except MissingExtra as exc:
        return Refused(str(exc))
    if isinstance(report, Refusal):
        return Refused(display.calibration_refusal(report.reason, data.outcomes, data.ungraded))
    return CalibrationView(report, data.outcomes, data.ungraded)
