"""The machinery of the load and fault suite (no pytest here: the bench imports it too).

* ``LoadSlackAPI`` — the fake Slack Web API, with an index by DM channel and response_url
  name and a condition variable, so dozens of simulated reps can wait for "their" next
  message without scanning every call in a busy loop; it can also fail a share of calls
  at random (``flaky``) — intermittent 429s and 500s.
* ``Replica`` — a real ``gradebot serve --port P`` OS process (HTTP mode), ``kill()`` is
  ``kill -9``.
* ``Cluster`` — N replicas on one PostgreSQL database behind ``tests.fakes.proxy``.
* ``InProcess`` — the app served in this process (uvicorn thread), for quick suites.
* ``Driver`` — one rep grading a customer through signed Slack requests, reading what the
  bot posted from the fake API, timing every HTTP round trip (the ack latency).
* ``Latencies`` — p50 / p99 / max of those round trips.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import itertools
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import Engine
from sqlmodel import col, select

from scoring import grade, load_worksheet, parse_answer
from scoring.parsing import Parsed
from storage.engine import make_engine, upgrade
from storage.models import Answer, Customer, Grade, GradingSession
from tests.fakes.blocks import blocks_of, buttons
from tests.fakes.proxy import RoundRobinProxy
from tests.fakes.slack_api import Call, FakeSlackAPI
from tests.fakes.slack_http import SECRET, TEAM, ServerThread, loopback_client, sign
from tests.fakes.wait import wait_until
from tests.sheets import pulse_sheet_path

ROOT = Path(__file__).resolve().parents[2]
WORKSHEET = load_worksheet(pulse_sheet_path())  # the sheet the replicas grade with
QUARTERLY = [q.id for q in WORKSHEET.questions_for("quarterly")]
APOLOGY = "Sorry — something went wrong on my side"
ACK_LIMIT = 3.0  # seconds: Slack gives up on an ack after 3 s
_ids = itertools.count(1)


def fresh_id(prefix: str) -> str:
    return f"{prefix}{os.getpid()}x{next(_ids)}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------- payload reading
def values(args: dict[str, Any]) -> list[str]:
    return [str(b.get("value", "")) for b in buttons(blocks_of(args))]


def question_of(args: dict[str, Any]) -> str | None:
    """The question a posted message asks (from its answer buttons), if any."""
    for v in values(args):
        if v.startswith("a|"):
            return v.split("|")[1]
    return None


def is_review(args: dict[str, Any]) -> bool:
    return any(v.startswith("c|save|") for v in values(args))


# ---------------------------------------------------------------------- the fake Slack API
class LoadSlackAPI(FakeSlackAPI):
    """The fake Web API with per-channel indexes, change notification and random failures."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = threading.Condition()
        self.generation = 0
        self.by_channel: dict[str, list[Call]] = {}
        self.by_response: dict[str, list[Call]] = {}
        self.flaky_methods: set[str] = set()
        self.flaky_rate = 0.0
        self.flaky_retry_after = 0.0
        self.flaky_failed = 0
        self._rng = random.Random(7)

    def flaky(self, methods: set[str], rate: float, retry_after: float = 0.0,
              seed: int = 7) -> None:
        """Fail ``rate`` of the calls of ``methods`` at random: half 429 (Retry-After
        ``retry_after``), half 500."""
        with self.lock:
            self.flaky_methods, self.flaky_rate = set(methods), rate
            self.flaky_retry_after = retry_after
            self._rng = random.Random(seed)

    def _record_call(self, call: Call) -> tuple[int, float] | None:
        out = super()._record_call(call)
        with self.lock:
            if call.method == "chat.postMessage":
                self.by_channel.setdefault(str(call.args.get("channel")), []).append(call)
            elif call.method == "response_url":
                self.by_response.setdefault(str(call.args.get("_name")), []).append(call)
            if out is None and call.method in self.flaky_methods \
                    and self._rng.random() < self.flaky_rate:
                self.flaky_failed += 1
                out = (429, self.flaky_retry_after) if self._rng.random() < 0.5 else (500, 0)
        return out

    def _bump(self) -> None:
        with self.changed:
            self.generation += 1
            self.changed.notify_all()

    async def _api(self, request: Any) -> Any:
        try:
            return await super()._api(request)
        finally:
            self._bump()

    async def _response(self, request: Any) -> Any:
        try:
            return await super()._response(request)
        finally:
            self._bump()

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self.by_channel.clear()
            self.by_response.clear()
            self.flaky_methods.clear()
            self.flaky_rate = 0.0
            self.flaky_failed = 0

    # reading
    def posts(self, channel: str, thread: str | None = None, top: bool = False) -> list[Call]:
        """Messages Slack accepted in ``channel`` (one ``thread`` of it; or ``top``-level)."""
        with self.lock:
            got = list(self.by_channel.get(channel, ()))
        return [c for c in got if c.result is not None
                and (thread is None or c.args.get("thread_ts") == thread)
                and (not top or not c.args.get("thread_ts"))]

    def responses(self, name: str) -> list[Call]:
        with self.lock:
            return list(self.by_response.get(name, ()))

    def await_change(self, check: Callable[[], Any], timeout: float, what: str) -> Any:
        """Wait (without spinning) until ``check()`` is truthy; re-checked on every call."""
        deadline = time.monotonic() + timeout
        while True:
            with self.changed:
                gen = self.generation
            got = check()
            if got:
                return got
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
            with self.changed:
                if self.generation == gen:
                    self.changed.wait(min(left, 0.5))

    def quiet(self, seconds: float = 0.3, timeout: float = 20.0) -> None:
        """Wait until no call has arrived for ``seconds`` (the apps finished their work)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.changed:
                gen = self.generation
                self.changed.wait(seconds)
                if self.generation == gen:
                    return
        raise AssertionError("the apps kept calling Slack")


# ---------------------------------------------------------------------- latencies
class Latencies:
    """Every HTTP round trip to the app, in seconds (thread-safe)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.statuses: dict[int, int] = {}
        self._lock = threading.Lock()

    def add(self, seconds: float, status: int) -> None:
        with self._lock:
            self.samples.append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1

    def pct(self, p: float) -> float:
        with self._lock:
            xs = sorted(self.samples)
        if not xs:
            return 0.0
        return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs) + 0.5) - 1))]

    @property
    def count(self) -> int:
        return len(self.samples)

    @property
    def worst(self) -> float:
        return max(self.samples, default=0.0)

    def line(self) -> str:
        return (f"{self.count} requests, ack p50 {1000 * self.pct(50):.0f} ms, "
                f"p99 {1000 * self.pct(99):.0f} ms, max {1000 * self.worst:.0f} ms, "
                f"statuses {dict(sorted(self.statuses.items()))}")

    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else 0.0


