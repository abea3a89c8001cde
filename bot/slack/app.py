"""The Slack app (Bolt, async): slash commands, DM threads, buttons, the form, App Home.

Every command and action is acknowledged first; the engine and database work then runs in a
worker thread (the engine is synchronous) and results are posted with the Web API, whose
client retries 429s (honouring Retry-After) and 5xx with the SDK's retry handlers. Failures
after the ack are logged and told to the rep — never swallowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial, wraps
from typing import Any

import aiohttp
from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import ConfigError, Settings
from bot.engine import Actor, Choose, FormRefused, Text, help, parse_grade_args
from bot.engine import options as opts
from bot.engine.inputs import click_key, message_key, whole_number
from bot.engine.prompts import APOLOGY
from bot.look_up import asked
from bot.observability import CURRENT_ACCESS
from bot.services import InvalidInput, Person, Services
from bot.slack import answers, forms
from bot.slack import blocks as bk
from bot.slack import notify as reminder_notify
from bot.slack import outcomes as outcome_taps
from bot.slack.delivery import Delivery
from bot.trust import Refused

log = logging.getLogger("gradebot.slack")
SLACK_UNREACHABLE = ("Sorry — I could not reach Slack to post that (it did not answer for a "
                     "while). Nothing you answered is lost: please try again in a minute.")



# a Web API that refuses connections is tried again after ~0.5, 1, 2, 4 and 8 s (with
# jitter): a blip of up to ~15 s (a proxy restarting) goes unnoticed by the rep, and the
# work of a request still ends within the 20 s a stopping replica gives it
CONNECTION_RETRIES = 5
PROFILE_SECONDS = 2.0  # users.info is a nicety: never hold a rep's answer up for it


def make_client(services: Services, connection_retries: int | None = None) -> AsyncWebClient:
    """The bot's client: it rides out a Web API blip (``CONNECTION_RETRIES``)."""
    retries = CONNECTION_RETRIES if connection_retries is None else connection_retries
    return make_client_for(services.settings, retries)


def make_client_for(st: Settings, connection_retries: int = 2) -> AsyncWebClient:
    """The Web API client for these settings (the CLI's imports use it without Services;
    a command line gives up on an unreachable Slack after two quick retries)."""
    retries = connection_retries
    return AsyncWebClient(
        token=st.slack_bot_token, base_url=st.slack_api_url, timeout=10,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=4),
                        AsyncServerErrorRetryHandler(max_retry_count=3),
                        AsyncConnectionErrorRetryHandler(
                            max_retry_count=retries,
                            interval_calculator=BackoffRetryIntervalCalculator(0.5))])


def build_slack_app(services: Services, *, client: AsyncWebClient | None = None) -> AsyncApp:
    """The Bolt app. (AsyncApp checks the token with auth.test on its first request.)"""
    st = services.settings
    if not st.slack_bot_token or not st.slack_signing_secret:
        missing = "SLACK_BOT_TOKEN" if not st.slack_bot_token else "SLACK_SIGNING_SECRET"
        raise ConfigError(f"{missing}: not set (see the README's Slack set-up)")
    client = client or make_client(services)
    identity = BotIdentity(st.slack_bot_token, client)
    app = AsyncApp(signing_secret=st.slack_signing_secret, client=client,
                   authorize=identity.authorizer(), process_before_response=False,
                   raise_error_for_unhandled_request=False)
    bot = SlackBot(services, app)
    from bot.slack import imports  # CSV files dropped into the DM: before the message listener

    imports.register(app, bot)
    bot.register()
    app.ack_first = bot.ack_first  # type: ignore[attr-defined]  # for bot.http's endpoint
    app.follow_ups = bot.follow_ups  # type: ignore[attr-defined]  # drained on shutdown
    return app


