"""A tiny round-robin HTTP proxy on 127.0.0.1, for load tests of several gradebot replicas.

Every request (``/slack/events`` and anything else) goes to the next upstream in turn. The
body is forwarded byte for byte and the headers unchanged (but for hop-by-hop ones), so
Slack's v0 signature (an HMAC over the raw body and the timestamp header) still verifies on
whichever replica gets it.

An upstream that refuses the connection (a killed replica) is marked down and the request
goes to the next one — safe, since the request never reached that replica. An upstream that
accepted the request but died before answering gets a 502 back to the client (like a real
load balancer: the client, Slack, retries). Upstreams marked down are tried again after
``revive_after`` seconds (a restarted replica gets traffic again), or at once with
``revive()``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.loopback import LoopbackServer

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
               "trailers", "transfer-encoding", "upgrade", "host", "content-length"}


class RoundRobinProxy(LoopbackServer):
    thread_name = "rr-proxy"
    client_max_size = 64 * 1024 * 1024

    def __init__(self, upstreams: list[str], revive_after: float = 2.0,
                 timeout: float = 30.0) -> None:
        super().__init__()
        self.upstreams = [u.rstrip("/") for u in upstreams]
        self.revive_after = revive_after
        self.timeout = timeout
        self.down: dict[str, float] = {}  # upstream → when it was marked down
        self.forwarded: Counter[str] = Counter()  # upstream → requests answered by it
        self.refused: Counter[str] = Counter()  # upstream → connections refused
        self.broken: Counter[str] = Counter()  # upstream → requests that got a 502
        self._next = 0
        self._session: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------ control
    @property
    def url(self) -> str:
        return self.host_url

    def set_upstreams(self, upstreams: list[str]) -> None:
        with self.lock:
            self.upstreams = [u.rstrip("/") for u in upstreams]
            self.down = {u: t for u, t in self.down.items() if u in self.upstreams}

    def revive(self, upstream: str | None = None) -> None:
        """Try ``upstream`` (or every upstream) again from the next request on."""
        with self.lock:
            if upstream is None:
                self.down.clear()
            else:
                self.down.pop(upstream.rstrip("/"), None)

    def _order(self) -> list[str]:
        """Upstreams to try for one request: the next live one first, then the others
        (live ones before those marked down)."""
        with self.lock:
            n = len(self.upstreams)
            if not n:
                return []
            start = self._next % n
            self._next += 1
            ring = self.upstreams[start:] + self.upstreams[:start]
            now = time.monotonic()
            for u, since in list(self.down.items()):
                if now - since >= self.revive_after:
                    del self.down[u]
            live = [u for u in ring if u not in self.down]
            return live + [u for u in ring if u in self.down]

    def _mark_down(self, upstream: str) -> None:
        with self.lock:
            self.down.setdefault(upstream, time.monotonic())

    # ------------------------------------------------------------------ server
    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._forward)

    async def on_start(self) -> None:
        # a new connection per request: a pooled one to a killed upstream would fail after
        # sending, where a refused connect can safely go elsewhere
        self._session = aiohttp.ClientSession(
            auto_decompress=False, timeout=aiohttp.ClientTimeout(total=self.timeout),
            connector=aiohttp.TCPConnector(limit=200, force_close=True))

    async def on_stop(self) -> None:
        if self._session is not None:
            await self._session.close()

    # ------------------------------------------------------------------ forwarding
    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        assert self._session is not None
        for upstream in self._order():
            try:
                async with self._session.request(
                        request.method, upstream + request.rel_url.raw_path_qs, data=body,
                        headers=headers, allow_redirects=False) as r:
                    payload = await r.read()
                    out = {k: v for k, v in r.headers.items()
                           if k.lower() not in _HOP_BY_HOP | {"content-encoding"}}
                    if "Content-Encoding" in r.headers:
                        out["Content-Encoding"] = r.headers["Content-Encoding"]
            except aiohttp.ClientConnectorError:
                self.refused[upstream] += 1
                self._mark_down(upstream)
                continue  # never reached it: the next upstream may take it
            except (TimeoutError, aiohttp.ClientError):
                self.broken[upstream] += 1
                self._mark_down(upstream)
                return web.Response(status=502, text="bad gateway: the upstream went away")
            self.forwarded[upstream] += 1
            return web.Response(status=r.status, body=payload, headers=out)
        return web.Response(status=503, text="no upstream available")


def main(argv: Any = None) -> None:  # pragma: no cover - manual use
    """``python -m tests.fakes.proxy URL1 URL2 …``: serve until interrupted."""
    import sys

    proxy = RoundRobinProxy(list(argv or sys.argv[1:])).start()
    print(proxy.url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    proxy.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