# ---------------------------------------------------------------------- signed requests
class Sender:
    """Signed Slack requests to ``base_url``/slack/events, each round trip timed. A 502/503
    (a replica died under the request, or none is up) is retried the way Slack would: the
    same body again (an event with X-Slack-Retry-Num)."""

    def __init__(self, base_url: str, lat: Latencies, secret: str = SECRET,
                 timeout: float = 30.0, retry_gateway: bool = True) -> None:
        self.http = loopback_client(base_url, timeout=timeout)
        self.lat = lat
        self.secret = secret
        self.retry_gateway = retry_gateway
        self.gateway_retries = 0

    def close(self) -> None:
        self.http.close()

    def post(self, body: bytes, content_type: str | None, headers: dict[str, str] | None = None,
             signed: bool = True, event: bool = False) -> httpx.Response:
        extra = dict(headers or {})
        for attempt in range(6):
            h = {**({"Content-Type": content_type} if content_type else {}), **extra}
            if signed:
                h.update(sign(body, self.secret))
            t0 = time.monotonic()
            try:
                r = self.http.post("/slack/events", content=body, headers=h)
            except httpx.TransportError as exc:  # reset, refused: as a 599 to the caller
                self.lat.add(time.monotonic() - t0, 599)
                r = httpx.Response(599, text=f"{type(exc).__name__}: {exc}")
                if not self.retry_gateway or attempt == 5:
                    return r
                continue
            self.lat.add(time.monotonic() - t0, r.status_code)
            if r.status_code not in (502, 503) or not self.retry_gateway or attempt == 5:
                return r
            self.gateway_retries += 1
            if event:
                extra = {**extra, "X-Slack-Retry-Num": str(attempt + 1),
                         "X-Slack-Retry-Reason": "http_error"}
            time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def command(self, command: str, text: str, user: str, response_url: str,
                **fields: Any) -> httpx.Response:
        form = {"token": "x", "team_id": TEAM, "team_domain": "test", "channel_id": "C1",
                "channel_name": "general", "user_id": user, "user_name": user.lower(),
                "command": command, "text": text, "api_app_id": "A1",
                "response_url": response_url, "trigger_id": fresh_id("trig."), **fields}
        return self.post(urlencode(form).encode(), "application/x-www-form-urlencoded")

    def event(self, event: dict[str, Any], event_id: str | None = None,
              retry_num: int | None = None) -> httpx.Response:
        body = {"token": "x", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
                "event_id": event_id or fresh_id("Ev"), "event_time": int(time.time()),
                "event": event}
        headers = {} if retry_num is None else {"X-Slack-Retry-Num": str(retry_num),
                                                "X-Slack-Retry-Reason": "timeout"}
        return self.post(json.dumps(body).encode(), "application/json", headers, event=True)

    @staticmethod
    def dm_event(user: str, text: str, thread_ts: str | None,
                 client_msg_id: str | None = None) -> dict[str, Any]:
        ev: dict[str, Any] = {"type": "message", "channel_type": "im", "user": user,
                              "text": text, "channel": dm_of(user), "ts": f"{time.time():.6f}",
                              "client_msg_id": client_msg_id or fresh_id("cm-")}
        if thread_ts:
            ev["thread_ts"] = thread_ts
        return ev

    def click(self, value: str, user: str, response_url: str, message_ts: str = "",
              thread_ts: str | None = None, ephemeral: bool = False,
              action_id: str = "choice:0") -> httpx.Response:
        channel = dm_of(user)
        payload = {"type": "block_actions", "team": {"id": TEAM, "domain": "test"},
                   "user": {"id": user, "name": user.lower(), "team_id": TEAM},
                   "api_app_id": "A1", "trigger_id": fresh_id("trig."),
                   "response_url": response_url,
                   "container": {"type": "message", "message_ts": message_ts,
                                 "channel_id": channel, "is_ephemeral": ephemeral},
                   "channel": {"id": channel},
                   "message": {"ts": message_ts, **({"thread_ts": thread_ts}
                                                    if thread_ts else {})},
                   "actions": [{"action_id": action_id, "block_id": "b", "value": value,
                                "type": "button", "action_ts": f"{time.time():.6f}"}]}
        return self.post(urlencode({"payload": json.dumps(payload)}).encode(),
                         "application/x-www-form-urlencoded")


