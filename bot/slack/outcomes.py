"""Slack: a "Record outcome" pick on the customer card, and a tap under the renewal question.

The engine decides (``Services.record_outcome`` → ``bot.engine.outcomes``); this module only
hands it the value as it was on the select or button, and the card's datepicker (Slack sends
the state of a message's inputs with every block action), then shows the answer where the
click was: below the ephemeral card (which stays, to record another), or — once the renewal
question in the DM is answered — in place of that question, so its buttons go. A refusal
never replaces anything.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.engine import options as opts
from bot.slack import blocks as bk

if TYPE_CHECKING:
    from bot.slack.app import SlackBot


def is_outcome(value: str) -> bool:
    """Whether a clicked value is one of ours (a select item or a question's button)."""
    return isinstance(opts.decode_or_none(value), opts.RecordOutcome)


async def record(
    bot: SlackBot, body: dict[str, Any], value: str, client: AsyncWebClient, respond: Any
) -> None:
    team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id", "")
    _, person = await bot.actor_for(team, body["user"]["id"], body["user"].get("name", ""), client)
    reply = await asyncio.to_thread(bot.sv.record_outcome, person, value, bk.picked_day(body))
    text, blocks = bk.escape(reply.text), bk.to_dicts([bk.section(reply.text)])
    chosen = opts.decode_or_none(value)
    question = isinstance(chosen, opts.RecordOutcome) and chosen.ask is not None
    if body.get("response_url"):
        ephemeral = bool((body.get("container") or {}).get("is_ephemeral"))
        if question and reply.done and not ephemeral:  # the question, answered: in its place
            await respond(text=text, blocks=blocks, replace_original=True)
        else:  # below the card (or the refused tap), which stays
            await respond(
                text=text, blocks=blocks, response_type="ephemeral", replace_original=False
            )
    else:  # (no place to answer in: the DM)
        await bot.delivery.tell(client, person, reply.text)
