"""``/customer``, ``/grades`` and ``/portfolio`` in Slack: the engine's look-up answers
(``Services.look_up``) as ephemeral Block Kit, then what follows each in the DM (override
notices, the portfolio chart, the calibration chart). Which answer comes is decided in
``bot.look_up``; this module only lays answers out."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.calibration_card import CalibrationView
from bot.look_up import LookUp, render
from bot.lookups import BookView, CustomerCard, Denied, NotFoundCard, PortfolioView, grade_value
from bot.services import Person, Services
from bot.slack import blocks as bk
from bot.slack import calibration as calibration_card
from bot.slack.delivery import Delivery
from bot.trust import OverrideResult, Refused, TextView

Blocks = tuple[str, list[dict[str, Any]]]  # (the fallback text, the blocks)


@dataclass(frozen=True)
class SlackAnswers:
    """Each kind of answer as Block Kit (``bot.look_up.Renders``)."""

    dimension_names: Mapping[str, str]

    def card(self, card: CustomerCard | NotFoundCard) -> Blocks:
        return bk.render_card(card, card.regrade.value if card.regrade else None,
                              self.dimension_names)

    def book(self, view: BookView) -> Blocks:
        return bk.render_book(view, grade_value=grade_value)

    def portfolio(self, view: PortfolioView) -> Blocks:
        return bk.render_portfolio(view)

    def lines(self, view: TextView | Refused | Denied) -> Blocks:
        return bk.render_text_view(view)

    def override(self, result: OverrideResult) -> Blocks:
        return bk.render_text_view(result.view)

    def calibration(self, view: CalibrationView) -> Blocks:
        return calibration_card.render(view)


async def answer(sv: Services, delivery: Delivery, person: Person, ask: LookUp, text: str,
                 *, channel: str, client: AsyncWebClient, respond: Any) -> None:
    """Look up (after the command's ack), answer in place of "On it…", then follow up."""
    found = await asyncio.to_thread(sv.look_up, person, ask, text)
    t, b = render(found, SlackAnswers(sv.dimension_names))
    await respond(text=t, blocks=b, response_type="ephemeral", replace_original=True)
    if isinstance(found, OverrideResult):
        for who, said in found.notices:
            await delivery.tell(client, who, said)
    elif isinstance(found, PortfolioView):
        await delivery.upload_chart(client, person, found)
    elif isinstance(found, CalibrationView):
        await calibration_card.attach_chart(found, channel, client, respond)