def dm_of(user: str) -> str:
    return "D" + user.lstrip("U")  # what the fake's conversations.open answers


# ---------------------------------------------------------------------- one rep
@dataclass
class Plan:
    """What a rep answers: question id → (value as sent, "click" or "type")."""

    answers: dict[str, tuple[str, str]]

    @classmethod
    def random(cls, rng: random.Random, how: str = "mixed") -> Plan:
        out: dict[str, tuple[str, str]] = {}
        for i, qid in enumerate(QUARTERLY):
            q = WORKSHEET.question_map[qid]
            opts = [c.key for c in q.choices] or [str(n) for n in range(1, 6)]
            way = how if how != "mixed" else ("click" if (i + rng.randrange(2)) % 2 else "type")
            out[qid] = (rng.choice(opts), way)
        return cls(out)

    def parsed(self) -> dict[str, Any]:
        out = {}
        for qid, (raw, _) in self.answers.items():
            p = parse_answer(WORKSHEET.question_map[qid], raw)
            assert isinstance(p, Parsed), (qid, raw, p)
            out[qid] = p.value
        return out

    def expected(self) -> tuple[str, float]:
        g = grade(WORKSHEET, self.parsed(), "quarterly")
        return g.letter, g.total


@dataclass
class Driver:
    """One rep grading one customer the way Slack delivers it.

    ``recover``: when the next prompt does not come within ``stuck_after`` seconds (the
    replica that took the input died), ask again the way a rep would — ``/grade`` the same
    customer and click Resume — and check the question asked is the first one without a
    recorded answer."""

    api: LoadSlackAPI
    base_url: str
    lat: Latencies
    user: str
    customer: str
    plan: Plan
    db: Engine | None = None
    timeout: float = 60.0
    recover: bool = False
    stuck_after: float = 8.0
    retries: int = 0  # event deliveries per typed answer beyond the first (Slack retries)
    thread: str | None = None
    recoveries: int = 0
    resumed_right: int = 0
    resumed_wrong: list[str] = field(default_factory=list)
    events_sent: int = 0
    log: list[str] = field(default_factory=list)
    on_answer: Callable[[Driver], None] | None = None

    def __post_init__(self) -> None:
        self.sender = Sender(self.base_url, self.lat)
        self.dm = dm_of(self.user)
        self.rname = f"r-{self.user}"
        self.response_url = self.api.response_url(self.rname)

    def close(self) -> None:
        self.sender.close()

    # reading
    def thread_posts(self) -> list[Call]:
        return self.api.posts(self.dm, self.thread) if self.thread else []

    @staticmethod
    def ts(call: Call) -> str:
        return str(wait_until(lambda: call.result, 10, "the post's ts", interval=0.05)["ts"])

    # acting
    def _ok(self, r: httpx.Response) -> None:
        assert r.status_code == 200, (r.status_code, r.text[:300])

    def click(self, call: Call, value: str) -> None:
        assert value in values(call.args), (value, values(call.args))
        self._ok(self.sender.click(value, self.user, self.response_url, self.ts(call),
                                   call.args.get("thread_ts")))

    def type(self, text: str) -> None:
        ev = Sender.dm_event(self.user, text, self.thread)
        eid = fresh_id("Ev")
        self.last_event = (ev, eid)
        if not self.retries:
            self.events_sent += 1
            self._ok(self.sender.event(ev, eid))
            return
        # the delivery and Slack's retries of it (same event_id), all at once
        results: list[httpx.Response] = []
        go = threading.Barrier(self.retries + 1)

        def send(n: int | None) -> None:
            go.wait(30)
            results.append(self.sender.event(ev, eid, n))

        threads = [threading.Thread(target=send, args=(n,))
                   for n in [None, *range(1, self.retries + 1)]]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.events_sent += len(results)
        assert len(results) == self.retries + 1
        for r in results:
            self._ok(r)

    def open(self) -> None:
        """``/grade <customer> quarterly`` and whatever it offers (Create, Resume) until a
        question is asked in the DM; follow that thread."""
        seen_resp = len(self.api.responses(self.rname))
        seen_dm = len(self.api.posts(self.dm))
        self._ok(self.sender.command("/grade", f"{self.customer} quarterly", self.user,
                                     self.response_url))
        clicked: set[int] = set()
        deadline = time.monotonic() + self.timeout

        def progress() -> Any:
            for c in self.api.responses(self.rname)[seen_resp:]:
                for v in values(c.args):
                    if v.startswith(("create|", "c|resume|")) and id(c) not in clicked:
                        return "ephemeral", c, v
            posts = self.api.posts(self.dm)[seen_dm:]
            for c in reversed(posts):
                if question_of(c.args) or is_review(c.args):
                    return "question", c, ""
            for c in posts:
                for v in values(c.args):
                    if v.startswith("c|resume|") and id(c) not in clicked:
                        return "resume", c, v
            return None

        while True:
            kind, call, value = self.api.await_change(
                progress, max(1.0, deadline - time.monotonic()),
                f"{self.user}: a question after /grade {self.customer}")
            if kind == "question":
                self.thread = call.args.get("thread_ts")
                return
            clicked.add(id(call))
            if kind == "ephemeral":
                self._ok(self.sender.click(value, self.user, self.response_url, "",
                                           ephemeral=True))
            else:
                self.click(call, value)

    def _recorded(self) -> dict[str, Any]:
        assert self.db is not None
        with self.db.connect() as conn:
            from sqlmodel import Session

            with Session(bind=conn) as s:
                gs = s.exec(select(GradingSession).join(
                    Customer, col(Customer.id) == GradingSession.customer_id).where(
                    Customer.name == self.customer, col(GradingSession.status).in_(
                        ["open", "review", "paused"]))).first()
                if gs is None:
                    return {}
                rows = s.exec(select(Answer).where(Answer.session_id == gs.id,
                                                   col(Answer.superseded_at).is_(None))).all()
                return {a.question_id: a.value for a in rows}

    def _resume(self) -> None:
        """The next prompt never came (or the bot apologised): ask again the way a rep
        would — /grade the customer again and resume."""
        self.recoveries += 1
        before = self._recorded() if self.db is not None else None
        self.log.append(f"stuck; recorded before resume: {before}")
        self.open()
        self._answered = None
        if before is not None:
            asked = None
            for c in reversed(self.thread_posts()):
                if question_of(c.args) or is_review(c.args):
                    asked = question_of(c.args) or "review"
                    break
            expect = next((q for q in QUARTERLY if q not in self._recorded()), "review")
            self.log.append(f"resumed at {asked}, expected {expect}")
            if asked == expect:
                self.resumed_right += 1
            else:
                self.resumed_wrong.append(f"asked {asked}, expected {expect}")

    def grade(self) -> None:
        """The whole grading: open, answer each question as planned, save."""
        self.open()
        self.finish()

    def finish(self) -> None:
        """Answer until the grade is saved."""
        for _ in range(60):
            if self.step():
                return
        raise AssertionError(f"{self.user}: the grading did not finish; {self.log}")

    def step(self) -> bool:
        """Answer the prompt in front of the rep (a question, or save the review); True once
        the grade is saved."""
        try:
            got = self.api.await_change(
                self._prompt_or_apology, self.stuck_after if self.recover else self.timeout,
                f"{self.user}: the next prompt")
        except AssertionError:
            if not self.recover:
                raise
            self._resume()
            return False
        if got == "apology":  # "something went wrong … try again": the rep does
            self.apologies += 1
            self._resume()
            return False
        i, call = got
        if is_review(call.args):
            self._save(call)
            return True
        qid = question_of(call.args)
        assert qid is not None
        raw, how = self.plan.answers[qid]
        if how == "click":
            self.click(call, f"a|{qid}|{raw}")
        else:
            self.type(raw)
        self._answered = (i, qid)
        self._marks = (len(self.api.posts(self.dm)), len(self.api.responses(self.rname)))
        if self.on_answer is not None:
            self.on_answer(self)
        return False

    _answered: tuple[int, str] | None = None
    _marks: tuple[int, int] = (0, 0)
    last_event: tuple[dict[str, Any], str] | None = None
    apologies: int = 0

    def apologised(self) -> bool:
        """Did the bot say sorry (a failure after its ack) since the last answer?"""
        dm, resp = self._marks
        return any(APOLOGY in str(c.args.get("text")) for c in
                   self.api.posts(self.dm)[dm:] + self.api.responses(self.rname)[resp:])

    def _prompt_or_apology(self) -> tuple[int, Call] | str | None:
        got = self._latest_prompt()
        if got is None and self.recover and self.apologised():
            return "apology"
        return got

    def _latest_prompt(self) -> tuple[int, Call] | None:
        """The newest actionable prompt, provided it is newer than the one last answered."""
        posts = self.thread_posts()
        for i in range(len(posts) - 1, -1, -1):
            args = posts[i].args
            if question_of(args) or is_review(args):
                if self._answered is not None and i <= self._answered[0]:
                    return None
                return i, posts[i]
        return None

    def _save(self, review: Call) -> None:
        n = len(self.thread_posts())
        if self.retries:
            self.type("save")
        else:
            self.click(review, "c|save|")
        deadline = self.stuck_after if self.recover else self.timeout
        try:
            self.api.await_change(lambda: [c for c in self.thread_posts()[n:]
                                           if "Saved:" in str(c.args.get("text"))],
                                  deadline, f"{self.user}: the saved grade")
        except AssertionError:
            if not self.recover or self._graded():
                if self._graded():
                    return
                raise
            self._resume()
            self._answered = None
            got = self.api.await_change(self._latest_prompt, self.timeout, "the review")
            self._save(got[1])

    def _graded(self) -> bool:
        if self.db is None:
            return False
        from sqlmodel import Session

        with Session(self.db) as s:
            c = s.exec(select(Customer).where(Customer.name == self.customer)).first()
            return c is not None and c.latest_grade_id is not None


