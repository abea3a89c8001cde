"""Slack's Web API refusing connections (egress blocked, a proxy down): every request is still
acked at once with a 200, and the rep gets the answer once the API is back — or a clear line
through the response_url (Slack's other host) if it never is.

The app's WebClient is pointed at a port where nothing listens; "the API is back" is a
proxy starting on that very port, in front of the fake Web API.
"""

from __future__ import annotations

import time

import pytest

from bot.slack import app as slack_app
from tests.fakes.proxy import RoundRobinProxy
from tests.load.harness import free_port
from tests.slack.conftest import STRONG, Rep, seed_grade, settle, shown, wait_until


def _down_env(make_env, monkeypatch: pytest.MonkeyPatch, retries: int | None = None
              ) -> tuple[Rep, int]:
    if retries is not None:
        monkeypatch.setattr(slack_app, "CONNECTION_RETRIES", retries)
    port = free_port()  # nothing listens here (yet)
    env = make_env(SLACK_API_URL=f"http://127.0.0.1:{port}/api/")
    return Rep(env.sv, env.sender, env.api), port


def _timed(send) -> float:
    t0 = time.monotonic()
    r = send()
    took = time.monotonic() - t0
    assert r.status_code == 200, r.text
    return took


def test_commands_clicks_and_events_are_acked_while_the_web_api_refuses(make_env, monkeypatch):
    rep, _ = _down_env(make_env, monkeypatch, retries=0)
    seed_grade(rep.sv, "U1", "Acme", STRONG)
    took = [
        _timed(lambda: rep.slack.command("/customer", "Nobody")),  # the 500
        _timed(lambda: rep.slack.command("/customer", "Acme")),
        _timed(lambda: rep.slack.command("/grade", "Acme quarterly")),
        _timed(lambda: rep.slack.command("/grades", "")),
        _timed(lambda: rep.slack.click("c|review", message_ts="1.1", thread_ts="1.1")),
        _timed(lambda: rep.slack.dm("grade Acme")),
        _timed(lambda: rep.slack.event({"type": "app_home_opened", "user": "U1",
                                        "tab": "home"})),
    ]
    assert max(took) < 3.0, took
    # look-ups need no Web API: their answers come through the response_url anyway
    cards = wait_until(lambda: [c for c in rep.responses() if "Acme" in shown(c)
                                and "A" in shown(c)], what="the Acme card")
    assert cards
    assert wait_until(lambda: [c for c in rep.responses() if "Nobody" in shown(c)],
                      what="the did-you-mean answer")
    # /grade needs the DM: the rep is told plainly, where Slack still reaches them
    wait_until(lambda: [c for c in rep.responses()
                        if slack_app.SLACK_UNREACHABLE[:40] in shown(c)],
               what="the could-not-reach-Slack line")
    settle(rep.api)


def test_a_grading_started_while_the_api_is_down_arrives_when_it_is_back(make_env, monkeypatch):
    rep, port = _down_env(make_env, monkeypatch)  # the default retries (~15 s of back-off)
    took = _timed(lambda: rep.slack.command("/grade", "Zenith quarterly"))
    assert took < 3.0
    first = wait_until(lambda: rep.responses(), what="the /grade answer")[0]
    assert "Create" in shown(first)
    rep.click_ephemeral(first.args, next(
        b["value"] for b in first.args["blocks"][-1]["elements"]
        if b["value"].startswith("create|")))
    time.sleep(1.0)
    assert not rep.posts()  # nothing got through: the API is still down
    proxy = RoundRobinProxy([rep.api.base_url.removesuffix("/api/")]).start(port=port)
    try:
        parent = wait_until(lambda: [c for c in rep.posts() if "Zenith" in shown(c)],
                            timeout=20, what="the thread, once the API is back")
        assert "Grading Zenith" in shown(parent[0])
        rep.thread = rep.ts_of(parent[0])
        assert rep.question()  # and its first question
        settle(rep.api)
        assert not [c for c in rep.responses() if slack_app.SLACK_UNREACHABLE[:40] in shown(c)]
    finally:
        proxy.stop()