class BotIdentity:
    """Authorizes every request with the configured bot token, without a network call.

    Bolt's single-workspace authorization calls ``auth.test`` on the first request (and on
    every one until it succeeds) *before* the listener can ack: with Slack's Web API out of
    reach every command answered 500, with it hanging, late. The token is ours already;
    ``auth.test`` (the bot's own user and bot ids, which Bolt uses to ignore our own
    messages) runs in the background and fills them in when it can.
    """

    def __init__(self, token: str, client: AsyncWebClient) -> None:
        self.token, self.client = token, client
        self.bot_user_id: str | None = None
        self.bot_id: str | None = None
        self._learning: asyncio.Task[None] | None = None

    def authorizer(self) -> Callable[..., Awaitable[AuthorizeResult]]:
        """A plain function (Bolt passes arguments by the names a function declares)."""

        async def authorize(enterprise_id: str | None, team_id: str | None,
                            user_id: str | None) -> AuthorizeResult:
            if self.bot_user_id is None and (self._learning is None or self._learning.done()):
                self._learning = asyncio.create_task(self._learn())
            return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id,
                                   user_id=user_id, bot_token=self.token,
                                   bot_user_id=self.bot_user_id, bot_id=self.bot_id)

        return authorize

    async def _learn(self) -> None:
        try:
            info = await self.client.auth_test()
        except Exception as exc:  # tried again with the next request
            log.warning("auth.test failed (%s); the bot's own ids are not known yet",
                        type(exc).__name__)
            return
        self.bot_user_id, self.bot_id = info.get("user_id"), info.get("bot_id")


