"""The Teams adapter: the Teams SDK v2 (``microsoft-teams-apps``) App, served from our ASGI app.

The SDK's ``App`` does what it is good at — Bot Framework token validation, parsing activities
into typed models, routing them to handlers, replying through the Bot Connector with app
tokens — and is plugged into our Starlette app through the SDK's own extension point, an
``HttpServerAdapter`` (``StarletteAdapter`` below), instead of the FastAPI server it would
otherwise start. The route keeps three promises the SDK alone does not: a malformed body is a
400 (not a 500), an activity the SDK cannot type (unknown type or invoke name) is a 200 no-op,
and one missing its envelope (from, conversation, recipient …) is a 400.

What a rep does in the personal chat with the bot:

* ``grade Acme [quarterly|annual|strategic]``, ``customer Acme``, ``grades [overdue]``,
  ``portfolio [team]``, ``help`` (a leading ``/`` is accepted too);
* anything else while a grading is open goes to the engine as text (an answer, or a word like
  back, skip, why, change 2, save);
* buttons are ``Action.Execute`` (see ``bot.teams.cards``); the invoke is answered with a
  card that replaces the clicked one (the answered question, or a short note, so stale buttons
  disappear), and what comes next is posted as a new message;
* only the latest card of a grading keeps its buttons (``bot.teams.live``): whatever replaces
  it — a typed answer, back, change, save — first takes them away;
* gradebot works in the personal chat only (the manifest's scope): a message from a group
  chat or a channel gets a one-line pointer there, and nothing of anyone's book.

Every activity from a personal chat refreshes the person's conversation reference, which is
what reminders need to reach them (``bot.teams.notify``). The workspace is the tenant
(``channelData.tenant.id``), the person the user's Entra object id (``aadObjectId``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from microsoft_teams.api import (
    ActivityTypeAdapter,
    ConversationUpdateActivity,
    InvokeResponse,
)
from microsoft_teams.api.activities import MessageActivity, MessageActivityInput
from microsoft_teams.api.activities.invoke.adaptive_card.action import AdaptiveCardInvokeActivity
from microsoft_teams.api.activities.utils.strip_mentions_text import (
    StripMentionsTextOptions,
    strip_mentions_text,
)
from microsoft_teams.api.auth.cloud_environment import CloudEnvironment
from microsoft_teams.api.models import (
    AdaptiveCardActionCardResponse,
    AdaptiveCardActionMessageResponse,
)
from microsoft_teams.apps import ActivityContext, App
from microsoft_teams.apps.http.adapter import HttpMethod, HttpRouteHandler
from microsoft_teams.cards import AdaptiveCard
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot import display
from bot.config import ConfigError, Settings
from bot.engine import Actor, Choose, FormRefused, Kind, Prompt, Text, help, parse_grade_args
from bot.engine import options as opts
from bot.engine.help import parse_command
from bot.engine.inputs import click_key, message_key
from bot.engine.prompts import APOLOGY
from bot.look_up import LookUp, asked
from bot.lookups import NotFoundCard
from bot.notify import Recipient
from bot.observability import log_request
from bot.services import InvalidInput, Person, Services, is_time_zone
from bot.teams import answers, live, refs
from bot.teams import cards as ui
from bot.teams.notify import NotReachable, TeamsNotifier
from bot.teams.off import NO_AUTH_HELP
from bot.trust import OverrideResult, Refused

log = logging.getLogger("gradebot.teams")

ENDPOINT = "/api/messages"
COMMANDS = help.WORDS  # (bot.engine.help: the table every channel reads)
PERSONAL_ONLY = ("I work in our personal chat only, so your book stays yours: open gradebot "
                 "under Chat (or Apps → gradebot) and say help.")


def personal(activity: Any) -> bool:
    """True for the rep's personal chat with the bot (the only scope gradebot serves)."""
    return activity.conversation.conversation_type in (None, "personal")


