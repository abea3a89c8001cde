"""The Slack ``Notifier``: reminder threads, follow-ups, digests and alerts over the Web API,
plus the reminder buttons (snooze, out of office) and the out-of-office modal.

A reminder is a parent message in the rep's DM with the bot (or, when an admin set a
reminder channel, in that channel mentioning the rep) and threaded replies listing the due
customers, each with a Grade button (``pick||<id>``, which the app's action handler turns
into a grading), then Snooze 1 day / Snooze 1 week / Out of office. Lists are paged at
``PAGE`` customers per message so no message exceeds Block Kit's 50 blocks.

Escaping: customer and people names only ever go into ``plain_text`` objects; top-level
``text`` is escaped. Errors are raised, never swallowed (the sweep retries).
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    DatePickerElement,
    InputBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine

from bot import display
from bot.engine import options as opts
from bot.engine.inputs import whole_number
from bot.engine.prompts import Option
from bot.notify import (
    Contacts,
    DigestMessage,
    PartiallySent,
    Recipient,
    ReminderMessage,
    StoredContacts,
    ThreadRef,
)
from bot.reminders import actions
from bot.slack import blocks as bk

log = logging.getLogger("gradebot.slack")

PAGE = display.DUE_PAGE_SLACK  # customers per message (the limit lives in bot.display)
DIGEST_SECTION = 2800     # characters per digest section (Block Kit: 3,000)
AWAY_CALLBACK = "reminder_away"
AWAY_BLOCK, AWAY_ACTION = "back_on", "date"
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def pages(msg: ReminderMessage) -> list[list[dict[str, Any]]]:
    """The due list as messages of at most ``PAGE`` customers (controls on the
    last); the lines and pages are ``bot.display``'s."""
    out = display.due_pages(msg, PAGE)
    return [bk.to_dicts([*(bk.styled(note) if note else []),
                         *(bk.row_block(r, opts.pick(r.customer_id)) for r in rows),
                         *(bk.buttons(msg.controls, "rem") if i == len(out) - 1 and msg.controls
                           else [])])
            for i, (note, rows) in enumerate(out)]


class SlackNotifier:
    """``db``: for the directory look-ups of ``prepare`` and, unless ``contacts`` is given,
    where DM channels are remembered (``bot.notify.StoredContacts``). Without either (a
    one-off client in a script) nothing is looked up or remembered."""

    platform = "slack"

    def __init__(self, client: AsyncWebClient, db: Engine | None = None,
                 contacts: Contacts | None = None) -> None:
        self.client = client
        self.db = db
        self.contacts = contacts or (StoredContacts(db) if db is not None else None)
        self._dms: dict[int, str] = {}
        self._directory: Any = None

    async def prepare(self, workspace_id: int, now: Any = None) -> None:
        """Before a sweep plans: match people imported by email to their Slack user
        (``bot.slack.directory``), so their first reminder can be sent."""
        if self.db is None:
            return
        if self._directory is None:
            from bot.slack.directory import Directory

            self._directory = Directory(self.client, self.db)
        await self._directory.resolve_pending(workspace_id, now=now)

    # ------------------------------------------------------------------ where
    async def dm(self, to: Recipient) -> str:
        known = to.dm_channel or self._dms.get(to.person_id)
        if known:
            return known
        res = await self.client.conversations_open(users=to.external_id)
        channel = str(res["channel"]["id"])
        if self.contacts is not None:
            await self.contacts.remember_dm(to.person_id, channel)
        self._dms[to.person_id] = channel
        return channel

    async def _home(self, to: Recipient) -> tuple[str, str | None]:
        """(channel, mention): the workspace's reminder channel if set, else the DM."""
        if to.reminder_channel:
            uid = to.external_id if _USER_ID.match(to.external_id) else None
            return to.reminder_channel, f"<@{uid}>" if uid else None
        return await self.dm(to), None

    # ------------------------------------------------------------------ Notifier
    async def send_reminder(self, to: Recipient, msg: ReminderMessage) -> ThreadRef:
        channel, mention = await self._home(to)
        parent: list[Block] = [bk.header(msg.title)]
        if mention:
            parent.append(SectionBlock(text=MarkdownTextObject(text=f"{mention} 👋")))
        parent += [bk.section(msg.intro), bk.context("The list is in this thread ↓")]
        text = bk.escape(msg.title)
        res = await self.client.chat_postMessage(
            channel=channel, text=f"{mention} {text}" if mention else text,
            blocks=bk.to_dicts(parent), unfurl_links=False)
        where = ThreadRef(str(res.get("channel") or channel), str(res["ts"]))
        try:
            await self._post_list(where, msg)
        except Exception as exc:
            raise PartiallySent(where, exc) from exc
        return where

    async def _post_list(self, where: ThreadRef, msg: ReminderMessage) -> None:
        for i, blocks in enumerate(pages(msg)):
            n = len(msg.items)
            text = f"{n} customer{'s' if n != 1 else ''} due" if i == 0 else "More customers due"
            await self.client.chat_postMessage(channel=where.channel, thread_ts=where.thread_ts,
                                               text=text, blocks=blocks)

    async def send_followup(self, to: Recipient, where: ThreadRef,
                            msg: ReminderMessage) -> None:
        await self.client.chat_postMessage(
            channel=where.channel, thread_ts=where.thread_ts, text=bk.escape(msg.title),
            blocks=bk.to_dicts([bk.section(msg.title), bk.context(msg.intro)]))
        await self._post_list(where, msg)

    async def close_reminder(self, to: Recipient, where: ThreadRef, text: str) -> None:
        await self.client.chat_update(channel=where.channel, ts=where.thread_ts,
                                      text=bk.escape(text),
                                      blocks=bk.to_dicts([bk.section(text)]))

    async def send_digest(self, channel: str, msg: DigestMessage) -> None:
        blocks: list[Block] = [bk.header(msg.title)]
        chunk: list[str] = []
        for line in msg.lines:
            if chunk and sum(len(x) + 1 for x in chunk) + len(line) > DIGEST_SECTION:
                blocks.append(bk.section("\n".join(chunk)))
                chunk = []
            chunk.append(line)
        if chunk:
            blocks.append(bk.section("\n".join(chunk)))
        await self.client.chat_postMessage(channel=channel, text=bk.escape(msg.title),
                                           blocks=bk.to_dicts(blocks))

    async def send_alert(self, to: Recipient, text: str, options: list[Option]) -> None:
        channel = await self.dm(to)
        blocks: list[Block] = [bk.section(text)]
        if options:
            blocks += bk.buttons(options, "grade")
        await self.client.chat_postMessage(channel=channel, text=bk.escape(bk.clip(text, 3000)),
                                           blocks=bk.to_dicts(blocks))


