"""The Teams ``Notifier``: reminders, follow-ups, digests and alerts, sent proactively.

Each is an Adaptive Card POSTed through the Bot Connector to
``{serviceUrl}/v3/conversations/{conversation id}/activities`` of the rep's personal chat
with the bot, using the conversation reference stored when they last wrote to it
(``Person.conversation_ref``). Follow-ups reply to the reminder (``replyToId``); closing a
reminder updates its card in place (``PUT …/activities/{id}``). The SDK's ``ApiClient``
makes the calls and attaches an app token (client-credentials flow) when CLIENT_ID and
CLIENT_SECRET are set; without them (local testing) no token is requested.

``ThreadRef`` for Teams: ``channel`` is the conversation id (or, for the long ids Teams
uses, a short digest of it: the reference on the person is what is used), ``thread_ts`` the
id of the reminder's first card. Errors are raised, never swallowed (the sweep retries).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from microsoft_teams.api import (
    Account,
    ApiClient,
    ConversationAccount,
)
from microsoft_teams.api.activities import MessageActivityInput
from microsoft_teams.api.auth.cloud_environment import PUBLIC, CloudEnvironment
from microsoft_teams.apps.token_manager import TokenManager
from microsoft_teams.apps.token_provider import AppTokenProvider
from microsoft_teams.cards import AdaptiveCard
from microsoft_teams.common import Client, ClientOptions
from sqlalchemy import Engine

from bot.config import Settings
from bot.engine.prompts import Option
from bot.notify import DigestMessage, PartiallySent, Recipient, ReminderMessage, ThreadRef
from bot.teams import cards as ui
from bot.teams import refs

DEFAULT_SERVICE_URL = "https://smba.trafficmanager.net/teams/"
REF_MAX = 64  # ReminderDelivery.channel / thread_ts


class NotReachable(Exception):
    """No conversation reference yet: the rep has never written to the bot in Teams."""


def credentials_of(settings: Settings) -> Any:
    from microsoft_teams.api import ClientCredentials

    if not (settings.teams_client_id and settings.teams_client_secret):
        return None
    return ClientCredentials(client_id=settings.teams_client_id,
                             client_secret=settings.teams_client_secret,
                             tenant_id=settings.teams_tenant_id)


def make_api(settings: Settings, cloud: CloudEnvironment | None = None,
             service_url: str = DEFAULT_SERVICE_URL) -> ApiClient:
    """A connector client; tokens only when credentials are configured."""
    env = cloud or PUBLIC
    provider = AppTokenProvider(TokenManager(credentials=credentials_of(settings), cloud=env),
                                env)
    http = Client(ClientOptions(headers={"User-Agent": "gradebot"}, timeout=15))
    return ApiClient(service_url, http, cloud=env, token_provider=provider)


def short_ref(value: str) -> str:
    """A conversation id as stored in a ThreadRef (ReminderDelivery columns are 64 long)."""
    if len(value) <= REF_MAX:
        return value
    return "teams:" + hashlib.sha256(value.encode()).hexdigest()[:40]


class TeamsNotifier:
    platform = "teams"

    def __init__(self, api: ApiClient, db: Engine | None = None,
                 service_url: str | None = None) -> None:
        self.api = api
        self.db = db
        self.service_url = service_url

    @classmethod
    def from_settings(cls, settings: Settings, db: Engine | None = None, *,
                      cloud: CloudEnvironment | None = None) -> TeamsNotifier:
        return cls(make_api(settings, cloud), db)

    # ------------------------------------------------------------------ sending
    def _ref(self, to: Recipient) -> dict[str, Any]:
        ref = to.conversation_ref
        if ref is None or not refs.usable(ref):
            raise NotReachable(f"{to.display_name or to.external_id} has not written "
                               "to gradebot in Teams yet, so it cannot message them")
        return ref

    async def _post(self, ref: dict[str, Any], c: AdaptiveCard,
                    reply_to: str | None = None) -> str:
        activity = MessageActivityInput().add_card(c)
        activity.from_ = Account(id=str(ref.get("bot_id") or ""),
                                 name=str(ref.get("bot_name") or "") or None)
        activity.conversation = ConversationAccount(id=str(ref["conversation_id"]))
        api = self.api.clone(service_url=str(ref["service_url"]).rstrip("/"))
        if reply_to:
            sent = await api.conversations.reply_to_activity(ref["conversation_id"], reply_to,
                                                             activity)
        else:
            sent = await api.conversations.create_activity(ref["conversation_id"], activity)
        return str(sent.id)

    async def _update(self, ref: dict[str, Any], activity_id: str, c: AdaptiveCard) -> None:
        activity = MessageActivityInput().add_card(c)
        activity.id = activity_id
        activity.conversation = ConversationAccount(id=str(ref["conversation_id"]))
        api = self.api.clone(service_url=str(ref["service_url"]).rstrip("/"))
        await api.conversations.update_activity(ref["conversation_id"], activity_id, activity)

    async def send_card(self, to: Recipient, c: AdaptiveCard) -> str:
        """Any card in someone's personal chat (a second opinion's first question); the id
        of the activity sent."""
        return await self._post(self._ref(to), c)

    # ------------------------------------------------------------------ Notifier
    async def prepare(self, workspace_id: int, now: Any = None) -> None:
        """Nothing to look up: Teams people become reachable by writing to the bot."""

    async def send_reminder(self, to: Recipient, msg: ReminderMessage) -> ThreadRef:
        ref = self._ref(to)
        pages = ui.reminder_cards(msg)
        first = await self._post(ref, pages[0])
        where = ThreadRef(short_ref(str(ref["conversation_id"])), first)
        try:
            for page in pages[1:]:
                await self._post(ref, page, reply_to=first)
        except Exception as exc:
            raise PartiallySent(where, exc) from exc
        return where

    async def send_followup(self, to: Recipient, where: ThreadRef,
                            msg: ReminderMessage) -> None:
        ref = self._ref(to)
        for page in ui.reminder_cards(msg, followup=True):
            await self._post(ref, page, reply_to=where.thread_ts)

    async def close_reminder(self, to: Recipient, where: ThreadRef, text: str) -> None:
        await self._update(self._ref(to), where.thread_ts, ui.card([ui.text(text)]))

    async def send_digest(self, channel: str, msg: DigestMessage) -> None:
        """``channel``: a Teams channel's conversation id (``19:…@thread.tacv2``) where the
        bot is installed; the service URL is the configured one or the last seen."""
        service_url = self.service_url
        if service_url is None and self.db is not None:
            service_url = await asyncio.to_thread(refs.latest_service_url, self.db)
        ref = {"conversation_id": channel, "service_url": service_url or DEFAULT_SERVICE_URL}
        await self._post(ref, ui.digest_card(msg))

    async def send_alert(self, to: Recipient, text: str, options: list[Option]) -> None:
        await self._post(self._ref(to), ui.alert_card(text, options))