# ---------------------------------------------------------------------- HTTP plumbing
class StarletteAdapter:
    """The SDK's ``HttpServerAdapter`` protocol, for routes served by our Starlette app."""

    def __init__(self) -> None:
        self.handlers: dict[str, HttpRouteHandler] = {}

    def register_route(self, method: HttpMethod, path: str, handler: HttpRouteHandler) -> None:
        if method != "POST":
            raise ValueError(f"unsupported method {method}")
        self.handlers[path] = handler

    def serve_static(self, path: str, directory: str) -> None:
        log.warning("Teams: static pages are not served (%s)", path)

    async def start(self, port: int) -> None:
        raise NotImplementedError("gradebot serves /api/messages from its own ASGI app")

    async def stop(self) -> None:
        return None


def check_credentials(st: Settings) -> None:
    """A half-configured app registration is one clear line at start-up."""
    if st.teams_client_id and not st.teams_client_secret:
        raise ConfigError("CLIENT_SECRET: not set (CLIENT_ID is; see the README's Teams "
                          "set-up)")
    if st.teams_client_secret and not st.teams_client_id:
        raise ConfigError("CLIENT_ID: not set (CLIENT_SECRET is; see the README's Teams "
                          "set-up)")


def _bad_request(why: str) -> Response:
    return JSONResponse({"error": why}, status_code=400)


def client_timezone(activity: Any) -> str | None:
    """The sender's time zone as their Teams client reports it (a ``clientInfo`` entity on
    each message), so their periods and due dates follow their own calendar; None when it
    is missing or not a zone this machine knows."""
    for e in getattr(activity, "entities", None) or []:
        kind = e.get("type") if isinstance(e, dict) else getattr(e, "type", None)
        tz = e.get("timezone") if isinstance(e, dict) else getattr(e, "timezone", None)
        if kind == "clientInfo" and isinstance(tz, str) and is_time_zone(tz):
            return tz
    return None


@dataclass(frozen=True)
class Who:
    actor: Actor
    person: Person
    tenant: str


