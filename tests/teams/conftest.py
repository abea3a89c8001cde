"""The real ASGI app on 127.0.0.1 with the Teams bot mounted at /api/messages, its replies
going to a fake Bot Connector (the activities' ``serviceUrl``).

Tests post activity JSON the way Teams (or the Agents Playground) does and read what the bot
sent to the connector; card clicks are ``adaptiveCard/action`` invokes carrying the clicked
``Action.Execute``'s data, answered in the HTTP response.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import load_settings
from bot.http import create_asgi
from bot.services import Services, build_services
from tests.conftest import copy_migrated
from tests.fakes.bot_connector import FakeBotConnector, Sent
from tests.fakes.slack_http import ServerThread, loopback_client
from tests.sheets import pulse_sheet_path

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
USER = "9f3a2b1c-0d4e-4f5a-8b6c-7d8e9f0a1b2c"
BOT = "28:5d1a1c4e-aaaa-bbbb-cccc-0123456789ab"
_ids = itertools.count(1)
TEAMS_ENV = ("CLIENT_ID", "CLIENT_SECRET", "TENANT_ID", "GRADEBOT_TEAMS_DEV_NO_AUTH",
             "DANGEROUSLY_ALLOW_UNAUTHENTICATED_REQUESTS", "SLACK_BOT_TOKEN",
             "OPENAI_API_KEY", "OPENAI_BASE_URL", "GRADEBOT_LLM_MODEL", "GRADEBOT_WORKSHEET")


def conversation_id(user: str) -> str:
    """A personal chat id as long as the real ones (more than 64 characters)."""
    return f"a:1{user.replace('-', '')}Xw9qZr3LmN8pQ2sT5vY7bC4dF6gH1jK0"


def activity(kind: str, service_url: str, *, user: str = USER, tenant: str | None = TENANT,
             name: str = "Rita Rep", **fields: Any) -> dict[str, Any]:
    """An activity as Teams sends it from a personal chat."""
    now = datetime.now(UTC).isoformat()
    body: dict[str, Any] = {
        "type": kind, "id": f"1:act{next(_ids)}", "timestamp": now, "localTimestamp": now,
        "channelId": "msteams", "serviceUrl": service_url,
        "from": {"id": f"29:1{user}", "name": name, "aadObjectId": user},
        "conversation": {"conversationType": "personal", "tenantId": tenant,
                         "id": conversation_id(user)},
        "recipient": {"id": BOT, "name": "gradebot"},
        "locale": "en-US", "channelData": {"tenant": {"id": tenant}},
    }
    if tenant is None:
        body["conversation"].pop("tenantId")
        body["channelData"] = {}
    body.update(fields)
    return body


@dataclass
class Env:
    sv: Services
    server: ServerThread
    connector: FakeBotConnector
    http: httpx.Client

    def post(self, body: Any, **kw: Any) -> httpx.Response:
        content = body if isinstance(body, (bytes, str)) else json.dumps(body)
        headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
        return self.http.post("/api/messages", content=content, headers=headers, **kw)

    def rep(self, user: str = USER, name: str = "Rita Rep") -> Rep:
        return Rep(self, user, name)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The Teams SDK warns about a deprecated client it builds itself on every request: not
    ours to fix, so not shown on every Teams test."""
    for item in items:
        if "tests/teams/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.filterwarnings(
                "ignore::DeprecationWarning:microsoft_teams.*"))


@pytest.fixture
def make_env(tmp_path: Any, connector: FakeBotConnector, monkeypatch: pytest.MonkeyPatch,
             migrated_sqlite: Path) -> Iterator[Callable[..., Env]]:
    """Start the app with settings (dev mode, no credentials, unless told otherwise)."""
    for var in TEAMS_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    connector.reset()
    started: list[Env] = []

    def make(teams: Any = None, **overrides: Any) -> Env:
        db = Path(tmp_path) / f"teams{len(started)}.db"
        copy_migrated(migrated_sqlite, db)
        settings = load_settings(**{
            "DATABASE_URL": f"sqlite:///{db}",
            "GRADEBOT_LLM_ENABLED": False, "GRADEBOT_TEAMS_DEV_NO_AUTH": True,
            "GRADEBOT_WORKSHEET": str(pulse_sheet_path()), **overrides})
        sv = build_services(settings, migrate=False)
        bot = teams(sv) if callable(teams) else None
        server = ServerThread(create_asgi(sv, None, teams=bot)).start()
        env = Env(sv, server, connector, loopback_client(server.url, timeout=20))
        started.append(env)
        return env

    yield make
    for env in started:
        env.http.close()
        env.server.stop()
        env.sv.db.dispose()


