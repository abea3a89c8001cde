"""The real ASGI app on 127.0.0.1, its WebClient pointed at a fake Slack Web API.

Every payload the app sends to Slack during a test (Web API calls, response_url posts and
the HTTP bodies of its acks) is checked against Block Kit's limits when the test ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from bot.config import load_settings
from bot.http import create_asgi
from bot.services import Services, build_services
from bot.slack.app import build_slack_app
from storage.models import Answer, Customer, Grade, GradingSession
from tests.conftest import copy_migrated
from tests.fakes import blocks
from tests.fakes.blocks import blocks_of, buttons, texts
from tests.fakes.slack_api import Call, FakeSlackAPI
from tests.fakes.slack_http import SECRET, ServerThread, SlackSender
from tests.fakes.wait import wait_until
from tests.sheets import pulse_sheet_path
from tests.slack.blockkit import check_payload

USER = "U1"  # the rep; the fake's conversations.open gives their DM as "D1"
_RUNNING: list[ServerThread] = []  # the app servers of the current test


class RecordingSender(SlackSender):
    """A SlackSender that keeps every response (for the ack-size and latency checks)."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.responses: list[tuple[float, httpx.Response]] = []

    def post(self, *a: Any, **kw: Any) -> httpx.Response:
        t0 = time.monotonic()
        r = super().post(*a, **kw)
        self.responses.append((time.monotonic() - t0, r))
        return r


@dataclass
class Env:
    sv: Services
    sender: RecordingSender
    api: FakeSlackAPI
    server: ServerThread


@pytest.fixture
def make_env(tmp_path: Path, fake_slack: FakeSlackAPI, migrated_sqlite: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Env]]:
    """Start the app with extra settings (e.g. GRADEBOT_WORKSHEET); stopped after the test."""
    for var in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_APP_TOKEN", "OPENAI_API_KEY",
                "OPENAI_BASE_URL", "GRADEBOT_LLM_MODEL", "GRADEBOT_WORKSHEET"):
        monkeypatch.delenv(var, raising=False)
    fake_slack.reset()
    fake_slack.users.clear()
    started: list[Env] = []

    def make(**overrides: str) -> Env:
        db = tmp_path / f"slack{len(started)}.db"
        copy_migrated(migrated_sqlite, db)
        settings = load_settings(**{
            "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake_slack.base_url, "DATABASE_URL": f"sqlite:///{db}",
            "GRADEBOT_ADMINS": "UADMIN", "GRADEBOT_WORKSHEET": str(pulse_sheet_path()),
            **overrides})
        sv = build_services(settings, migrate=False)
        server = ServerThread(create_asgi(sv, build_slack_app(sv))).start()
        sender = RecordingSender(server.url, fake_slack.response_url())
        env = Env(sv, sender, fake_slack, server)
        started.append(env)
        _RUNNING.append(server)
        return env

    yield make
    with contextlib.suppress(AssertionError):
        settle(fake_slack, timeout=5)  # let work after the last ack finish (and be checked)
    _RUNNING.clear()
    for env in started:
        env.sender.close()
        env.server.stop(wait=False)  # idle (settled): it exits on its own
        env.sv.db.dispose()
    # Block Kit limits, over everything the app sent to Slack in this test
    problems: list[str] = []
    for call in fake_slack.calls:
        problems += [f"{call.method}: {p}" for p in check_payload(call.method, call.args)]
    for env in started:
        for _, r in env.sender.responses:
            if r.headers.get("content-type", "").startswith("application/json") and r.content:
                problems += [f"ack: {p}" for p in check_payload("ack", r.json())]
    assert not problems, "\n".join(problems)


@pytest.fixture
def slack_env(make_env: Callable[..., Env]
              ) -> tuple[Services, RecordingSender, FakeSlackAPI]:
    env = make_env()
    return env.sv, env.sender, env.api


@pytest.fixture
def rep(make_env: Callable[..., Env]) -> Rep:
    env = make_env()
    return Rep(env.sv, env.sender, env.api)


# ---------------------------------------------------------------------- reading payloads
def shown(call: Call) -> str:
    """What a rep sees of a message: its blocks' text, or its top-level text."""
    return blocks.shown(call.args)


def _busy(server: ServerThread) -> bool:
    """Is the app still working on something (a listener after its ack, a request)?
    Everything it does runs as tasks on the server's loop, beside uvicorn's own one."""
    loop = server.server.servers[0].get_loop()
    return any(not t.done() and t.get_coro().__qualname__ != "Server.serve"
               for t in asyncio.all_tasks(loop))