# ---------------------------------------------------------------------- checking results
@dataclass
class Outcome:
    grades: list[Grade]
    answers: list[Answer]  # of the saved session (all rows, superseded ones too)


def outcome(db: Engine, customer: str) -> Outcome:
    from sqlmodel import Session

    with Session(db) as s:
        c = s.exec(select(Customer).where(Customer.name == customer)).first()
        if c is None:
            return Outcome([], [])
        grades = list(s.exec(select(Grade).where(Grade.customer_id == c.id)).all())
        sessions = s.exec(select(GradingSession).where(
            GradingSession.customer_id == c.id, GradingSession.status == "saved")).all()
        answers: list[Answer] = []
        for gs in sessions:
            answers += s.exec(select(Answer).where(Answer.session_id == gs.id)
                              .order_by(col(Answer.id))).all()
        return Outcome(grades, answers)


def check_grading(db: Engine, d: Driver) -> list[str]:
    """Problems with ``d``'s grading: one grade, right letter and total, one answer row per
    question with the planned value."""
    out = outcome(db, d.customer)
    problems = []
    if len(out.grades) != 1:
        problems.append(f"{d.customer}: {len(out.grades)} grades")
    letter, total = d.plan.expected()
    for g in out.grades[:1]:
        if (g.letter, round(g.total, 6)) != (letter, round(total, 6)):
            problems.append(f"{d.customer}: graded {g.letter} {g.total}, expected {letter} "
                            f"{total}")
    by_q: dict[str, list[Any]] = {}
    for a in out.answers:
        by_q.setdefault(a.question_id, []).append(a.value)
    expected = d.plan.parsed()
    if sorted(by_q) != sorted(expected) or any(len(v) != 1 for v in by_q.values()):
        problems.append(f"{d.customer}: answer rows {by_q}, expected one each of {expected}")
    elif {k: v[0] for k, v in by_q.items()} != expected:
        problems.append(f"{d.customer}: answers {by_q}, expected {expected}")
    return problems