@pytest.fixture
def env(make_env: Callable[..., Env]) -> Env:
    return make_env()


# ---------------------------------------------------------------------- reading cards
def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in walk(card) if n.get("type") == "Action.Execute"]


def text_blocks(card: dict[str, Any]) -> list[str]:
    return [n["text"] for n in walk(card) if n.get("type") == "TextBlock"]


def shown(card: dict[str, Any]) -> str:
    """Everything a card shows as text (markdown escapes removed), for assertions."""
    out = text_blocks(card)
    out += [f"{n.get('title', '')}: {n.get('value', '')}" for n in walk(card)
            if "title" in n and "value" in n and n.get("type") is None]
    return "\n".join(out).replace("\\", "")


def values(card: dict[str, Any], prefix: str = "") -> list[str]:
    return [a["data"]["value"] for a in actions(card) if a["data"]["value"].startswith(prefix)]


# ---------------------------------------------------------------------- a rep, driving it
class Rep:
    """A rep chatting with the bot in Teams, reading what it sent to the connector."""

    def __init__(self, env: Env, user: str, name: str) -> None:
        self.env, self.user, self.name = env, user, name
        self.conversation = conversation_id(user)
        self.last_invoke: dict[str, Any] | None = None

    def sent(self) -> list[Sent]:
        return [s for s in self.env.connector.all() if s.conversation == self.conversation]

    def say(self, text: str, expect: int = 200) -> httpx.Response:
        body = activity("message", self.env.connector.url, user=self.user, name=self.name,
                        text=text, textFormat="plain")
        r = self.env.post(body)
        assert r.status_code == expect, r.text
        return r

    def ask(self, text: str) -> dict[str, Any]:
        """Say ``text``; the card the bot answered with."""
        n = len(self.sent())
        self.say(text)
        got = self.sent()[n:]
        assert got, f"no answer to {text!r}"
        return got[-1].card

    def latest(self, prefix: str = "") -> Sent:
        """The latest card sent here that has a button whose value starts with ``prefix``."""
        for s in reversed(self.sent()):
            if s.cards and any(v.startswith(prefix) for v in values(s.card)):
                return s
        raise AssertionError(f"no card with a {prefix!r} button")

    def click(self, sent: Sent, value: str, inputs: dict[str, Any] | None = None,
              card: dict[str, Any] | None = None) -> dict[str, Any]:
        """Click the Action.Execute with ``value`` on a card (``card`` when it was an invoke
        answer, not a posted message); returns the invoke response body."""
        source = card if card is not None else sent.card
        act = next((a for a in actions(source) if a["data"]["value"] == value), None)
        assert act is not None, f"no button {value!r} in {values(source)}"
        return self.invoke({**act["data"], **(inputs or {})}, sent.activity_id, act["verb"])

    def invoke(self, data: dict[str, Any], reply_to: str = "1", verb: str = "gradebot"
               ) -> dict[str, Any]:
        """An Action.Execute invoke with any data (a click, or a forged one)."""
        body = activity("invoke", self.env.connector.url, user=self.user, name=self.name)
        body.update({"name": "adaptiveCard/action", "replyToId": reply_to,
                     "value": {"action": {"type": "Action.Execute", "verb": verb,
                                          "data": data}, "trigger": "manual"}})
        r = self.env.post(body)
        assert r.status_code == 200, r.text
        self.last_invoke = r.json()
        return self.last_invoke


def response_card(resp: dict[str, Any]) -> dict[str, Any]:
    """The card of an invoke response (Universal Actions: it replaces the clicked card)."""
    assert resp["statusCode"] == 200, resp
    assert resp["type"] == "application/vnd.microsoft.card.adaptive", resp
    assert resp["value"]["type"] == "AdaptiveCard"
    return resp["value"]