def settle(api: FakeSlackAPI, timeout: float = 15.0) -> None:
    """Wait until the running apps have finished all their work (listeners run after the
    ack, so "nothing more happened" can only be said once they are done)."""
    deadline = time.monotonic() + timeout
    idle_checks = 0
    n = len(api.calls)
    while idle_checks < 3:
        if time.monotonic() > deadline:
            raise AssertionError("the app kept working")
        time.sleep(0.02)
        busy = any(_busy(server) for server in _RUNNING)
        idle_checks = 0 if busy or len(api.calls) != n else idle_checks + 1
        n = len(api.calls)


# ---------------------------------------------------------------------- a rep, driving it
class Rep:
    """A rep using gradebot the way Slack delivers it, reading what the bot posted."""

    def __init__(self, sv: Services, sender: RecordingSender, api: FakeSlackAPI,
                 user: str = USER) -> None:
        self.sv, self.slack, self.api, self.user = sv, sender, api, user
        self.dm = "D" + user.lstrip("U")
        self.thread: str | None = None

    # what the bot posted
    def posts(self, thread: str | None = None) -> list[Call]:
        """Messages posted in the rep's DM (or one thread of it); not failed attempts."""
        return [c for c in self.api.of("chat.postMessage")
                if c.result is not None and c.args.get("channel") == self.dm
                and (thread is None or c.args.get("thread_ts") == thread)]

    def responses(self) -> list[Call]:
        return self.api.of("response_url")

    def messages(self, thread: str | None = None) -> list[Call]:
        """The DM's (or a thread's) messages as they look now: each posted message with the
        text and blocks of its latest ``chat.update`` (gradebot updates in place)."""
        updates: dict[str, dict[str, Any]] = {}
        for c in self.api.of("chat.update"):
            if c.result is not None and c.args.get("channel") == self.dm:
                updates[str(c.args.get("ts"))] = c.args
        out = []
        for c in self.posts(thread):
            ts = str((c.result or {}).get("ts"))
            if ts in updates:
                args = {**c.args, "text": updates[ts].get("text"),
                        "blocks": updates[ts].get("blocks")}
                c = Call("chat.postMessage", args, c.at, c.result)
            out.append(c)
        return out

    @staticmethod
    def ts_of(call: Call) -> str:
        """The ts Slack (the fake) gave a posted message."""
        return str(wait_until(lambda: call.result, 5, "the post's answer")["ts"])

    def question(self) -> Call:
        """The latest question in the thread (a message with answer or skip buttons)."""
        def latest() -> Call | None:
            for c in reversed(self.messages(self.thread)):
                if any(b["value"].startswith(("a|", "c|skip"))
                       for b in buttons(blocks_of(c.args))):
                    return c
            return None

        return wait_until(latest, 5, "a question in the thread")

    # sending
    def command(self, name: str, text: str = "", **kw: Any) -> httpx.Response:
        r = self.slack.command(name, text, user=self.user, **kw)
        assert r.status_code == 200, r.text
        return r

    def click(self, call: Call, value: str, **kw: Any) -> httpx.Response:
        """Click the button with ``value`` on the posted message ``call``."""
        btn = next((b for b in buttons(blocks_of(call.args)) if b["value"] == value), None)
        assert btn is not None, f"no button {value!r} in {shown(call)}"
        block = next((b.get("block_id") for b in blocks_of(call.args)
                      if btn in (b.get("elements") or []) or b.get("accessory") == btn), None)
        r = self.slack.click(value, action_id=btn["action_id"], user=self.user,
                             channel=self.dm, message_ts=self.ts_of(call),
                             thread_ts=call.args.get("thread_ts"), block_id=block or "b", **kw)
        assert r.status_code == 200, r.text
        return r

    def click_ephemeral(self, payload: dict[str, Any], value: str) -> httpx.Response:
        """Click a button of an ephemeral answer (a response_url payload)."""
        btn = next((b for b in buttons(payload.get("blocks") or []) if b["value"] == value),
                   None)
        assert btn is not None, f"no button {value!r} in {texts(payload.get('blocks'))}"
        r = self.slack.click(value, action_id=btn["action_id"], user=self.user,
                             message_ts="", ephemeral=True)
        assert r.status_code == 200, r.text
        return r

    def say(self, text: str, **kw: Any) -> httpx.Response:
        r = self.slack.dm(text, user=self.user, thread_ts=self.thread, **kw)
        assert r.status_code == 200, r.text
        return r

    # flows
    def start(self, name: str = "Acme", cadence: str = "quarterly") -> str:
        """/grade <name> → Create → the DM thread with its first question; its ts."""
        n = len(self.responses())
        self.command("/grade", f"{name} {cadence}".strip())
        first = wait_until(lambda: self.responses()[n:], what="the /grade answer")[0]
        create = [b["value"] for b in buttons(first.args.get("blocks"))
                  if b["value"].startswith("create|")]
        if create:
            self.click_ephemeral(first.args, create[0])
        parents = wait_until(lambda: [c for c in self.posts() if "thread_ts" not in c.args
                                      and "form|" in json.dumps(c.args.get("blocks"))],
                             what="the thread's parent message")
        self.thread = self.ts_of(parents[-1])
        self.question()
        return self.thread

    def answer(self, index: int = 0) -> Call:
        """Click the index-th answer button of the current question; wait for what follows
        (the next question or the review, posted or updated in place)."""
        q = self.question()
        values = [b["value"] for b in buttons(blocks_of(q.args)) if b["value"].startswith("a|")]
        n = len(self.api.calls)
        self.click(q, values[index])
        wait_until(lambda: [c for c in self.api.calls[n:]
                            if c.method in ("chat.postMessage", "chat.update")
                            and c.args.get("ts") != self.ts_of(q)], what="the next prompt")
        settle(self.api)
        return self.messages(self.thread)[-1]

    def session(self) -> GradingSession:
        """The grading session of this rep's thread (stored just after the parent post)."""
        def find() -> GradingSession | None:
            with self.sv.session() as s:
                return s.exec(select(GradingSession)
                              .where(GradingSession.thread_ts == self.thread)).first()

        return wait_until(find, 5, f"the session of thread {self.thread}")

    def answers(self, session_id: int | None = None) -> list[Answer]:
        sid = session_id or self.session().id
        with self.sv.session() as s:
            return list(s.exec(select(Answer).where(Answer.session_id == sid)
                               .order_by(Answer.id)).all())

    def grades(self, name: str) -> list[Grade]:
        with self.sv.session() as s:
            c = s.exec(select(Customer).where(Customer.name == name)).first()
            if c is None:
                return []
            return list(s.exec(select(Grade).where(Grade.customer_id == c.id)).all())


