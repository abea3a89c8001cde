"""What must never work: unauthenticated requests, bad activities, markup in what users type."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from microsoft_teams.api.auth.cloud_environment import PUBLIC

from bot.config import ConfigError, load_settings
from bot.services import build_services
from bot.teams.app import TeamsBot, build_teams
from bot.teams.cards import md, plain
from tests.fakes.bot_connector import FakeBotConnector
from tests.teams.conftest import (
    BOT,
    USER,
    Env,
    actions,
    activity,
    response_card,
    shown,
    text_blocks,
)

APP_ID = "5d1a1c4e-aaaa-bbbb-cccc-0123456789ab"
EVIL = "<at>everyone</at> **x** [link](http://evil)"


# ---------------------------------------------------------------------- authentication
def test_refused_without_credentials_unless_dev_mode(make_env: Callable[..., Env],
                                                     caplog: pytest.LogCaptureFixture) -> None:
    env = make_env(GRADEBOT_TEAMS_DEV_NO_AUTH=False)
    with caplog.at_level(logging.WARNING, logger="gradebot.teams"):
        r = env.post(activity("message", env.connector.url, text="grade Acme"))
    assert r.status_code == 401
    assert any("no credentials are configured" in m and "GRADEBOT_TEAMS_DEV_NO_AUTH" in m
               for m in caplog.messages)
    assert env.connector.all() == []


def test_half_configured_credentials_are_one_clear_line(tmp_path: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("CLIENT_ID", "CLIENT_SECRET", "TENANT_ID"):
        monkeypatch.delenv(var, raising=False)
    settings = load_settings(DATABASE_URL=f"sqlite:///{tmp_path}/x.db", CLIENT_ID=APP_ID,
                             GRADEBOT_LLM_ENABLED=False)
    with pytest.raises(ConfigError, match="CLIENT_SECRET: not set"):
        build_teams(build_services(settings))


def _key() -> tuple[Any, dict[str, Any]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return key, {**jwk, "kid": "test-key", "use": "sig", "alg": "RS256"}


def _token(key: Any, service_url: str, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": "https://api.botframework.com", "aud": APP_ID, "serviceurl": service_url,
               "iat": now, "nbf": now, "exp": now + 600, **claims}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "test-key"})


def test_tokens_are_verified_when_credentials_are_set(make_env: Callable[..., Env],
                                                      connector: FakeBotConnector) -> None:
    key, jwk = _key()
    connector.jwks = {"keys": [jwk]}
    cloud = dataclasses.replace(PUBLIC, openid_metadata_url=connector.openid_metadata_url)
    env = make_env(teams=lambda sv: TeamsBot(sv, cloud=cloud), CLIENT_ID=APP_ID,
                   CLIENT_SECRET="not-a-real-secret", TENANT_ID="tenant-1",
                   GRADEBOT_TEAMS_DEV_NO_AUTH=True)  # ignored: credentials win
    # a conversation update that needs no reply: it proves the request got past the check
    body = activity("conversationUpdate", connector.url,
                    membersAdded=[{"id": "29:1someone-else"}])

    def post(token: str | None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return env.post(body, headers=headers).status_code

    assert post(None) == 401
    assert post("not-a-jwt") == 401
    other, _ = _key()
    assert post(_token(other, connector.url)) == 401           # signed by someone else
    assert post(_token(key, connector.url, aud="another-app")) == 401
    assert post(_token(key, "https://evil.example/")) == 401   # token for another service
    assert post(_token(key, connector.url, exp=int(time.time()) - 3600)) == 401
    assert post(_token(key, connector.url)) == 200
    connector.jwks = {"keys": []}


# ---------------------------------------------------------------------- bad activities
def test_bad_or_unknown_activities_are_answered_cleanly(env: Env) -> None:
    url = env.connector.url
    assert env.post(b"{not json").status_code == 400
    assert env.post(b"\xff\xfe").status_code == 400
    assert env.post([1, 2, 3]).status_code == 400
    assert env.post("null").status_code == 400
    assert env.post({"text": "no type at all"}).status_code == 400
    assert env.post(activity("somethingNew", url)).status_code == 200
    unheard = activity("invoke", url, value={})
    unheard["name"] = "composeExtension/unheardOf"
    assert env.post(unheard).status_code == 200
    for field in ("from", "conversation", "recipient", "id"):
        bad = activity("message", url, text="grade Acme")
        bad.pop(field)
        r = env.post(bad)
        assert r.status_code == 400, (field, r.text)
    bad = activity("message", url, text="grade Acme")
    bad["from"] = "not an object"
    assert env.post(bad).status_code == 400
    # well-formed but unusable: no tenant anywhere, no user id → ignored, nothing sent
    nobody = activity("message", url, text="grade Acme", tenant=None)
    assert env.post(nobody).status_code == 200
    anonymous = activity("message", url, text="grade Acme")
    anonymous["from"] = {"id": "29:" + "x" * 90}
    assert env.post(anonymous).status_code == 200
    assert env.connector.all() == []
    # typing, message reactions and conversation updates are fine and say nothing
    assert env.post(activity("typing", url)).status_code == 200
    assert env.connector.all() == []


def test_bad_card_actions_are_answered_cleanly(env: Env) -> None:
    rep = env.rep()
    resp = rep.invoke({"value": "a|pays_now|4"}, verb="somethingElse")
    assert resp["type"] == "application/vnd.microsoft.activity.message"
    resp = rep.invoke({"nothing": "here"})
    assert resp["type"] == "application/vnd.microsoft.activity.message"
    resp = rep.invoke({"value": "zzz|1|2", "session": "abc"})  # forged
    assert resp["statusCode"] == 200
    # nothing was recorded: the answer takes the tapped card's place, without "You chose"
    assert "no longer valid" in shown(response_card(resp))
    assert "You chose" not in shown(response_card(resp))
    resp = rep.invoke({"value": "a|pays_now|4", "session": 424242})  # someone else's / gone
    assert "no grading in progress" in shown(response_card(resp))
    resp = rep.invoke({"value": "form|424242"})
    assert "no longer yours" in resp["value"]
    resp = rep.invoke({"value": "submit|notanumber", "q_pays_now": "4"})
    assert resp["statusCode"] == 200
    resp = rep.invoke({"value": "remaway|1", "back_on": "tomorrow-ish"})
    assert resp["statusCode"] == 200
    body = activity("invoke", env.connector.url,
                    value={"action": {"type": "Action.Execute", "verb": "gradebot",
                                      "data": "a string, not an object"}})
    body["name"] = "adaptiveCard/action"
    assert env.post(body).status_code in (200, 400)
    # an overlong typed answer during a grading
    rep.ask("grade Acme quarterly")
    rep.click(rep.latest("create|"), next(a["data"]["value"] for a in
                                          actions(rep.latest("create|").card)
                                          if a["data"]["value"].startswith("create|")))
    assert "too long" in shown(rep.ask("x" * 5000))


def test_redelivered_activity_is_handled_once(env: Env) -> None:
    body = activity("message", env.connector.url, text="help")
    assert env.post(body).status_code == 200
    assert env.post(body).status_code == 200
    assert len(env.connector.all()) == 1


# ---------------------------------------------------------------------- escaping
def _no_markup(card: dict[str, Any]) -> None:
    for t in text_blocks(card):
        assert "<at" not in t.lower(), t
        assert "**x**" not in t, t
        assert "[link](" not in t, t
    for a in actions(card):
        assert "<at" not in a["title"].lower(), a["title"]


def test_injection_customer_name_renders_escaped(env: Env) -> None:
    rep = env.rep()
    card = rep.ask(f"grade {EVIL} quarterly")
    _no_markup(card)
    escaped = md(EVIL)
    assert any(escaped in t for t in text_blocks(card))
    assert r"\*\*x\*\* \[link\]\(http://evil\)" in escaped
    assert "‹at›everyone‹/at›" in escaped
    create = next(a for a in actions(card) if a["data"]["value"].startswith("create|"))
    assert create["title"] == plain(f"Create {EVIL}")
    resp = rep.click(rep.latest("create|"), create["data"]["value"])
    _no_markup(resp["value"])
    q = rep.latest("a|")
    _no_markup(q.card)
    assert f"Grading {EVIL}" in shown(q.card).replace("‹", "<").replace("›", ">")
    for text in ("4", "right", "5", "4", "low", "save"):
        _no_markup(rep.ask(text))
    for look in (f"customer {EVIL}", "grades", "portfolio"):
        card = rep.ask(look)
        _no_markup(card)
    assert "‹at›everyone‹/at›" in shown(rep.ask(f"customer {EVIL}"))
    for s in env.connector.all():
        for c in s.cards:
            _no_markup(c)


def test_markdown_escaping_rules() -> None:
    assert md("- a\n1. b\n  + c") == "\\- a\n1\\. b\n  \\+ c"
    assert md("_a_ ~b~ `c` # d > e | f ! g & h") == \
        "\\_a\\_ \\~b\\~ \\`c\\` \\# d \\> e \\| f \\! g \\& h"
    assert md("<AT id='1'>Bob</aT>") == "‹at›Bob‹/at›"
    assert md("back\\slash") == "back\\\\slash"
    assert plain("<at>x</at>") == "‹at›x‹/at›"
    assert BOT.startswith("28:")


def test_teams_requests_are_counted_timed_and_logged(env, caplog) -> None:
    """Operators see Teams beside Slack on /metrics and in the access log: each POST to
    /api/messages by its activity's kind and outcome, refusals included, no text logged."""
    import json
    import logging

    from bot.observability import JsonFormatter

    caplog.set_level(logging.INFO, logger="gradebot.access")
    env.rep().ask("grades")
    assert env.post(b"{not json").status_code == 400
    body = env.http.get("/metrics").text
    assert 'gradebot_requests_total{kind="message",outcome="ok",platform="teams"}' in body
    assert ('gradebot_requests_total{kind="unreadable",outcome="http_400",platform="teams"}'
            in body)
    assert 'gradebot_ack_seconds_count{kind="message",platform="teams"}' in body
    records = [json.loads(JsonFormatter().format(r)) for r in caplog.records
               if r.name == "gradebot.access"]
    [said] = [r for r in records if r["kind"] == "message"]
    assert (said["platform"], said["outcome"], said["user"]) == ("teams", "ok", USER)
    assert said["latency_ms"] >= 0
    assert "grades" not in json.dumps(records)  # what the rep typed is not logged