class InFlight:
    """How many things are under way, and a way to wait until there are none."""

    def __init__(self) -> None:
        self.count = 0
        self._idle: asyncio.Event | None = None

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        self.count += 1
        try:
            yield
        finally:
            self.count -= 1
            if not self.count and self._idle is not None:
                self._idle.set()

    async def idle(self, timeout: float) -> int:
        """Wait until nothing is under way, at most ``timeout`` seconds; how many are left."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.count:
            if self._idle is None or self._idle.is_set():
                self._idle = asyncio.Event()
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._idle.wait(), remaining)
            except TimeoutError:
                break
        return self.count


class AckFirst(InFlight):
    """Acks before follow-up work.

    Slack wants every request answered within 3 s. What a listener does after its ack
    (database, rendering, Web API calls) runs in this same process, beside the requests
    still waiting for their acks, and would slow them down (the GIL, one event loop). The
    HTTP endpoint counts the requests it has not answered yet (``request()``); follow-up
    work first waits until there are none (``wait()``, at most ``max_wait`` seconds), so a
    burst of commands is acked first and worked through right after. In socket mode nothing
    is counted and nothing waits.
    """

    def __init__(self, max_wait: float = 0.5) -> None:
        super().__init__()
        self.max_wait = max_wait

    def request(self) -> contextlib.AbstractContextManager[None]:
        return self.track()

    async def wait(self) -> None:
        await self.idle(self.max_wait)


Handler = Callable[..., Awaitable[None]]


def reported(fn: Handler) -> Handler:
    """Run a listener's work after its ack (once pending acks are out); if it fails, log
    it and tell the user plainly."""

    @wraps(fn)
    async def run(self: SlackBot, **kw: Any) -> None:
        with self.follow_ups.track():
            try:
                await self.ack_first.wait()
                await fn(self, **kw)
            except Exception as exc:
                if isinstance(exc, InvalidInput):  # a refusal (a forged id …), not a fault
                    log.info("slack listener %s refused: %s", fn.__name__, exc)
                else:
                    log.exception("slack listener %s failed", fn.__name__)
                await self.tell_failure(kw.get("body") or {}, kw.get("client"), exc)

    return run


class SlackBot:
    def __init__(self, services: Services, app: AsyncApp) -> None:
        self.sv = services
        self.app = app
        self.delivery = Delivery(services)
        self.ack_first = AckFirst()
        # listener work still running after its ack: shutting down lets it finish
        self.follow_ups = InFlight()
        # database work an ack waits for (event dedupe, form checks) has threads of its
        # own: the default pool (cpu + 4 threads) can be full of follow-up work that blocks
        # for seconds — an LLM call hanging until its timeout — and Slack wants acks in 3 s
        self._ack_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="slack-ack")

    def register(self) -> None:
        app = self.app
        app.middleware(self.access_log)
        app.middleware(self.dedupe_events)
        for name in help.SLASH_COMMANDS:
            app.command(name)(self.on_command)
        app.action({"action_id": _ACTION_PATTERN})(self.on_action)
        app.event("message")(self.on_message)
        app.event("app_home_opened")(self.on_home_opened)
        app.view(forms.FORM_CALLBACK)(self.on_form_submit)
        app.view(forms.SETTINGS_CALLBACK)(self.on_settings_submit)
        app.view(forms.OVERRIDE_CALLBACK)(self.on_override_submit)
        app.view(reminder_notify.AWAY_CALLBACK)(self.on_away_submit)  # reminders
        app.error(self.on_error)

    # ------------------------------------------------------------------ plumbing
    async def before_ack(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Run blocking ``fn`` for a request that has not been acked yet."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._ack_pool, partial(fn, *args, **kw))

    async def access_log(self, body: dict[str, Any], next: Callable[[], Awaitable[Any]]
                         ) -> Any:
        """Say what the request is (kind, workspace, user) for its access line. The line
        and the ack time are written by the transport once the ack is out (``Access``):
        ``next()`` here returns before the listener acks. Never the text: commands'
        arguments and answers stay out of logs."""
        access = CURRENT_ACCESS.get()
        if access is not None:
            access.kind = _kind_of(body)
            access.workspace = str(body.get("team_id") or (body.get("team") or {}).get("id")
                                   or "")
            access.user = str(body.get("user_id") or (body.get("user") or {}).get("id")
                              or (body.get("event") or {}).get("user") or "")
        return await next()

    async def dedupe_events(self, body: dict[str, Any], next: Callable[[], Awaitable[Any]],
                            logger: logging.Logger) -> Any:
        """Slack retries events it thinks failed (same event_id): handle each once."""
        if body.get("type") == "event_callback" and body.get("event_id"):
            scope = f"slack:{body.get('team_id', '')}"
            fresh = await self.before_ack(self.sv.record_event, scope, str(body["event_id"]),
                                          "event")
            if not fresh:
                logger.info("duplicate event %s ignored", body["event_id"])
                # a response without next(): Bolt sends it and runs no listener (returning
                # None instead makes Bolt answer 404, and Slack retries again)
                return BoltResponse(status=200, body="")
        return await next()

    async def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled Slack error: %s", error, exc_info=error)

    async def actor_for(self, team_id: str, user_id: str, name: str = "",
                        client: AsyncWebClient | None = None) -> tuple[Actor, Person]:
        """Our person for a Slack user. ``name`` (a command's or click's ``user_name``, the
        legacy handle) is only a fallback until users.info has given the display name:
        passed on every request it would overwrite that name each time."""
        actor, person = await asyncio.to_thread(self.sv.actor, "slack", team_id, user_id)
        if person.timezone is None and client is not None:
            await self._learn_profile(actor, person, client, name)
        return actor, person

    async def _learn_profile(self, actor: Actor, person: Person, client: AsyncWebClient,
                             fallback: str = "") -> None:
        try:
            info = await asyncio.wait_for(client.users_info(user=person.external_id),
                                          PROFILE_SECONDS)
            user = info.get("user") or {}
        except SlackApiError as exc:
            log.warning("users.info failed for %s: %s", person.external_id, exc.response.get(
                "error"))
            user = {}
        except (TimeoutError, aiohttp.ClientError) as exc:
            # Slack out of reach: answer without the profile (asked again next time)
            log.warning("users.info unreachable for %s: %s", person.external_id,
                        type(exc).__name__)
            return
        prof = user.get("profile") or {}
        name = prof.get("display_name") or user.get("real_name") or fallback
        if not user and not name:
            return

        saved = await asyncio.to_thread(
            self.sv.learn_profile, actor, person, name, email=(prof.get("email") or None),
            timezone=(user.get("tz") or "UTC") if user else None)
        if saved is not None:  # an imported person matched by email brings role and manager
            person.display_name, person.timezone = saved.display_name, saved.timezone
            person.role, person.manager_id = saved.role, saved.manager_id

    async def tell_failure(self, body: dict[str, Any], client: AsyncWebClient | None,
                           exc: Exception) -> None:
        text = APOLOGY
        if isinstance(exc, InvalidInput):
            text = str(exc)
        elif isinstance(exc, aiohttp.ClientError | TimeoutError):
            text = SLACK_UNREACHABLE
        user = (body.get("user") or {}).get("id") or body.get("user_id") or \
            (body.get("event") or {}).get("user")
        try:
            if body.get("response_url"):
                # replace the "On it…" note of a command, or an ephemeral offer; never a
                # message in the DM thread (the question the rep clicked would be lost)
                replace = bool(body.get("command") or (body.get("container") or {}).get(
                    "is_ephemeral"))
                await self.delivery.respond_url(body["response_url"], bk.escape(text),
                                                [bk.section(text).to_dict()], replace)
            elif client is not None and user:
                channel = await self.delivery.dm_channel(client, user)
                thread = (body.get("event") or {}).get("thread_ts")
                await client.chat_postMessage(channel=channel, text=bk.escape(text),
                                              thread_ts=thread)
        except Exception:
            log.exception("could not report a failure to the user")

    # ------------------------------------------------------------------ commands
    async def on_command(self, ack: Any, command: dict[str, Any], client: AsyncWebClient,
                         respond: Any, body: dict[str, Any]) -> None:
        name = command.get("command", "")
        text = (command.get("text") or "").strip()
        if text.lower() in ("help", "?") or (name in ("/grade", "/customer") and not text):
            text, blocks = bk.help_blocks(help.command_help(name, "/"))
            await ack(response_type="ephemeral", text=text, blocks=blocks)
            return
        await ack(response_type="ephemeral",
                  text="On it…" if name != "/grade" else "Opening a thread in our DM…")
        await self._run_command(name=name, text=text, command=command, client=client,
                                respond=respond, body=body)

    @reported
    async def _run_command(self, *, name: str, text: str, command: dict[str, Any],
                           client: AsyncWebClient, respond: Any, body: dict[str, Any]) -> None:
        actor, person = await self.actor_for(command["team_id"], command["user_id"],
                                             command.get("user_name", ""), client)
        if name == "/grade":
            start = parse_grade_args(text)
            assert start is not None
            prompts = await asyncio.to_thread(self.sv.conversation.handle, actor, start)
            await self.delivery.deliver(client, actor, person, prompts, respond=respond)
        elif (ask := asked(name, text)) is not None:
            await answers.answer(self.sv, self.delivery, person, ask, text,
                                 channel=command.get("channel_id") or "", client=client,
                                 respond=respond)
        else:  # (``/portfolio`` with a view it does not have)
            t, b = bk.help_blocks(help.command_help(name, "/"))
            await respond(text=t, blocks=b, response_type="ephemeral", replace_original=True)

    # ------------------------------------------------------------------ buttons
    async def on_action(self, ack: Any, body: dict[str, Any], action: dict[str, Any],
                        client: AsyncWebClient, respond: Any) -> None:
        action_id = str(action.get("action_id", "")).split(":", 1)[0]
        if action_id == "form":
            await ack()
            await self._open_form(body, action, client)
            return
        if action_id == "settings":
            await ack()
            await self._open_settings(body, client)
            return
        if action_id == "override":
            await ack()
            await self._open_override(body, action, client)
            return
        if action_id == "rem":  # reminders: snooze / out of office
            await ack()
            await self.on_reminder_action(body=body, action=action, client=client)
            return
        if action_id == bk.OUTCOME_DAY_ACTION:  # a day picked beside the outcome menu
            await ack()  # (read from the message's state when the menu is used)
            return
        value = str(action.get("value") or (action.get("selected_option") or {}).get("value")
                    or "")
        if outcome_taps.is_outcome(value):  # the card's outcome menu, a renewal question
            await ack()
            await self.on_outcome(body=body, value=value, client=client, respond=respond)
            return
        await ack()
        await self._run_action(body=body, action=action, client=client, respond=respond)

    @reported
    async def _run_action(self, *, body: dict[str, Any], action: dict[str, Any],
                          client: AsyncWebClient, respond: Any) -> None:
        team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id", "")
        user = body["user"]["id"]
        actor, person = await self.actor_for(team, user, body["user"].get("name", ""), client)
        # a button's value, or the chosen item of a select (e.g. which answer to change)
        value = str(action.get("value") or (action.get("selected_option") or {}).get("value")
                    or "")
        container = body.get("container") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        msg_ts = container.get("message_ts")
        thread_ts = (body.get("message") or {}).get("thread_ts") or msg_ts
        session_id = None
        if channel and thread_ts:
            session_id = await asyncio.to_thread(self.sv.threads.by_thread, channel, thread_ts)
        # (the block id changes when a message is asked again in place: see blocks.py)
        block = action.get("block_id") or ""
        key = click_key("b", msg_ts, block, value)
        prompts = await asyncio.to_thread(self.sv.conversation.handle, actor, Choose(value),
                                          session_id=session_id, input_key=key)
        # answer in place only where there is a place: an ephemeral message with a
        # response_url (App Home clicks have none; Bolt's respond() raises without one)
        in_place = bool(container.get("is_ephemeral") and body.get("response_url"))
        await self.delivery.deliver(client, actor, person, prompts,
                                    respond=respond if in_place else None)
        if container.get("type") == "view" and person.id is not None:
            await self.publish_home(client, actor, person)

    @reported
    async def on_outcome(self, *, body: dict[str, Any], value: str, client: AsyncWebClient,
                         respond: Any) -> None:
        """Record an outcome (bot/slack/outcomes.py)."""
        await outcome_taps.record(self, body, value, client, respond)

    # ------------------------------------------------------------------ reminder buttons
    @reported
    async def on_reminder_action(self, *, body: dict[str, Any], action: dict[str, Any],
                                 client: AsyncWebClient) -> None:
        """``rem|snooze|…`` and ``rem|away|…`` (see bot/slack/notify.py)."""
        await reminder_notify.handle_reminder_action(self.sv, body, action, client)

    async def on_away_submit(self, ack: Any, body: dict[str, Any], view: dict[str, Any],
                             client: AsyncWebClient) -> None:
        try:
            await reminder_notify.handle_away_submit(self.sv, ack, body, view, client)
        except Exception as exc:
            log.exception("out-of-office submit failed")
            await self.tell_failure(body, client, exc)

    # ------------------------------------------------------------------ DM messages
    async def on_message(self, event: dict[str, Any], client: AsyncWebClient,
                         body: dict[str, Any]) -> None:
        if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype"):
            return  # only people's own messages in our DM
        await self._run_message(event=event, client=client, body=body)

    @reported
    async def _run_message(self, *, event: dict[str, Any], client: AsyncWebClient,
                           body: dict[str, Any]) -> None:
        actor, person = await self.actor_for(body.get("team_id", ""), event["user"], "", client)
        text = event.get("text") or ""
        thread = event.get("thread_ts")
        key = message_key("m", event.get("client_msg_id") or event.get("ts"))
        if thread:
            session_id = await asyncio.to_thread(self.sv.threads.by_thread, event["channel"],
                                                 thread)
            if session_id is not None:
                prompts = await asyncio.to_thread(self.sv.conversation.handle, actor, Text(text),
                                                  session_id=session_id, input_key=key)
                await self.delivery.deliver(client, actor, person, prompts)
                return
        # a top-level DM: "grade Acme" works like /grade; anything else gets help
        words = text.strip().split(maxsplit=1)
        if words and words[0].lower() == "grade" and len(words) > 1:
            start = parse_grade_args(words[1])
            if start is not None:
                prompts = await asyncio.to_thread(self.sv.conversation.handle, actor, start)
                await self.delivery.deliver(client, actor, person, prompts)
                return
        text, blocks = bk.help_blocks(help.overview("/"), help.hello("/"))
        await client.chat_postMessage(channel=event["channel"], text=text, blocks=blocks,
                                      thread_ts=thread)

    # ------------------------------------------------------------------ the form
    async def _open_form(self, body: dict[str, Any], action: dict[str, Any],
                         client: AsyncWebClient) -> None:
        """Open at once: the trigger id expires 3 s after the click."""
        try:
            value = opts.decode_or_none(str(action.get("value", "")))
            team = (body.get("team") or {}).get("id", "")
            actor, _ = await asyncio.to_thread(self.sv.actor, "slack", team, body["user"]["id"])
            form = await asyncio.to_thread(
                self.sv.conversation.form, actor,
                value.session_id if isinstance(value, opts.OpenForm) else None)
            if isinstance(form, FormRefused):
                await self.tell_failure(body, client, InvalidInput(form.message))
                return
            await client.views_open(trigger_id=body["trigger_id"], view=forms.form_view(form))
        except Exception as exc:
            log.exception("opening the form failed")
            await self.tell_failure(body, client, exc)

    async def on_form_submit(self, ack: Any, body: dict[str, Any], view: dict[str, Any],
                             client: AsyncWebClient) -> None:
        team = (body.get("team") or {}).get("id", "")
        actor, person = await self.before_ack(self.sv.actor, "slack", team,
                                              body["user"]["id"])
        raw = forms.form_answers((view.get("state") or {}).get("values") or {})
        session_id = whole_number(str(view.get("private_metadata") or "")) or 0
        result = await self.before_ack(self.sv.conversation.submit_form, actor, session_id,
                                       raw, input_key=message_key("v", view.get("id", "")))
        if isinstance(result, dict):
            await ack(response_action="errors",
                      errors={k: bk.clip(v, 150) for k, v in result.items()})
            return
        await ack()
        try:
            await self.delivery.deliver(client, actor, person, result)
        except Exception as exc:
            log.exception("posting the saved form failed")
            await self.tell_failure(body, client, exc)

    # ------------------------------------------------------------------ the override form
    async def _open_override(self, body: dict[str, Any], action: dict[str, Any],
                             client: AsyncWebClient) -> None:
        """Open at once (the trigger id expires 3 s after the click); who may override is
        checked again on submit."""
        try:
            value = str(action.get("value", ""))
            customer_id = whole_number(value.removeprefix("ovr|")) or 0
            team = (body.get("team") or {}).get("id", "")
            _, person = await asyncio.to_thread(self.sv.actor, "slack", team, body["user"]["id"])
            form = await asyncio.to_thread(self.sv.override_form, person, customer_id)
            if isinstance(form, Refused):
                await self.tell_failure(body, client, InvalidInput(form.message))
                return
            await client.views_open(trigger_id=body["trigger_id"], view=forms.override_view(
                customer_id, form.customer, form.until, form.latest))
        except Exception as exc:
            log.exception("opening the override form failed")
            await self.tell_failure(body, client, exc)

    async def on_override_submit(self, ack: Any, body: dict[str, Any], view: dict[str, Any],
                                 client: AsyncWebClient) -> None:
        team = (body.get("team") or {}).get("id", "")
        _, person = await self.before_ack(self.sv.actor, "slack", team, body["user"]["id"])
        raw = forms.override_answers((view.get("state") or {}).get("values") or {})
        customer_id = whole_number(str(view.get("private_metadata") or "")) or 0
        result = await self.before_ack(self.sv.submit_override, person, customer_id, raw)
        if isinstance(result.view, Refused):
            await ack(response_action="errors",
                      errors={"reason": bk.clip(result.view.message, 150)})
            return
        await ack()
        await self.delivery.tell(client, person, "\n".join([result.view.title,
                                                             *result.view.lines]))
        for who, said in result.notices:
            await self.delivery.tell(client, who, said)

    # ------------------------------------------------------------------ App Home
    async def on_home_opened(self, event: dict[str, Any], client: AsyncWebClient,
                             body: dict[str, Any]) -> None:
        if event.get("tab") not in (None, "home"):
            return
        actor, person = await self.actor_for(body.get("team_id", ""), event["user"], "", client)
        await self.publish_home(client, actor, person)

    async def publish_home(self, client: AsyncWebClient, actor: Actor, person: Person) -> None:
        from bot.slack.home import home_view

        view = await asyncio.to_thread(home_view, self.sv, person)
        await client.views_publish(user_id=person.external_id, view=view)

    async def _open_settings(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        team = (body.get("team") or {}).get("id", "")
        _, person = await asyncio.to_thread(self.sv.actor, "slack", team, body["user"]["id"])
        if not self.sv.is_admin(person):
            await self.tell_failure(body, client, InvalidInput(
                "Only admins can change gradebot's settings."))
            return
        st, target, letters = await asyncio.to_thread(self.sv.workspace_settings, person)
        await client.views_open(trigger_id=body["trigger_id"],
                                view=forms.settings_view(st, target, letters))

    async def on_settings_submit(self, ack: Any, body: dict[str, Any], view: dict[str, Any],
                                 client: AsyncWebClient) -> None:
        team = (body.get("team") or {}).get("id", "")
        _, person = await asyncio.to_thread(self.sv.actor, "slack", team, body["user"]["id"])
        if not self.sv.is_admin(person):
            await ack(response_action="errors",
                      errors={"good_for_you": "Only admins can change settings."})
            return
        raw = forms.form_answers((view.get("state") or {}).get("values") or {})
        changes, errors = forms.settings_changes(raw)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        try:
            await asyncio.to_thread(self.sv.save_settings, person, changes)
        except InvalidInput as exc:
            await ack(response_action="errors", errors={"followup_days": bk.clip(str(exc), 150)})
            return
        await ack()


def _kind_of(body: dict[str, Any]) -> str:
    """command:/grade, action:choice, view:grade_form, event:message …"""
    if body.get("command"):
        return f"command:{body['command']}"
    kind = str(body.get("type") or "unknown")
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        return "action:" + str(actions[0].get("action_id", "")).split(":", 1)[0]
    if kind == "view_submission":
        return "view:" + str((body.get("view") or {}).get("callback_id", ""))
    if kind == "event_callback":
        return "event:" + str((body.get("event") or {}).get("type", ""))
    return kind


_ACTION_PATTERN = re.compile(
    r"^(choice|cmd|grade|form|settings|rem|override|outcome|outcomeday)(:.*)?$")
