"""Slack ack latency: ``uv run --extra dev python -m tests.bench.bench_slack_ack``
``[--concurrency 20] [--rounds 20] [--warmup 3]``.

How fast does gradebot answer Slack's HTTP request for ``/customer`` (the ack Slack needs
within 3 s), compared with a bare Bolt ``AsyncApp`` that only acks the same command?

Both apps are served the same way: uvicorn (``tests.fakes.slack_http.ServerThread``) running
a Starlette app whose ``/slack/events`` route calls Bolt's Starlette
``AsyncSlackRequestHandler``. gradebot runs in full: ``bot.http.create_asgi`` around
``bot.slack.app.build_slack_app``, a migrated SQLite database with one graded customer per
user, and its Web API client pointed at ``tests.fakes.slack_api.FakeSlackAPI``, which takes
the work gradebot does after each ack (users.info, the response_url post with the card).

The two apps and the fake Slack API each run in their own process (started and stopped
here), so that no process's Python work slows another's through the GIL, as on a real
deployment where Slack is far away. This process is the client: each round sends
``--concurrency`` signed ``/customer`` requests at once (one per user) to one app and times
each until its HTTP answer arrives. After a gradebot round the benchmark waits until the app
has finished the work it does after its acks, so one round never slows the next; rounds
alternate between the two apps (bare, gradebot, bare, …) so other load on the machine hits
both alike. Prints p50 and p99 of each and the ratios; target: gradebot / bare <= 1.2 for
both. Exits 1 when a target is missed.

What gradebot does after an ack (database, rendering the card, the response_url post: about
5 ms of Python per request) shares the process with the acks still pending in a burst; without
``bot.slack.app.AckFirst`` (follow-up work waits until no request is waiting for its ack)
gradebot measured about 1.5 x the bare app's p50 and p99 here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.fakes.slack_http import SECRET, TEAM, sign

TARGET_RATIO = 1.2
CHILD_CMD = ["-m", "tests.bench.bench_slack_ack"]
TOKEN = "xoxb-bench"
ANSWERS = {"pays_now": "4", "service_level": "right", "outcomes_value": "4", "renewal": "5",
           "payment_risk": "low"}


def users_of(concurrency: int) -> list[str]:
    return [f"U{i:03d}" for i in range(concurrency)]


# ---------------------------------------------------------------------- the served apps
def bare_asgi(api_url: str) -> Any:
    """A Bolt app that only acks /customer, served like ``bot.http.create_asgi`` serves ours."""
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    app = AsyncApp(signing_secret=SECRET, client=AsyncWebClient(token=TOKEN, base_url=api_url),
                   process_before_response=False, raise_error_for_unhandled_request=False)

    @app.command("/customer")
    async def customer(ack: Any) -> None:
        await ack(response_type="ephemeral", text="On it…")

    handler = AsyncSlackRequestHandler(app)

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    return Starlette(routes=[Route("/slack/events", slack_events, methods=["POST"])])


def gradebot_asgi(api_url: str, workdir: Path, users: list[str]) -> Any:
    from bot.config import load_settings
    from bot.engine import Choose, Kind, Start
    from bot.http import create_asgi
    from bot.services import build_services
    from bot.slack.app import build_slack_app
    from scoring import Cadence

    settings = load_settings(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET,
                             SLACK_API_URL=api_url, GRADEBOT_LLM_ENABLED="false",
                             DATABASE_URL=f"sqlite:///{workdir}/bench.db")
    sv = build_services(settings)
    for user in users:  # each user's own graded customer: /customer shows a full card
        actor, _ = sv.actor("slack", TEAM, user)
        reply = sv.conversation.handle(actor, Start(f"Acme {user}", Cadence.QUARTERLY))
        create = next(o.value for o in reply[0].choices if o.value.startswith("create|"))
        reply = sv.conversation.handle(actor, Choose(create))
        sid = next(p.session_id for p in reply if p.session_id is not None)
        saved = sv.conversation.submit_form(actor, sid, ANSWERS)
        assert isinstance(saved, list), saved
        assert saved[0].kind is Kind.SAVED, saved
    return create_asgi(sv, build_slack_app(sv))


def add_idle_route(asgi: Any) -> None:
    """``GET /_bench/busy``: how many tasks of the app (listeners still working after their
    acks, requests in flight) are running on the server's loop."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    own = {"Server.serve", "RequestResponseCycle.run_asgi"}

    async def busy(_request: Request) -> JSONResponse:
        tasks = [t for t in asyncio.all_tasks() if not t.done()
                 and t.get_coro().__qualname__ not in own]
        return JSONResponse({"busy": len(tasks)})

    asgi.router.routes.append(Route("/_bench/busy", busy, methods=["GET"]))


def serve(kind: str, api_url: str, concurrency: int) -> None:
    """Child process: serve one app (or the fake Slack API), print its port, run until
    stdin closes."""
    from tests.fakes.slack_http import ServerThread

    if kind == "api":
        from tests.fakes.slack_api import FakeSlackAPI

        api = FakeSlackAPI().start()
        print(f"PORT {api.port}", flush=True)
        sys.stdin.read()
        print(f"RESPONSES {len(api.of('response_url'))}", flush=True)
        api.stop()
        return
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "bare":
            asgi = bare_asgi(api_url)
        else:
            asgi = gradebot_asgi(api_url, Path(tmp), users_of(concurrency))
            add_idle_route(asgi)
        server = ServerThread(asgi).start()
        print(f"PORT {server.port}", flush=True)
        sys.stdin.read()
        server.stop()