# ---------------------------------------------------------------------- the bot
class TeamsBot:
    def __init__(self, services: Services, *, cloud: CloudEnvironment | None = None) -> None:
        st = services.settings
        check_credentials(st)
        self.sv = services
        self._asked_email: set[tuple[str, str]] = set()  # members asked for their email
        self.authenticated = bool(st.teams_client_id)
        if self.authenticated and st.teams_dev_no_auth:
            log.warning("Teams: GRADEBOT_TEAMS_DEV_NO_AUTH is ignored: CLIENT_ID is set, so "
                        "every request must carry a valid Bot Framework token")
        self.adapter = StarletteAdapter()
        options: dict[str, Any] = dict(
            client_id=st.teams_client_id, client_secret=st.teams_client_secret,
            tenant_id=st.teams_tenant_id, http_server_adapter=self.adapter,
            messaging_endpoint=ENDPOINT, state=False, fetch_user_token=False,
            dangerously_allow_unauthenticated_requests=(not self.authenticated
                                                        and st.teams_dev_no_auth))
        if cloud is not None:
            options["cloud"] = cloud
        self.app = App(**options)
        self._ready = False
        self._init_lock: asyncio.Lock | None = None
        self._register()

    # ------------------------------------------------------------------ HTTP
    async def _ensure_ready(self) -> None:
        if self._ready:
            return
        if self._init_lock is None:
            self._init_lock = asyncio.Lock()
        async with self._init_lock:
            if self._ready:
                return
            await self.app.initialize()
            sdk_process = self.app.server.on_request
            assert sdk_process is not None

            async def guarded(event: Any) -> InvokeResponse[Any]:
                refusal = self._refusal(event.body.model_dump(by_alias=True,
                                                              exclude_none=True))
                if refusal is not None:
                    return refusal
                return await sdk_process(event)

            self.app.server.on_request = guarded
            self._ready = True

    async def endpoint(self, request: Request) -> Response:
        """POST /api/messages, counted and timed from arrival to the answer leaving, like
        Slack's requests (``gradebot_requests_total`` / ``gradebot_ack_seconds`` with
        platform ``teams``, one access-log line; the kind is the activity's type)."""
        started = time.perf_counter()
        kind, tenant, user = "unreadable", "", ""
        outcome = "error"
        try:
            response, body = await self._answer(request)
            if body is not None:
                kind, tenant = _kind(body), _field(body, "conversation", "tenantId")
                user = _field(body, "from", "aadObjectId") or _field(body, "from", "id")
            outcome = "ok" if response.status_code < 400 else f"http_{response.status_code}"
            return response
        finally:
            log_request("teams", kind, outcome, started, workspace=tenant, user=user)

    async def _answer(self, request: Request) -> tuple[Response, dict[str, Any] | None]:
        """The answer to one POST, and its activity when the body was one."""
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            return _bad_request("the body is not JSON"), None
        if not isinstance(body, dict):
            return _bad_request("the body is not a JSON object (an activity)"), None
        await self._ensure_ready()
        handler = self.adapter.handlers[ENDPOINT]
        result = await handler({"body": body, "headers": dict(request.headers)})
        status = int(result.get("status") or 200)
        if status == 401:
            log.warning(NO_AUTH_HELP if not self.authenticated else
                        "Teams: refused a request to /api/messages without a valid Bot "
                        "Framework token (type=%s)", str(body.get("type"))[:32])
        payload = result.get("body")
        if payload is None:
            return Response(status_code=status), body
        return JSONResponse(payload, status_code=status), body

    def _refusal(self, body: dict[str, Any]) -> InvokeResponse[Any] | None:
        """None for an activity the SDK can type; a clean answer for anything else."""
        try:
            ActivityTypeAdapter.validate_python(body)
            return None
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
        kind = str(body.get("type"))[:32]
        if errors and all(e["type"] == "union_tag_invalid" for e in errors):
            log.info("Teams: ignored an activity gradebot does not handle (type=%s, name=%s)",
                     kind, str(body.get("name"))[:64])
            return InvokeResponse(status=200)
        where = ".".join(str(x) for x in errors[0]["loc"][1:]) if errors else "?"
        log.warning("Teams: refused a malformed activity (type=%s): %s %s", kind, where,
                    errors[0]["msg"] if errors else "")
        return InvokeResponse(status=400, body={"error": f"malformed activity: {where}"})

    # ------------------------------------------------------------------ routing
    def _register(self) -> None:
        app = self.app

        @app.on_message
        async def on_message(ctx: ActivityContext[MessageActivity]) -> None:
            await self.on_message(ctx)

        @app.on_card_action_execute
        async def on_execute(ctx: ActivityContext[AdaptiveCardInvokeActivity]) -> Any:
            return await self.on_execute(ctx)

        @app.on_conversation_update
        async def on_update(ctx: ActivityContext[ConversationUpdateActivity]) -> None:
            await self.on_conversation_update(ctx)

    # ------------------------------------------------------------------ identity
    def _tenant(self, activity: Any) -> str | None:
        cd = activity.channel_data
        tenant = (cd.tenant.id if cd is not None and cd.tenant is not None else None) or \
            activity.conversation.tenant_id or self.sv.settings.teams_tenant_id
        return str(tenant) if tenant else None

    async def who(self, activity: Any, api: Any = None) -> Who | None:
        """The workspace (tenant) and person (Entra object id) of an activity, and — in a
        personal chat — the conversation reference stored for proactive messages. A person
        with no email yet is asked for once (``api``: the member's email or UPN), so someone
        imported by email before first contact is matched, not duplicated."""
        tenant = self._tenant(activity)
        sender = activity.from_
        user = sender.aad_object_id or (sender.id if sender.id and len(sender.id) <= 64
                                        else None)
        if not tenant or not user or len(tenant) > 64 or len(user) > 64:
            log.warning("Teams: an activity without a usable tenant or user id was ignored "
                        "(type=%s)", activity.type)
            return None
        try:
            actor, person = await asyncio.to_thread(self.sv.actor, "teams", tenant, user,
                                                    (sender.name or "")[:200],
                                                    timezone=client_timezone(activity))
        except InvalidInput as exc:
            log.warning("Teams: could not resolve the sender: %s", exc)
            return None
        if api is not None and not person.email and (tenant, user) not in self._asked_email:
            actor, person = await self._match_email(api, activity, tenant, user, actor, person)
        conv = activity.conversation
        if (conv.conversation_type in (None, "personal") and activity.service_url
                and activity.recipient is not None):
            ref = refs.conversation_ref(
                conversation_id=conv.id, service_url=activity.service_url,
                bot_id=activity.recipient.id, bot_name=activity.recipient.name or "",
                tenant_id=tenant, user_id=sender.id)
            if await asyncio.to_thread(refs.remember, self.sv.db, person.id, ref):
                person.conversation_ref = ref
        return Who(actor, person, tenant)

    async def _match_email(self, api: Any, activity: Any, tenant: str, user: str,
                           actor: Actor, person: Person) -> tuple[Actor, Person]:
        """The member's email (or UPN) from the conversation's members API, once per person
        and process; with it the imported row of the same email becomes this person."""
        self._asked_email.add((tenant, user))
        try:
            member = await api.conversations.get_member_by_id(activity.conversation.id,
                                                              activity.from_.id)
        except Exception as exc:
            log.info("Teams: could not read the member's email: %s", type(exc).__name__)
            return actor, person
        email = getattr(member, "email", None) or getattr(member, "user_principal_name", None)
        if not email or "@" not in str(email):
            return actor, person
        try:
            return await asyncio.to_thread(self.sv.actor, "teams", tenant, user,
                                           (activity.from_.name or "")[:200], email=str(email))
        except InvalidInput as exc:
            log.warning("Teams: could not store the member's email: %s", exc)
            return actor, person

    def _fresh(self, tenant: str, activity_id: str | None) -> bool:
        """False for an activity id seen before (a redelivery)."""
        if not activity_id:
            return True
        return self.sv.record_event(f"teams:{tenant}", activity_id, "activity")

    # ------------------------------------------------------------------ messages
    async def on_message(self, ctx: ActivityContext[MessageActivity]) -> None:
        try:
            who = await self.who(ctx.activity, ctx.api)
            if who is None:
                return
            if not await asyncio.to_thread(self._fresh, who.tenant, ctx.activity.id):
                log.info("Teams: duplicate activity %s ignored", ctx.activity.id)
                return
            if not personal(ctx.activity):
                await ctx.send(PERSONAL_ONLY)
                return
            text = self._text(ctx.activity)
            await self._message(ctx, who, text)
        except Exception:
            log.exception("Teams: handling a message failed")
            await self._tell(ctx, APOLOGY)

    @staticmethod
    def _text(activity: MessageActivity) -> str:
        """The typed text without the bot's own @mention (only mentions Teams backs with an
        entity are removed: a literal "<at>" someone typed is text like any other)."""
        bot_id = activity.recipient.id if activity.recipient is not None else None
        stripped = strip_mentions_text(activity, StripMentionsTextOptions(account_id=bot_id))
        return (stripped if stripped is not None else activity.text or "").strip()

    async def _message(self, ctx: ActivityContext[Any], who: Who, text: str) -> None:
        conv = self.sv.conversation
        key = message_key("t", ctx.activity.id)
        cmd = parse_command(text)
        active = await asyncio.to_thread(self._has_active, who.actor)
        if cmd is not None:
            word, rest = cmd
            help_for = help.help_asked(word, rest)
            if help_for is not None:
                await ctx.send(ui.help_card(lines=help.command_help(help_for)))
                return
            if word == "grade":
                start = parse_grade_args(mentions_as_keys(ctx.activity, rest))
                if start is None:
                    await ctx.send(ui.help_card(lines=help.command_help("grade")))
                    return
                prompts = await asyncio.to_thread(conv.handle, who.actor, start)
                await self.deliver(ctx, prompts, who)
                return
            ask = asked(word, rest)
            if ask is not None:
                found = await asyncio.to_thread(self.sv.look_up, who.person, ask, rest)
                if not (active and ask is LookUp.CARD and isinstance(found, NotFoundCard)):
                    await ctx.send(await asyncio.to_thread(answers.card_for, found,
                                                           self.sv.dimension_names))
                    if isinstance(found, OverrideResult):
                        for person, said in found.notices:
                            await self._proactive(ctx, person, ui.card([ui.text(said)]))
                    return  # (else an unknown name during a grading: an answer)
            elif word == "help" and not active:
                await ctx.send(ui.help_card())
                return
            elif word in ("customer", "portfolio") and not active:  # no name, no such view
                await ctx.send(ui.help_card(lines=help.command_help(word)))
                return
        if not active:
            await ctx.send(ui.help_card(help.hello()))
            return
        prompts = await asyncio.to_thread(conv.handle, who.actor, Text(text), input_key=key)
        await self.deliver(ctx, prompts, who)

    def _has_active(self, actor: Actor) -> bool:
        return bool(self.sv.threads.active_of(actor.person_id))

    async def deliver(self, ctx: ActivityContext[Any], prompts: list[Prompt],
                      who: Who | None = None) -> None:
        """Post ``prompts`` as one card; for a grading, the card it replaces first loses
        its buttons, and the new one is remembered as the one a rep can tap. Prompts for
        someone else (``for_person_id``: a second opinion) go to their personal chat."""
        me = who.person.id if who is not None else None
        others: dict[int, list[Prompt]] = {}
        for p in prompts:
            if p.for_person_id is not None and p.for_person_id != me:
                others.setdefault(p.for_person_id, []).append(p)
        prompts = [p for p in prompts if p.for_person_id in (None, me)]
        for pid, items in others.items():
            _, person = await asyncio.to_thread(self.sv.person_actor, pid)
            card = ui.render_prompts(items)
            sent_to = await self._proactive(ctx, person, card)
            sid = live.session_of(items)
            if sid is not None and sent_to:
                await asyncio.to_thread(live.store, self.sv.db, sid,
                                        {"id": sent_to, "card": ui.to_dict(card)})
        if not prompts:
            return
        sid = live.session_of(prompts)
        if sid is not None and all(p.kind in (Kind.INFO, Kind.ERROR) and not p.closed
                                   and not p.choices and not p.actions for p in prompts):
            # why, help, a notice: said below, and the question above keeps its buttons
            # (it is still the one to answer), as in the Slack thread
            await ctx.send(ui.render_prompts(prompts))
            return
        if sid is not None:
            prompts = await self._retire_live(ctx, sid, prompts)
        if not prompts:
            return
        card = ui.render_prompts(prompts)
        sent = await ctx.send(card)
        if sid is not None and sent is not None and sent.id:
            await asyncio.to_thread(live.store, self.sv.db, sid,
                                    {"id": sent.id, "card": ui.to_dict(card)})

    async def _retire_live(self, ctx: ActivityContext[Any], session_id: int,
                           prompts: list[Prompt]) -> list[Prompt]:
        """Take the buttons off the grading's live card (a saved review becomes the saved
        card; the question a typed answer answered shows its answer, as after a tap); the
        prompts still to post. A failed update is logged: the engine refuses stale taps
        anyway."""
        cur = await asyncio.to_thread(live.load, self.sv.db, session_id)
        if cur is None:
            return prompts
        saved = next((p for p in prompts if p.kind is Kind.SAVED and p.review is not None
                      and p.closes_review), None)
        old = cur.get("card") or {}
        first = prompts[0]
        answered = _answered(first) if first.question_id and live.asks(
            old, first.question_id) else None
        if saved is not None:
            new = ui.to_dict(ui.card(ui.review_items(saved)))
        elif answered is not None:
            new = ui.to_dict(answered)
        else:
            new = live.retired(old)
        await asyncio.to_thread(live.store, self.sv.db, session_id, None)
        if new == old:
            return prompts
        try:
            await ctx.send(MessageActivityInput(id=str(cur["id"])).add_card(
                AdaptiveCard.model_validate(new)))
        except Exception as exc:  # the Bot Connector refused: nothing else depends on it
            log.warning("Teams: could not retire card %s: %s", cur["id"], exc)
            return prompts
        return prompts[1:] if answered is not None else prompts

    async def _proactive(self, ctx: ActivityContext[Any], person: Person,
                         card: AdaptiveCard) -> str | None:
        """A card in someone else's personal chat (the id of what was sent); someone who
        never wrote to the bot cannot be reached, and the speaker is told so."""
        try:
            return await TeamsNotifier(ctx.api, self.sv.db).send_card(Recipient.of(person),
                                                                      card)
        except NotReachable as exc:
            await self._tell(ctx, f"{exc}: ask them to say hi to gradebot first.")
            return None

    async def _tell(self, ctx: ActivityContext[Any], message: str) -> None:
        try:
            await ctx.send(ui.card([ui.text(message)]))
        except Exception:
            log.exception("Teams: could not report a failure to the user")

    # ------------------------------------------------------------------ installs
    async def on_conversation_update(self, ctx: ActivityContext[ConversationUpdateActivity]
                                     ) -> None:
        try:
            act = ctx.activity
            added = [m.id for m in act.members_added or []]
            who = await self.who(act, ctx.api)
            if who is not None and act.recipient is not None and act.recipient.id in added:
                await ctx.send(ui.help_card(help.WELCOME))
        except Exception:
            log.exception("Teams: handling a conversation update failed")

    # ------------------------------------------------------------------ buttons
    async def on_execute(self, ctx: ActivityContext[AdaptiveCardInvokeActivity]) -> Any:
        try:
            return await self._execute(ctx)
        except Exception:
            log.exception("Teams: handling a card action failed")
            return AdaptiveCardActionMessageResponse(value=APOLOGY)

    async def _execute(self, ctx: ActivityContext[AdaptiveCardInvokeActivity]) -> Any:
        action = ctx.activity.value.action
        data = action.data if isinstance(action.data, dict) else {}
        value = ui.chosen_value(data)
        if action.verb != ui.VERB or not value:
            return AdaptiveCardActionMessageResponse(value="That button is not one I know.")
        if ui.outcome_unpicked(data):
            return AdaptiveCardActionMessageResponse(value=display.PICK_OUTCOME)
        who = await self.who(ctx.activity, ctx.api)
        if who is None:
            return AdaptiveCardActionMessageResponse(value="I could not tell who you are.")
        if not personal(ctx.activity):
            return AdaptiveCardActionMessageResponse(value=PERSONAL_ONLY)
        session_id = _int(data.get("session"))
        label = ui.clip(str(data.get("label", "")), ui.TITLE_MAX)
        chosen = opts.decode_or_none(value)
        if isinstance(chosen, opts.OpenForm):
            return await self._open_form(who, chosen.session_id)
        if isinstance(chosen, opts.SubmitForm):
            return await self._submit_form(who, chosen.session_id, data, ctx.activity.id)
        if isinstance(chosen, opts.Snooze | opts.Away):
            return await self._reminder_action(ctx, who, chosen)
        if isinstance(chosen, opts.AwaySave):
            return await self._away(who, chosen.delivery_id, data)
        if isinstance(chosen, opts.OpenOverride | opts.SaveOverride):
            return await self._override(ctx, who, chosen, data)
        if isinstance(chosen, opts.RecordOutcome):
            return await self._outcome(ctx, who, value, chosen, data)
        conv = self.sv.conversation
        key = click_key("x", ctx.activity.reply_to_id, value)
        prompts = await asyncio.to_thread(conv.handle, who.actor, Choose(value),
                                          session_id=session_id, input_key=key)
        if data.get("k") == "l":  # a look-up or reminder card: it stays as it is
            await self.deliver(ctx, prompts)
            return AdaptiveCardActionMessageResponse(value="On it — see below.")
        clicked = str(ctx.activity.reply_to_id or "")
        sid = session_id or live.session_of(prompts)
        cur = await asyncio.to_thread(live.load, self.sv.db, sid) if sid else None
        is_live = cur is not None and cur.get("id") == clicked
        if chosen == opts.Command("why") and prompts:  # the card stays, with the reason
            if is_live and cur is not None:
                card = ui.with_note(cur["card"], prompts)
            else:
                current = await asyncio.to_thread(conv.handle, who.actor, Text(""),
                                                  session_id=session_id)
                card = ui.to_dict(ui.render_prompts(prompts + current))
            if sid:
                await asyncio.to_thread(live.store, self.sv.db, sid,
                                        {"id": clicked, "card": card})
            return AdaptiveCardActionCardResponse(value=AdaptiveCard.model_validate(card))
        kept_change = isinstance(chosen, opts.Command) and chosen.word == "change"
        if kept_change and not is_live and prompts and all(
                p.kind in (Kind.INFO, Kind.ERROR) and not p.choices and not p.actions
                for p in prompts):
            # a tap on a card left over from a finished grading (a Change kept on an answered
            # card): the card keeps what it shows, and the answer says why nothing happened
            return AdaptiveCardActionMessageResponse(value=" ".join(
                t for p in prompts for t in (p.text, p.detail) if t))
        replacement, rest = self._retire(prompts, label)
        if is_live and sid:  # the clicked card is now the replacement: nothing to retire
            await asyncio.to_thread(live.store, self.sv.db, sid,
                                    {"id": clicked, "card": ui.to_dict(replacement)})
        await self.deliver(ctx, rest)
        return AdaptiveCardActionCardResponse(value=replacement)

    def _retire(self, prompts: list[Prompt], label: str) -> tuple[AdaptiveCard, list[Prompt]]:
        """What the clicked card becomes, and the prompts still to post."""
        if not prompts:
            return ui.note_card("Already done."), []
        first = prompts[0]
        answered = _answered(first)
        if answered is not None:
            return answered, prompts[1:]
        if first.kind is Kind.SAVED and first.review is not None:
            # the review card itself says it is saved; the result follows as a message
            return ui.card(ui.review_items(first)), prompts
        if all(p.kind in (Kind.INFO, Kind.ERROR) for p in prompts):
            # nothing was recorded (a stale card, a finished grading): the answer goes
            # where the tap was, and never says "You chose"
            return ui.render_prompts(prompts, form=False), []
        return ui.note_card(f"You chose: {label}" if label else "Done."), prompts

    # ------------------------------------------------------------------ the form
    async def _open_form(self, who: Who, session_id: int | None) -> Any:
        form = await asyncio.to_thread(self.sv.conversation.form, who.actor, session_id)
        if isinstance(form, FormRefused):
            return AdaptiveCardActionMessageResponse(value=form.message)
        return AdaptiveCardActionCardResponse(value=ui.form_card(form))

    async def _submit_form(self, who: Who, session_id: int | None, data: dict[str, Any],
                           activity_id: str | None) -> Any:
        if session_id is None:
            return AdaptiveCardActionMessageResponse(value="That form is not one I know.")
        raw = ui.form_answers(data)
        result = await asyncio.to_thread(self.sv.conversation.submit_form, who.actor,
                                         session_id, raw, input_key=message_key("f", activity_id))
        if isinstance(result, dict):
            form = await asyncio.to_thread(self.sv.conversation.form, who.actor, session_id)
            if isinstance(form, FormRefused):
                return AdaptiveCardActionMessageResponse(value="That grading is finished.")
            return AdaptiveCardActionCardResponse(value=ui.form_card(form, result, raw))
        if not result:
            return AdaptiveCardActionCardResponse(value=ui.note_card("Already saved."))
        return AdaptiveCardActionCardResponse(value=ui.render_prompts(result))

    async def _override(self, ctx: ActivityContext[Any], who: Who,
                        chosen: opts.OpenOverride | opts.SaveOverride, data: dict[str, Any]
                        ) -> Any:
        """The override card: opened from the customer card, submitted with its inputs
        (checked through the same rules as the command); the owner is told."""
        cid = chosen.customer_id
        form = await asyncio.to_thread(self.sv.override_form, who.person, cid)
        if isinstance(form, Refused):
            return AdaptiveCardActionMessageResponse(value=form.message)
        if isinstance(chosen, opts.OpenOverride):
            return AdaptiveCardActionCardResponse(value=ui.override_card(cid, form))
        raw = ui.override_answers(data)
        result = await asyncio.to_thread(self.sv.submit_override, who.person, cid, raw)
        if isinstance(result.view, Refused):
            return AdaptiveCardActionCardResponse(
                value=ui.override_card(cid, form, result.view.message, raw))
        for person, said in result.notices:
            await self._proactive(ctx, person, ui.card([ui.text(said)]))
        return AdaptiveCardActionCardResponse(value=ui.text_view_card(result.view))

    # ------------------------------------------------------------------ outcomes
    async def _outcome(self, ctx: ActivityContext[Any], who: Who, value: str,
                       chosen: opts.RecordOutcome, data: dict[str, Any]) -> Any:
        """The card's "Record outcome", or a tap under the renewal question: the engine
        decides (``bot.engine.outcomes``). An answered question becomes the answer (its
        buttons go); the customer card stays, and the confirmation is posted below it."""
        reply = await asyncio.to_thread(self.sv.record_outcome, who.person, value,
                                        str(data.get(ui.OUTCOME_DAY) or ""))
        if chosen.ask is not None and reply.done:
            return AdaptiveCardActionCardResponse(value=ui.note_card(reply.text))
        if reply.done:
            await ctx.send(ui.card([ui.text(reply.text)]))
        # (a message response is plain text: only mention tags are neutralised)
        return AdaptiveCardActionMessageResponse(value=ui.neutralise(reply.text))

    # ------------------------------------------------------------------ reminder buttons
    async def _reminder_action(self, ctx: ActivityContext[Any], who: Who,
                               act: opts.Snooze | opts.Away) -> Any:
        from bot.reminders import actions

        try:
            now = self.sv.clock()
            if isinstance(act, opts.Away):
                await asyncio.to_thread(actions.check_own, self.sv.db, who.person.id,
                                        act.delivery_id)
                initial = await asyncio.to_thread(actions.away_default, self.sv.db,
                                                  who.person.id, now)
                await ctx.send(ui.away_card(act.delivery_id, initial.isoformat()))
                return AdaptiveCardActionMessageResponse(value="Pick the day you are back.")
            out = await asyncio.to_thread(actions.snooze, self.sv.db, who.person.id,
                                          act.delivery_id, act.days, now)
        except InvalidInput as exc:
            return AdaptiveCardActionMessageResponse(value=str(exc))
        return AdaptiveCardActionMessageResponse(value=out.text)  # said once

    async def _away(self, who: Who, delivery_id: int | None, data: dict[str, Any]) -> Any:
        from bot.reminders import actions

        raw = str(data.get("back_on") or "")
        try:
            back_on = date.fromisoformat(raw)
        except ValueError:
            return AdaptiveCardActionCardResponse(value=ui.away_card(
                delivery_id or 0, raw, "Pick the day you are back."))
        try:
            out = await asyncio.to_thread(actions.set_out_of_office, self.sv.db, who.person.id,
                                          back_on, self.sv.clock(), delivery_id or None)
        except InvalidInput as exc:
            return AdaptiveCardActionCardResponse(value=ui.away_card(delivery_id or 0, raw,
                                                                     str(exc)))
        return AdaptiveCardActionCardResponse(value=ui.note_card(out.text))


