"""``/customer``, ``/grades`` and ``/portfolio`` in Slack: the engine's look-up answers
(``Services.look_up``) as ephemeral Block Kit, then what follows each in the DM (override
notices, the portfolio chart, the calibration chart). Which answer comes is decided in
``bot.look_up``; this module only lays answers out."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.look_up import Answer, LookUp
from bot.lookups import BookView, CustomerCard, Denied, NotFoundCard, PortfolioView, grade_value
from bot.services import Person, Services
from bot.slack import blocks as bk
from bot.slack.delivery import Delivery
from bot.trust import OverrideResult, Refused, TextView


def render(answer: Answer, dimension_names: Mapping[str, str]
           ) -> tuple[str, list[dict[str, Any]]]:
    """Any look-up answer as (fallback text, blocks), by its type."""
    if isinstance(answer, OverrideResult):
        return bk.render_text_view(answer.view)
    if isinstance(answer, CustomerCard | NotFoundCard):
        return bk.render_card(answer, answer.regrade.value if answer.regrade else None,
                              dimension_names)
    if isinstance(answer, BookView):
        return bk.render_book(answer, grade_value=grade_value)
    if isinstance(answer, PortfolioView):
        return bk.render_portfolio(answer)
    if isinstance(answer, TextView | Refused | Denied):
        return bk.render_text_view(answer)
    from bot.slack import calibration

    return calibration.render(answer)


async def answer(sv: Services, delivery: Delivery, person: Person, ask: LookUp, text: str,
                 *, channel: str, client: AsyncWebClient, respond: Any) -> None:
    """Look up (after the command's ack), answer in place of "On it…", then follow up."""
    found = await asyncio.to_thread(sv.look_up, person, ask, text)
    t, b = render(found, sv.dimension_names)
    await respond(text=t, blocks=b, response_type="ephemeral", replace_original=True)
    if isinstance(found, OverrideResult):
        for who, said in found.notices:
            await delivery.tell(client, who, said)
    elif isinstance(found, PortfolioView):
        await delivery.upload_chart(client, person, found)
    elif ask is LookUp.CALIBRATION and not isinstance(found, Refused):
        from bot.calibration_card import CalibrationView
        from bot.slack import calibration

        assert isinstance(found, CalibrationView)
        await calibration.attach_chart(found, channel, client, respond)