# ---------------------------------------------------------------------- interactivity
def away_view(delivery_id: int, initial: date) -> dict[str, Any]:
    view = View(type="modal", callback_id=AWAY_CALLBACK, private_metadata=str(delivery_id),
                title=bk.plain("Out of office", 24), submit=bk.plain("Save", 24),
                close=bk.plain("Cancel", 24),
                blocks=[bk.section("No reminders or follow-ups until you are back."),
                        InputBlock(block_id=AWAY_BLOCK, label=bk.plain("Back on", 2000),
                                   element=DatePickerElement(action_id=AWAY_ACTION,
                                                             initial_date=initial.isoformat()))])
    return view.to_dict()


def picked_date(view: dict[str, Any]) -> date | None:
    values = ((view.get("state") or {}).get("values") or {}).get(AWAY_BLOCK) or {}
    raw = (values.get(AWAY_ACTION) or {}).get("selected_date")
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


async def _confirm(client: AsyncWebClient, channel: str | None, thread_ts: str | None,
                   text: str) -> None:
    if channel:
        await client.chat_postMessage(channel=channel, thread_ts=thread_ts,
                                      text=bk.escape(text), blocks=bk.to_dicts([bk.context(text)]))


async def handle_reminder_action(services: Any, body: dict[str, Any], action: dict[str, Any],
                                 client: AsyncWebClient) -> None:
    """A ``rem|…`` button (already acked). The modal opens first: its trigger id expires
    3 s after the click."""
    act = actions.parse(str(action.get("value", "")))
    team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id", "")
    now = services.clock()
    _, person = await asyncio.to_thread(services.actor, "slack", team, body["user"]["id"])
    if act.kind == "away":
        await asyncio.to_thread(actions.check_own, services.db, person.id, act.delivery_id)
        initial = await asyncio.to_thread(actions.away_default, services.db, person.id, now)
        await client.views_open(trigger_id=body["trigger_id"],
                                view=away_view(act.delivery_id, initial))
        return
    out = await asyncio.to_thread(actions.snooze, services.db, person.id, act.delivery_id,
                                  act.days, now)
    await _confirm(client, out.channel, out.thread_ts, out.text)


async def handle_away_submit(services: Any, ack: Any, body: dict[str, Any],
                             view: dict[str, Any], client: AsyncWebClient) -> None:
    """The out-of-office modal: validate, store, then confirm in the reminder thread."""
    team = (body.get("team") or {}).get("id", "")
    _, person = await asyncio.to_thread(services.actor, "slack", team, body["user"]["id"])
    back_on = picked_date(view)
    if back_on is None:
        await ack(response_action="errors", errors={AWAY_BLOCK: "Pick the day you are back."})
        return
    try:
        delivery_id = whole_number(str(view.get("private_metadata") or "")) or None
        out = await asyncio.to_thread(actions.set_out_of_office, services.db, person.id,
                                      back_on, services.clock(), delivery_id)
    except actions.Refused as exc:
        await ack(response_action="errors", errors={AWAY_BLOCK: bk.clip(str(exc), 150)})
        return
    await ack()
    await _confirm(client, out.channel or person.dm_channel, out.thread_ts, out.text)
