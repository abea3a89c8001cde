"""Socket mode that never holds the process hostage: connecting in the background, a
readiness answer that says why it is down, an envelope ack that is timed, a stop that ends.

slack_sdk's ``SocketModeClient.connect()`` retries for ever (every ``ping_interval``) while
Slack cannot be reached; awaited before the server started, it kept ``gradebot serve``
running long after SIGTERM, and ``/readyz`` said 200 meanwhile. Here the first connection
(and any re-connection after a failed attempt) runs as a task with a deadline and back-off;
once connected, the SDK's own monitor keeps the session alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.observability import CURRENT_ACCESS, Access, log_access

log = logging.getLogger("gradebot.slack.socket")

ATTEMPT_SECONDS = 15.0  # one try at apps.connections.open plus the WebSocket handshake
MAX_BACKOFF = 30.0
CLOSE_SECONDS = 3.0  # closing the WebSocket politely; Slack may never answer the close


class TimedSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's socket-mode handler, timing each envelope from its arrival to its ack."""

    async def handle(self, client: Any, req: SocketModeRequest) -> None:
        access = Access(time.perf_counter())
        token = CURRENT_ACCESS.set(access)
        outcome = "error"
        try:
            start = time.time()
            response = await run_async_bolt_app(self.app, req)
            await send_async_response(client, req, response, start)  # the envelope ack
            outcome = "ok" if response.status < 400 else f"http_{response.status}"
        finally:
            CURRENT_ACCESS.reset(token)
            log_access("slack", access, outcome)


class SocketLink:
    """The socket-mode connection, kept up in the background.

    ``problem()`` is None while connected, else why not (for ``/readyz``); ``stop()`` ends
    the connection whatever Slack does, within ``CLOSE_SECONDS`` plus a moment.
    """

    def __init__(self, handler: AsyncSocketModeHandler) -> None:
        self.handler = handler
        self.last_error = "connecting to Slack, no answer yet"
        self.since = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._connected_once = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep_connecting(), name="slack-socket-mode")

    async def problem(self) -> str | None:
        client = self.handler.client
        if self._connected_once and await client.is_connected():
            return None
        if self._connected_once and not (self._task and not self._task.done()):
            return "socket-mode connection down (reconnecting)"
        return f"{self.last_error} (for {time.monotonic() - self.since:.0f} s)"

    async def _keep_connecting(self) -> None:
        client = self.handler.client
        delay = 1.0
        while not client.closed:
            try:
                await asyncio.wait_for(self._connect_once(), ATTEMPT_SECONDS)
            except asyncio.CancelledError:
                raise
            except SlackApiError as exc:
                self._failed(f"Slack refused apps.connections.open: "
                             f"{exc.response.get('error')}")
            except TimeoutError:
                self._failed(f"no connection to Slack within {ATTEMPT_SECONDS:.0f} s")
            except Exception as exc:
                self._failed(f"Slack unreachable: {type(exc).__name__}: {exc}"[:300])
            else:
                self._connected_once = True
                log.info("gradebot: Slack socket mode connected")
                return  # from here the SDK's session monitor reconnects by itself
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    async def _connect_once(self) -> None:
        client = self.handler.client
        client.wss_uri = await client.issue_new_wss_url()  # a fresh URL for every attempt
        await client.connect()  # with a URL that works this returns once the session is up

    def _failed(self, reason: str) -> None:
        if reason != self.last_error:
            log.warning("gradebot: socket mode not connected: %s", reason)
            self.since = time.monotonic()
        self.last_error = reason
        self.handler.client.wss_uri = None

    async def stop(self) -> None:
        """Stop connecting and close the connection, without waiting on Slack for long."""
        client = self.handler.client
        client.closed = True
        client.auto_reconnect_enabled = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        try:
            await asyncio.wait_for(self.handler.close_async(), CLOSE_SECONDS)
        except (TimeoutError, Exception) as exc:  # a close Slack never answers
            log.warning("gradebot: socket mode closed without Slack's answer (%s)",
                        type(exc).__name__)