class Child:
    def __init__(self, stack: ExitStack, kind: str, api_url: str = "",
                 concurrency: int = 0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, *CHILD_CMD, "--serve", kind,
             "--api-url", api_url, "--concurrency", str(concurrency)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        stack.callback(self.stop)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("PORT "):
            raise RuntimeError(f"{kind} server did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def stop(self) -> str:
        if self.proc.poll() is not None:
            return ""
        try:
            out, _ = self.proc.communicate("", timeout=30)  # closing stdin stops it
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out


# ---------------------------------------------------------------------- the client
def command_body(user: str, response_url: str, n: int) -> bytes:
    return urlencode({"token": "x", "team_id": TEAM, "team_domain": "bench",
                      "channel_id": "C1", "channel_name": "general", "user_id": user,
                      "user_name": user.lower(), "command": "/customer",
                      "text": f"Acme {user}", "api_app_id": "A1",
                      "response_url": response_url, "trigger_id": f"trig.{n}"}).encode()


async def one_round(http: httpx.AsyncClient, url: str, users: list[str], response_url: str,
                    counter: list[int]) -> list[float]:
    bodies = []
    for user in users:  # built and signed before the clock starts
        counter[0] += 1
        body = command_body(user, response_url, counter[0])
        bodies.append((body, {"Content-Type": "application/x-www-form-urlencoded",
                              **sign(body)}))

    async def send(body: bytes, headers: dict[str, str]) -> float:
        t0 = time.perf_counter()
        r = await http.post(url, content=body, headers=headers)
        elapsed = time.perf_counter() - t0
        if r.status_code != 200 or "On it" not in r.text:
            raise RuntimeError(f"unexpected answer {r.status_code}: {r.text[:200]}")
        return elapsed

    return list(await asyncio.gather(*(send(b, h) for b, h in bodies)))


async def wait_idle(http: httpx.AsyncClient, url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 2:
        if time.monotonic() > deadline:
            raise RuntimeError("gradebot did not finish its work")
        await asyncio.sleep(0.01)
        busy = (await http.get(f"{url}/_bench/busy")).json()["busy"]
        quiet = 0 if busy else quiet + 1


def percentile(xs: list[float], p: float) -> float:
    s = sorted(xs)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


async def measure(apps: dict[str, Child], response_url: str, concurrency: int, rounds: int,
                  warmup: int) -> dict[str, list[float]]:
    users = users_of(concurrency)
    results: dict[str, list[float]] = {name: [] for name in apps}
    counter = [0]
    limits = httpx.Limits(max_connections=concurrency * 2,
                          max_keepalive_connections=concurrency * 2)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        for i in range(warmup + rounds):
            for name, child in apps.items():
                lat = await one_round(http, f"{child.url}/slack/events", users, response_url,
                                      counter)
                if name == "gradebot":
                    await wait_idle(http, child.url)
                if i >= warmup:
                    results[name] += lat
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--serve", choices=["api", "bare", "gradebot"], help=argparse.SUPPRESS)
    ap.add_argument("--api-url", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.serve, args.api_url, args.concurrency)
        return 0

    with ExitStack() as stack:
        api = Child(stack, "api")
        api_url = f"{api.url}/api/"
        apps = {"bare": Child(stack, "bare", api_url),
                "gradebot": Child(stack, "gradebot", api_url, args.concurrency)}
        results = asyncio.run(measure(apps, f"{api.url}/response/bench", args.concurrency,
                                      args.rounds, args.warmup))
        for child in apps.values():
            child.stop()
        answered = api.stop()
    expected = (args.warmup + args.rounds) * args.concurrency
    if f"RESPONSES {expected}" not in answered:  # gradebot really did its work every time
        print(f"gradebot answered {answered.strip()!r}, expected {expected} response_url "
              "posts", file=sys.stderr)
        return 1

    print(f"/customer ack latency, {args.concurrency} concurrent signed requests x "
          f"{args.rounds} rounds per app (after {args.warmup} warm-up rounds)")
    print(f"{'app':<10} {'n':>5} {'p50 ms':>9} {'p99 ms':>9} {'mean ms':>9} {'max ms':>9}")
    stats: dict[str, tuple[float, float]] = {}
    for name, xs in results.items():
        p50, p99 = percentile(xs, 50) * 1000, percentile(xs, 99) * 1000
        stats[name] = (p50, p99)
        print(f"{name:<10} {len(xs):>5} {p50:>9.1f} {p99:>9.1f} "
              f"{statistics.fmean(xs) * 1000:>9.1f} {max(xs) * 1000:>9.1f}")
    r50 = stats["gradebot"][0] / stats["bare"][0]
    r99 = stats["gradebot"][1] / stats["bare"][1]
    ok = r50 <= TARGET_RATIO and r99 <= TARGET_RATIO
    print(f"ratio gradebot/bare: p50 {r50:.2f}, p99 {r99:.2f} (target <= {TARGET_RATIO}) "
          f"{'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