def run_all(drivers: list[Driver], fn: Callable[[Driver], None],
            timeout: float = 600) -> list[str]:
    """Run ``fn(driver)`` for every driver at once (a thread each); the failures."""
    errors: list[str] = []
    lock = threading.Lock()

    def one(d: Driver) -> None:
        try:
            fn(d)
        except BaseException as exc:  # report, don't hang the others
            with lock:
                errors.append(f"{d.user}: {type(exc).__name__}: {exc} {d.log[-3:]}")

    threads = [threading.Thread(target=one, args=(d,), daemon=True) for d in drivers]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    stuck = [d.user for d, t in zip(drivers, threads, strict=True) if t.is_alive()]
    if stuck:
        errors.append(f"still running after {timeout:g}s: {stuck}")
    return errors


# ---------------------------------------------------------------------- processes
def replica_env(db_url: str, api: FakeSlackAPI, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "OPENAI_", "GRADEBOT_")) and k not in (
               "CLIENT_ID", "CLIENT_SECRET", "TENANT_ID", "DATABASE_URL")}
    env.update({"DATABASE_URL": db_url, "SLACK_BOT_TOKEN": "xoxb-test",
                "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api.base_url,
                "GRADEBOT_SWEEP_MINUTES": "0", "GRADEBOT_LOG_JSON": "false",
                # one pulse has a (provisional) letter on this sheet (tests/sheets.py)
                "GRADEBOT_WORKSHEET": str(pulse_sheet_path()),
                "PYTHONUNBUFFERED": "1", **extra})
    return env