def _answered(echo: Prompt) -> AdaptiveCard | None:
    """The card of the question ``echo`` answers, showing the answer (None: not an echo
    of an answered question)."""
    if not echo.answered or echo.question is None or echo.answer is None:
        return None
    change = echo.actions[0] if echo.actions else None
    return ui.answered_card(echo.question, echo.answer, change, echo.session_id,
                            echo.progress)


def mentions_as_keys(activity: Any, text: str) -> str:
    """``grade Acme second-opinion <at>Dana</at>`` with Teams' mention entity → ``… second-
    opinion <Dana's Entra object id>`` (or her name when the entity has no object id), so
    the engine looks her up as it looks anyone up; the bot's own mention is gone already."""
    for e in getattr(activity, "entities", None) or []:
        mentioned = getattr(e, "mentioned", None)
        said = getattr(e, "text", None)
        if getattr(e, "type", None) != "mention" or mentioned is None or not said:
            continue
        key = getattr(mentioned, "aad_object_id", None) or (mentioned.name or "")
        text = text.replace(said, key)
    return text


def _int(v: object) -> int | None:
    try:
        return int(str(v))
    except (TypeError, ValueError):
        return None


def build_teams(services: Services, *, cloud: CloudEnvironment | None = None) -> TeamsBot:
    """The Teams bot for ``create_asgi``; raises ConfigError for half-set credentials."""
    return TeamsBot(services, cloud=cloud)


def _kind(activity: dict[str, Any]) -> str:
    """An activity's kind for the metrics: its type, and an invoke's name ("invoke:
    adaptiveCard/action"); bounded, since the body is the sender's."""
    kind = str(activity.get("type") or "?")[:32]
    name = activity.get("name")
    return f"{kind}:{str(name)[:48]}" if kind == "invoke" and name else kind


def _field(activity: dict[str, Any], part: str, key: str) -> str:
    """``activity[part][key]`` as a bounded string for the access log; "" when absent."""
    inner = activity.get(part)
    return str(inner.get(key) or "")[:128] if isinstance(inner, dict) else ""
