"""Putting engine prompts where the rep sees them: a thread in their DM with the bot.

The thread's channel and parent ts, and the ts of each question's message, are stored on
the grading session (not rebuilt from Slack history, which non-Marketplace apps may read
about once a minute). The thread stays tidy: one message per question plus the opening (the
engine's opening words go into the thread's first message), the review and the result.
Everything else happens in place: an answered question's message loses its buttons and shows
the recorded answer; a question asked again (back, change, a re-ask) is that same message
with its buttons back; a new review replaces the old one's content; a saved review says it is
saved.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot import display
from bot.engine import Actor, Kind, Option, Prompt, SessionKind
from bot.engine import options as opts
from bot.lookups import PortfolioView
from bot.services import Person, Services
from bot.slack import blocks as bk
from bot.threads import Thread

log = logging.getLogger("gradebot.slack")
Respond = Callable[..., Awaitable[Any]]


class Delivery:
    def __init__(self, services: Services) -> None:
        self.sv = services

    async def dm_channel(self, client: AsyncWebClient, user_id: str,
                         person: Person | None = None) -> str:
        if person is not None and person.dm_channel:
            return person.dm_channel
        res = await client.conversations_open(users=user_id)
        channel = str(res["channel"]["id"])
        if person is not None:
            await asyncio.to_thread(self.sv.remember_dm, person, channel)
        return channel

    async def respond_url(self, url: str, text: str, blocks: list[dict[str, Any]],
                          replace: bool = True) -> None:
        """Answer through a response_url (for failures reported outside Bolt's respond).
        ``replace``: replace the message the request came from (only right for our own
        ephemeral notes; a question in the DM thread must stay)."""
        async with aiohttp.ClientSession() as http, http.post(
                url, json={"text": text, "blocks": blocks, "response_type": "ephemeral",
                           "replace_original": replace},
                timeout=aiohttp.ClientTimeout(total=10)
        ) as r:
            r.raise_for_status()

    async def tell(self, client: AsyncWebClient, person: Person, text: str) -> None:
        """A plain notice in someone's DM (an override on their customer)."""
        channel = await self.dm_channel(client, person.external_id, person)
        await client.chat_postMessage(channel=channel, text=bk.escape(bk.clip(text, 3000)),
                                      blocks=bk.to_dicts([bk.section(text)]))

    # ------------------------------------------------------------------ prompts
    async def deliver(self, client: AsyncWebClient, actor: Actor, person: Person,
                      prompts: list[Prompt], respond: Respond | None = None) -> None:
        """Post ``prompts``: session prompts into the session's DM thread (created on first
        use), the rest as an ephemeral answer (slash commands) or a DM. Prompts addressed to
        someone else (``for_person_id``: a second opinion's worksheet, its result) go to
        that person's DM the same way."""
        others: dict[int, list[Prompt]] = {}
        for p in prompts:
            if p.for_person_id is not None and p.for_person_id != person.id:
                others.setdefault(p.for_person_id, []).append(p)
        prompts = [p for p in prompts if p.for_person_id in (None, person.id)]
        for pid, items in others.items():
            them, who = await asyncio.to_thread(self.sv.person_actor, pid)
            await self.deliver(client, them, who, items)
        loose = [p for p in prompts if p.session_id is None]
        for p in loose:
            text, blocks = bk.render_prompt(p)
            if respond is not None:
                await respond(text=text, blocks=blocks, response_type="ephemeral",
                              replace_original=True)
            else:
                channel = await self.dm_channel(client, person.external_id, person)
                await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        by_session: dict[int, list[Prompt]] = {}
        for p in prompts:
            if p.session_id is not None:
                by_session.setdefault(p.session_id, []).append(p)
        for session_id, items in by_session.items():
            opening = next((p for p in items if p.opening), None)
            gs, thread_new = await self._thread_for(client, person, session_id, opening)
            if thread_new and opening is not None:
                items = [p for p in items if p is not opening]  # it is the thread's first
            await self._post_in_thread(client, gs, items)
            if respond is not None:
                await self._point_to_thread(client, respond, gs, thread_new)

    async def _thread_for(self, client: AsyncWebClient, person: Person, session_id: int,
                          opening: Prompt | None = None) -> tuple[Thread, bool]:
        gs = await asyncio.to_thread(self.sv.threads.load, session_id)
        if gs.channel and gs.thread_ts:
            return gs, False
        channel = await self.dm_channel(client, person.external_id, person)
        title = gs.title
        blocks: list[Block] = [bk.header(title)]
        if opening is not None:
            blocks.append(bk.section(opening.text))
        blocks.append(bk.context("Answer in this thread: tap a button, or reply in your own "
                                 "words. Say help for commands."))
        if SessionKind(gs.kind).worksheet:
            blocks += bk.buttons([Option(value=opts.encode(opts.OpenForm(gs.session_id)),
                                         label="Fill in a form instead")], "form")
        res = await client.chat_postMessage(channel=channel, text=bk.escape(title),
                                            blocks=bk.to_dicts(blocks))
        ts = str(res["ts"])
        gs = await asyncio.to_thread(self.sv.threads.update, session_id, channel=channel,
                                     thread_ts=ts)
        return gs, True

    async def _post_in_thread(self, client: AsyncWebClient, gs: Thread,
                              prompts: list[Prompt]) -> None:
        refs: dict[str, str] = {}
        known = dict(gs.refs)
        said_below = False  # this batch posted a notice (so older messages are above it)
        for p in prompts:
            if p.kind is Kind.ECHO and p.question_id and f"q:{p.question_id}" not in known:
                # the question may have been posted a moment ago by another request (or
                # replica) that has not stored its ts yet: look again before posting the
                # echo as a message of its own
                known.update(await self._fresh_refs(gs.session_id, f"q:{p.question_id}"))
            ref = known.get(f"q:{p.question_id}") if p.kind is Kind.ECHO else None
            if ref and await self._mark_answered(client, gs, ref, p):
                if known.get("live") == f"q:{p.question_id}":
                    refs["live"] = known["live"] = ""  # answered: it is not waiting any more
                continue
            if p.closes_review and "review" not in known:
                # the review card may have been posted a moment ago by another request (or
                # replica) that has not stored its ts yet
                known.update(await self._fresh_refs(gs.session_id, "review"))
            if p.kind is Kind.SAVED and p.review is not None and "review" in known:
                # the review card itself now says it is saved (no buttons); the result follows
                t, b = bk.render_review(p)
                await self._replace(client, gs, known["review"], t, b)
            elif p.kind is Kind.SUMMARY and "review" in known:
                await self._retire(client, gs, known["review"], "Saved ✓")
            text, blocks = bk.render_prompt(p)
            key = f"q:{p.question_id}" if p.kind is Kind.QUESTION and p.question_id else \
                "review" if p.kind is Kind.REVIEW else None
            if key and known.get("live") and known["live"] != key:
                # another question is asked (back, skip, change): the one left waiting loses
                # its buttons, so the only question a rep can tap is the current one
                await self._unask(client, gs, known["live"], known.get(known["live"]))
                refs["live"] = known["live"] = ""
            if key and key.startswith("q:"):
                refs["live"] = known["live"] = key
            if key and key in known:
                if said_below:
                    # something was just said below the old message (a resume's "Picking up
                    # where you left off"): ask again at the bottom, where the rep reads, and
                    # take the buttons off the old one
                    if key == "review":
                        await self._retire(client, gs, known[key], "Asked again below")
                    else:
                        await self._unask(client, gs, key, known[key])
                elif await self._replace(client, gs, known[key], text, blocks):
                    continue  # asked again, or a new review: the same message, updated
            res = await client.chat_postMessage(channel=gs.dm, thread_ts=gs.parent,
                                                text=text, blocks=blocks)
            if key:
                refs[key] = known[key] = str(res["ts"])
            elif p.kind is Kind.INFO:  # a notice, not part of answering the question
                said_below = True
        if refs:
            await asyncio.to_thread(self.sv.threads.update, gs.session_id, refs=refs)

    async def _fresh_refs(self, session_id: int, key: str, wait: float = 1.0
                          ) -> dict[str, str]:
        """The session's stored refs, waiting up to ``wait`` seconds for ``key``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            refs = dict((await asyncio.to_thread(self.sv.threads.load, session_id)).refs)
            if key in refs or loop.time() >= deadline:
                return refs
            await asyncio.sleep(0.1)

    async def _mark_answered(self, client: AsyncWebClient, gs: Thread, ts: str,
                             echo: Prompt) -> bool:
        if not echo.answered or echo.question is None or echo.answer is None:
            return False
        change = echo.actions[0] if echo.actions else None
        stub = Prompt(kind=Kind.QUESTION, text=echo.question, progress=echo.progress)
        try:
            await client.chat_update(channel=gs.dm, ts=ts, text=bk.escape(echo.question),
                                     blocks=bk.render_answered(stub, echo.answer, change))
            return True
        except SlackApiError as exc:
            log.warning("chat.update failed (%s); posting the echo instead",
                        exc.response.get("error"))
            return False

    async def _unask(self, client: AsyncWebClient, gs: Thread, key: str,
                     ts: str | None) -> None:
        asked = gs.question(key)
        if asked is None or ts is None:
            return
        text, progress = asked
        stub = Prompt(kind=Kind.QUESTION, text=text, progress=progress)
        await self._replace(client, gs, ts, bk.escape(text),
                            bk.render_answered(stub, "Not answered yet", None, mark=""))

    async def _replace(self, client: AsyncWebClient, gs: Thread, ts: str, text: str,
                       blocks: list[dict[str, Any]]) -> bool:
        """Update one of the thread's messages in place; False when Slack refused (the
        message was deleted, say), so the caller posts it anew."""
        try:
            await client.chat_update(channel=gs.dm, ts=ts, text=text, blocks=blocks)
            return True
        except SlackApiError as exc:
            log.warning("chat.update of %s failed (%s); posting anew", ts,
                        exc.response.get("error"))
            return False

    async def _retire(self, client: AsyncWebClient, gs: Thread, ts: str,
                      note: str) -> None:
        """Take the buttons off an old message so stale clicks cannot happen."""
        try:
            await client.chat_update(channel=gs.dm, ts=ts, text=note,
                                     blocks=bk.to_dicts([bk.context(note)]))
        except SlackApiError as exc:
            log.warning("could not retire message %s: %s", ts, exc.response.get("error"))

    async def _point_to_thread(self, client: AsyncWebClient, respond: Respond,
                               gs: Thread, new: bool) -> None:
        name = gs.customer
        link = None
        try:
            res = await client.chat_getPermalink(channel=gs.dm, message_ts=gs.parent)
            link = res.get("permalink")
        except SlackApiError:
            link = None
        where = f"<{link}|this thread in our DM>" if link else "our DM (Apps → gradebot)"
        verb = "Started" if new else "Continuing"
        await respond(text=f"{verb} grading {bk.escape(name)} in {where}.",
                      response_type="ephemeral", replace_original=True)

    # ------------------------------------------------------------------ files
    async def upload_chart(self, client: AsyncWebClient, person: Person,
                           pv: PortfolioView) -> None:
        if not pv.portfolio.graded:
            return
        from bot.slack.chart import portfolio_png

        png = await asyncio.to_thread(portfolio_png, pv.portfolio, display.portfolio_title(pv))
        channel = await self.dm_channel(client, person.external_id, person)
        try:
            await client.files_upload_v2(channel=channel, content=png, filename="portfolio.png",
                                         title="Portfolio balance",
                                         initial_comment="Your portfolio balance against the "
                                                         "target.")
        except SlackApiError as exc:
            log.warning("chart upload failed: %s", exc.response.get("error"))
            await client.chat_postMessage(channel=channel, text="I couldn't upload the "
                                          "portfolio chart this time; the numbers above stand.")