# ---------------------------------------------------------------------- modals
def view_state(view: dict[str, Any], answers: dict[str, str]) -> dict[str, Any]:
    """The ``state.values`` Slack would send for a modal filled in with ``answers``
    ({block_id: option value or typed text}); blocks not in ``answers`` are left empty."""
    values: dict[str, Any] = {}
    for b in view.get("blocks") or []:
        if b.get("type") != "input":
            continue
        el = b["element"]
        given = answers.get(b["block_id"])
        state: dict[str, Any] = {"type": el["type"]}
        if el["type"] in ("static_select", "radio_buttons"):
            opt = next((o for o in el["options"] if o["value"] == given), None)
            assert given is None or opt is not None, f"{given!r} is not an option of " \
                                                     f"{b['block_id']}"
            state["selected_option"] = opt
        else:
            state["value"] = given
        values[b["block_id"]] = {el["action_id"]: state}
    return values


def view_submission(view_call: Call, answers: dict[str, str], user: str = USER,
                    view_id: str | None = None) -> dict[str, Any]:
    """A view_submission payload for the modal opened by ``view_call``."""
    view = view_call.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    vid = view_id or (view_call.result or {}).get("view", {}).get("id", "V1")
    return {"type": "view_submission", "team": {"id": "T1", "domain": "test"},
            "user": {"id": user, "name": user.lower(), "team_id": "T1"}, "api_app_id": "A1",
            "trigger_id": f"trig.view.{vid}",
            "view": {**view, "id": vid, "team_id": "T1", "app_id": "A1",
                     "state": {"values": view_state(view, answers)}, "hash": "h1"},
            "response_urls": []}


# ---------------------------------------------------------------------- seeding
STRONG = {"pays_now": "5", "service_level": "right", "outcomes_value": "5", "renewal": "5",
          "payment_risk": "low"}
MIDDLING = {"pays_now": "3", "service_level": "over", "outcomes_value": "3", "renewal": "3",
            "payment_risk": "some"}
WEAK = {"pays_now": "1", "service_level": "heavy_over", "outcomes_value": "1", "renewal": "1",
        "payment_risk": "high"}


def seed_grade(sv: Services, user: str, name: str, answers: dict[str, str],
               cadence: str = "quarterly") -> None:
    """Grade ``name`` as Slack user ``user`` straight through the engine (for look-ups)."""
    from bot.engine import Choose, Kind, Start
    from scoring import Cadence

    actor, _ = sv.actor("slack", "T1", user)
    reply = sv.conversation.handle(actor, Start(name, Cadence(cadence)))
    if reply[0].kind is Kind.CHOOSE_CUSTOMER:
        create = next(o.value for o in reply[0].choices if o.value.startswith("create|"))
        reply = sv.conversation.handle(actor, Choose(create))
    sid = next(p.session_id for p in reply if p.session_id is not None)
    out = sv.conversation.submit_form(actor, sid, answers)
    assert isinstance(out, list), out
    assert out[0].kind is Kind.SAVED, out