def gradebot_command() -> list[str]:
    script = Path(sys.executable).parent / "gradebot"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from bot.cli import main; "
            "sys.argv[0] = 'gradebot'; sys.exit(main())"]


_STARTED: list[subprocess.Popen[bytes]] = []


@atexit.register
def _stop_leftovers() -> None:
    """A safety net: never leave a replica running after this process ends."""
    for proc in _STARTED:
        if proc.poll() is None:
            proc.kill()


class Replica:
    """``gradebot serve --port P`` as an OS process (HTTP mode: no SLACK_APP_TOKEN)."""

    def __init__(self, name: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.env = env
        self.workdir = workdir
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.logfile = workdir / f"replica-{name}.log"
        self.started_s = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Replica:
        self.port = free_port()
        self._t0 = time.monotonic()
        log = self.logfile.open("ab")
        # the working directory holds no .env: only the environment configures it
        self.proc = subprocess.Popen(
            [*gradebot_command(), "serve", "--port", str(self.port), "--host", "127.0.0.1"],
            env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        _STARTED.append(self.proc)
        log.close()
        return self

    def wait_ready(self, timeout: float = 90.0) -> Replica:
        deadline = time.monotonic() + timeout
        with loopback_client(timeout=5) as http:
            while True:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise AssertionError(f"replica {self.name} exited "
                                         f"({self.proc.returncode}): {self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(self.url + "/readyz").status_code == 200:
                        self.started_s = time.monotonic() - self._t0
                        return self
                if time.monotonic() > deadline:
                    raise AssertionError(f"replica {self.name} not ready: {self.log_tail()}")
                time.sleep(0.1)

    def kill(self) -> None:
        """``kill -9``: no clean-up of any kind."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def errors_logged(self) -> list[str]:
        return [line for line in self.log_tail(10**7).splitlines()
                if "Traceback" in line or " ERROR " in line or '"level": "ERROR"' in line]


_LATENCY = re.compile(r'latency_ms["=:\s]+([0-9.]+)')


def access_latencies(replicas: list[Replica], since: dict[str, int]) -> list[float]:
    """Ack latencies (ms) of the ``gradebot.access`` lines the replicas logged after the
    log offsets ``since`` — the server's own figure, from arrival to the ack being sent."""
    out: list[float] = []
    for r in replicas:
        for line in r.log_tail(10**9)[since.get(r.name, 0):].splitlines():
            if "latency_ms" in line:
                m = _LATENCY.search(line)
                if m:
                    out.append(float(m.group(1)))
    return out


class Cluster:
    """``n`` replicas of ``gradebot serve`` on one database behind a round-robin proxy."""

    def __init__(self, db_url: str, n: int = 2, workdir: Path | None = None,
                 **env: str) -> None:
        self.db_url = db_url
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="gb-load-"))
        self.api = LoadSlackAPI().start()
        upgrade(db_url)  # once, before the replicas (their own upgrade is then a no-op)
        self.db = make_engine(db_url)
        self.env = replica_env(db_url, self.api, **env)
        self.replicas = [Replica(chr(ord("a") + i), self.env, self.workdir)
                         for i in range(n)]
        self.proxy: RoundRobinProxy | None = None
        self.lat = Latencies()
        try:
            for r in self.replicas:
                r.start()
            for r in self.replicas:
                r.wait_ready()
            self.proxy = RoundRobinProxy([r.url for r in self.replicas]).start()
        except BaseException:
            self.close()
            raise

    def replace(self, old: Replica) -> Replica:
        """Start a new replica in place of ``old`` (killed) and route traffic to it."""
        new = Replica(old.name + "2", self.env, self.workdir)
        self.replicas = [new if r is old else r for r in self.replicas]
        new.start().wait_ready()
        assert self.proxy is not None
        self.proxy.set_upstreams([r.url for r in self.replicas])
        return new

    @property
    def url(self) -> str:
        assert self.proxy is not None
        return self.proxy.url

    def driver(self, user: str, customer: str, plan: Plan, **kw: Any) -> Driver:
        return Driver(self.api, self.url, kw.pop("lat", self.lat), user, customer,
                      plan, db=self.db, **kw)

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        for r in self.replicas:
            r.stop()
        self.db.dispose()
        self.api.stop()


# ---------------------------------------------------------------------- in this process
class InProcess:
    """The app served in this process on a migrated database (the tests/slack style)."""

    def __init__(self, db_url: str, api: LoadSlackAPI | None = None, **settings: str) -> None:
        from bot.config import load_settings
        from bot.http import create_asgi
        from bot.services import build_services
        from bot.slack.app import build_slack_app

        self.api = api or LoadSlackAPI().start()
        self.own_api = api is None
        cfg = load_settings(**{"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
                               "SLACK_API_URL": self.api.base_url, "DATABASE_URL": db_url,
                               "GRADEBOT_LOG_JSON": "false",
                               "GRADEBOT_WORKSHEET": str(pulse_sheet_path()), **settings})
        self.sv = build_services(cfg)
        self.server = ServerThread(create_asgi(self.sv, build_slack_app(self.sv))).start()
        self.lat = Latencies()

    @property
    def url(self) -> str:
        return self.server.url

    def busy(self) -> bool:
        loop = self.server.server.servers[0].get_loop()
        return any(not t.done() and t.get_coro().__qualname__ != "Server.serve"
                   for t in asyncio.all_tasks(loop))

    def settle(self, timeout: float = 30.0) -> None:
        """Until the app has finished the work it does after its acks."""
        deadline = time.monotonic() + timeout
        calm = 0
        while calm < 3:
            if time.monotonic() > deadline:
                raise AssertionError("the app kept working")
            gen = self.api.generation
            time.sleep(0.03)
            calm = 0 if self.busy() or gen != self.api.generation else calm + 1

    def driver(self, user: str, customer: str, plan: Plan, **kw: Any) -> Driver:
        return Driver(self.api, self.url, kw.pop("lat", self.lat), user, customer, plan,
                      db=self.sv.db, **kw)

    def close(self) -> None:
        self.server.stop()
        self.sv.db.dispose()
        if self.own_api:
            self.api.stop()


@contextlib.contextmanager
def postgres_database(server_url: str | None = None) -> Iterator[str]:
    """A fresh PostgreSQL database for one run (GRADEBOT_TEST_POSTGRES_URL), dropped after."""
    from tests.conftest import postgres_server_url, temporary_postgres_database

    server = server_url or postgres_server_url()
    if not server:
        raise RuntimeError("set GRADEBOT_TEST_POSTGRES_URL, e.g. "
                           "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with temporary_postgres_database(server, prefix="gb_load_") as url:
        yield url
