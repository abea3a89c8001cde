"""``portfolio calibration`` (admins) in Teams: the calibration card with its chart inside.

The words are ``bot.display``'s (through ``bot.calibration_card``); this module lays them out
as an Adaptive Card, the chart an ``Image`` whose URL is the PNG itself
(``data:image/png;base64,…``): a bot cannot upload a file into a personal chat without the
user's consent flow, and a card image needs no hosting. The chart is drawn small
(``calibration_chart.CARD``: 680 × 288 px, 16 colours, ~10 KB) so that the whole activity
stays well under the ~28 KB Teams accepts.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from microsoft_teams.cards import AdaptiveCard, Image

from bot import display
from bot.calibration_card import CalibrationView
from bot.teams.cards import card, heading, styled_all, text
from bot.trust import Refused

log = logging.getLogger("gradebot.teams")


def chart_url(view: CalibrationView) -> str | None:
    """The small chart as a data: URL, or None when it could not be drawn (logged)."""
    from bot.calibration_chart import CARD, chart_png

    try:
        png = chart_png(view.report, size=CARD)
    except Exception:  # the figures stand without their picture
        log.exception("drawing the calibration chart failed")
        return None
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def calibration_card(view: CalibrationView | Refused) -> AdaptiveCard:
    """The card (or the refusal in its place). Blocking: it draws the chart."""
    if isinstance(view, Refused):
        return card([text(view.message)])
    url = chart_url(view)
    note = None if url else display.chart_not_attached(display.CHART_NOT_DRAWN)
    body: list[Any] = [heading(view.title)]
    if url is not None:
        body.append(Image(url=url, alt_text=display.CALIBRATION_CHART_ALT, size="Stretch"))
    return card([*body, *styled_all(view.parts(note))])
