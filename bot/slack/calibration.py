"""``/portfolio calibration`` (admins): the calibration card, and its chart uploaded where
the command was typed.

The card's words are ``bot.display``'s (through ``bot.calibration_card``); this module lays
them out as Block Kit and uploads the chart with ``files_upload_v2``. The command is acked
first (``SlackBot.on_command``), and everything here runs after the ack: computing takes
seconds on a large book. The card goes out first, so the figures never wait for the
upload; if the upload fails, the card is replaced by the same card saying the chart could
not be attached (the response_url takes up to five answers).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot import display
from bot.calibration_card import CalibrationView
from bot.display import Line
from bot.slack import blocks as bk
from bot.trust import Refused

log = logging.getLogger("gradebot.slack")
FILENAME = "calibration.png"


def render(
    view: CalibrationView | Refused, note: Line | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """The card (or the refusal in its place) as Block Kit: a header and the display
    parts (about 16 blocks: well under Slack's 50)."""
    if isinstance(view, Refused):
        return bk.render_text_view(view)
    blocks = [bk.header(view.title), *bk.styled_all(view.parts(note))]
    return bk.escape(view.title), bk.to_dicts(blocks)


async def attach_chart(view: CalibrationView, channel: str, client: AsyncWebClient,
                       respond: Any) -> None:
    """Attach the chart in ``channel`` below the card already shown; when it cannot be,
    the card is shown again with the reason (``display.chart_not_attached``)."""
    why = await upload_chart(client, channel, view)
    if why is not None:
        text, blocks = render(view, display.chart_not_attached(why))
        await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)


async def upload_chart(client: AsyncWebClient, channel: str, view: CalibrationView) -> str | None:
    """Upload the chart into ``channel``; None when it is there, else a short reason (the
    bot is not in that channel, Slack could not be reached …) for the card to show."""
    from bot.calibration_chart import chart_png

    try:
        png = await asyncio.to_thread(chart_png, view.report, view.title)
    except Exception:  # the figures stand without their picture; the fault is logged
        log.exception("drawing the calibration chart failed")
        return display.CHART_NOT_DRAWN
    try:
        await client.files_upload_v2(
            channel=channel,
            content=png,
            filename=FILENAME,
            title=display.CALIBRATION_TITLE,
            alt_txt=display.CALIBRATION_CHART_ALT,
            initial_comment=display.CALIBRATION_CAPTION,
        )
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "error")
        log.warning("calibration chart upload refused: %s", error)
        return error  # Slack's own code: not_in_channel, channel_not_found …
    except (SlackRequestError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("calibration chart upload failed: %s", type(exc).__name__)
        return display.CHART_UNREACHABLE
    return None
