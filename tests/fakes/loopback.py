"""The one loopback server base for the test fakes: an aiohttp app on 127.0.0.1, served by
an event loop of its own in a daemon thread.

The fake Slack Web API, the fake Bot Connector and the load tests' round-robin proxy all
need the same plumbing — a thread, a loop, a runner, a free port, a clean stop — and differ
only in their routes (and what they open on their loop). A fake subclasses
``LoopbackServer`` and says only that::

    class FakeThing(LoopbackServer):
        thread_name = "fake-thing"

        def routes(self, app: web.Application) -> None:
            app.router.add_route("POST", "/x", self._x)

    thing = FakeThing().start()      # listening on thing.host_url
    ...
    thing.stop()

Handlers run on the fake's loop; state shared with the test thread is guarded by
``self.lock``. ``on_start``/``on_stop`` run on that loop too (open and close client
sessions, queues bound to the loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, Self, TypeVar

from aiohttp import web

T = TypeVar("T")


class LoopbackServer:
    thread_name = "loopback"
    client_max_size = 1024 * 1024  # request bodies (aiohttp's default)
    start_timeout = 15.0

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ what a fake says
    def routes(self, app: web.Application) -> None:
        """Add the fake's routes."""
        raise NotImplementedError

    async def on_start(self) -> None:
        """Runs on the fake's loop before it is reported ready."""

    async def on_stop(self) -> None:
        """Runs on the fake's loop before the server is cleaned up."""

    # ------------------------------------------------------------------ plumbing
    @property
    def host_url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int = 0) -> Self:
        """Serve on ``port`` (0: a free one); returns once it listens. ``port``: a fixed one,
        say one a client was told to use while nothing listened."""
        ready = threading.Event()
        failed: list[BaseException] = []

        def run() -> None:
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            try:
                app = web.Application(client_max_size=self.client_max_size)
                self.routes(app)
                self._runner = web.AppRunner(app, access_log=None)
                self.loop.run_until_complete(self._runner.setup())
                site = web.TCPSite(self._runner, "127.0.0.1", port)
                self.loop.run_until_complete(site.start())
                self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
                self.loop.run_until_complete(self.on_start())
            except BaseException as exc:  # reported by start(), in the test's thread
                failed.append(exc)
                ready.set()
                return
            ready.set()
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True, name=self.thread_name)
        self._thread.start()
        if not ready.wait(self.start_timeout):
            raise RuntimeError(f"{self.thread_name} did not start")
        if failed:
            raise RuntimeError(f"{self.thread_name} did not start: {failed[0]}") from failed[0]
        return self

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run ``coro`` on the fake's loop from another thread; its result."""
        assert self.loop is not None, "not started"
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call_soon(self, fn: Any, *args: Any) -> None:
        """Call ``fn(*args)`` on the fake's loop (thread-safe)."""
        assert self.loop is not None, "not started"
        self.loop.call_soon_threadsafe(fn, *args)

    def stop(self) -> None:
        if self.loop is None:
            return

        async def down() -> None:
            try:
                await self.on_stop()
            finally:
                if self._runner is not None:
                    await self._runner.cleanup()

        with contextlib.suppress(Exception):
            self.run(down())
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not None:
            self._thread.join(10)
