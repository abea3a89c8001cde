"""The real ASGI app on 127.0.0.1, its WebClient pointed at a fake Slack Web API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.config import load_settings
from bot.http import create_asgi
from bot.services import Services, build_services
from bot.slack.app import build_slack_app
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.slack_http import SECRET, SlackSender, ServerThread


@pytest.fixture(scope="session")
def fake_slack() -> Iterator[FakeSlackAPI]:
    api = FakeSlackAPI().start()
    yield api
    api.stop()


@pytest.fixture
def slack_env(tmp_path: Any, fake_slack: FakeSlackAPI, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[tuple[Services, SlackSender, FakeSlackAPI]]:
    for var in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_APP_TOKEN", "OPENAI_API_KEY",
                "OPENAI_BASE_URL", "GRADEBOT_LLM_MODEL"):
        monkeypatch.delenv(var, raising=False)
    fake_slack.reset()
    settings = load_settings(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET,
                             SLACK_API_URL=fake_slack.base_url,
                             DATABASE_URL=f"sqlite:///{tmp_path}/slack.db",
                             GRADEBOT_ADMINS="UADMIN")
    sv = build_services(settings)
    app = build_slack_app(sv)
    server = ServerThread(create_asgi(sv, app)).start()
    sender = SlackSender(server.url, fake_slack.response_url())
    yield sv, sender, fake_slack
    sender.close()
    server.stop()
    sv.db.dispose()


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every button in a message's blocks (actions blocks and section accessories)."""
    out: list[dict[str, Any]] = []
    for b in blocks or []:
        if isinstance(b, str):
            b = json.loads(b)
        if b.get("type") == "actions":
            out += [e for e in b["elements"] if e.get("type") == "button"]
        acc = b.get("accessory")
        if acc and acc.get("type") == "button":
            out.append(acc)
    return out


def blocks_of(call_args: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = call_args.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def texts(blocks: list[dict[str, Any]]) -> str:
    """All visible text of some blocks, for assertions."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("plain_text", "mrkdwn") and "text" in node:
                out.append(node["text"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(blocks)
    return "\n".join(out)
