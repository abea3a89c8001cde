"""/metrics and the access log: what operators see, and what they must never see."""

from __future__ import annotations

import json
import logging

from bot.observability import JsonFormatter
from tests.slack.conftest import blocks_of, buttons


def test_metrics_and_access_log_count_a_grading_without_logging_its_text(slack_env, caplog):
    _, slack, api = slack_env
    caplog.set_level(logging.INFO, logger="gradebot.access")
    secret_name = "Zyzzyva Confidential Ltd"
    assert slack.command("/grade", f"{secret_name} quarterly").status_code == 200
    resp = api.wait_for("response_url")[-1]
    create = next(b for b in buttons(blocks_of(resp.args)) if b["value"].startswith("create|"))
    assert slack.click(create["value"], ephemeral=True).status_code == 200
    api.wait_for("chat.postMessage", 2)

    metrics = slack.http.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    body = metrics.text
    assert 'gradebot_requests_total{kind="command:/grade",outcome="ok",platform="slack"}' in body
    assert 'gradebot_gradings_total{event="started"}' in body
    assert "gradebot_ack_seconds_bucket" in body

    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "gradebot.access"]
    assert lines, "every request is logged"
    records = [json.loads(line) for line in lines]
    kinds = {r["kind"] for r in records}
    assert {"command:/grade", "action:choice"} <= kinds
    for r in records:
        assert r["platform"] == "slack"
        assert r["workspace"] == "T1"
        assert r["user"] == "U1"
        assert r["outcome"] == "ok"
        assert r["latency_ms"] >= 0
    assert all(secret_name not in line and "xoxb" not in line for line in lines)


def test_readyz_reports_the_database(slack_env):
    _, slack, _ = slack_env
    ok = slack.http.get("/readyz")
    assert ok.status_code == 200
    assert ok.json() == {"ok": True, "database": "ok"}
    assert slack.http.get("/healthz").json() == {"ok": True}


def test_readyz_fails_when_the_database_does_not_answer(slack_env):
    """A replica whose database is unreachable must leave the load balancer's rotation."""
    from dataclasses import replace

    from starlette.testclient import TestClient

    from bot.http import create_asgi
    from storage.engine import make_engine

    sv, _, _ = slack_env
    dead = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1")
    try:
        with TestClient(create_asgi(replace(sv, db=dead))) as client:
            down = client.get("/readyz")
            assert down.status_code == 503
            assert down.json()["ok"] is False
            assert client.get("/healthz").status_code == 200  # alive, just not ready
    finally:
        dead.dispose()


def _ack_sum(metrics: str, kind: str) -> tuple[float, float]:
    """(count, sum) of gradebot_ack_seconds for one kind, from /metrics' text."""
    count = total = 0.0
    for line in metrics.splitlines():
        if f'kind="{kind}"' not in line:
            continue
        if line.startswith("gradebot_ack_seconds_count"):
            count = float(line.rsplit(" ", 1)[1])
        elif line.startswith("gradebot_ack_seconds_sum"):
            total = float(line.rsplit(" ", 1)[1])
    return count, total


def test_the_ack_latency_is_the_time_until_the_ack_is_sent(make_env, caplog):
    """A listener that takes 400 ms before it acks shows 400 ms in its access line and in
    gradebot_ack_seconds (timing Bolt's middleware said 0 ms for every request)."""
    import asyncio

    env = make_env()
    caplog.set_level(logging.INFO, logger="gradebot.access")
    app = env.server.config.app.state.slack  # the running Bolt app

    @app.command("/slowcheck")
    async def slow(ack):  # a listener slowed on purpose, before its ack
        await asyncio.sleep(0.4)
        await ack(text="done")

    before = _ack_sum(env.sender.http.get("/metrics").text, "command:/slowcheck")
    r = env.sender.command("/slowcheck", "")
    assert r.status_code == 200
    assert r.text == "done"
    lines = [json.loads(JsonFormatter().format(rec)) for rec in caplog.records
             if rec.name == "gradebot.access"]
    line = next(x for x in lines if x["kind"] == "command:/slowcheck")
    assert 400 <= line["latency_ms"] < 3000, line
    count, total = _ack_sum(env.sender.http.get("/metrics").text, "command:/slowcheck")
    assert count == before[0] + 1
    assert total - before[1] >= 0.4
    # and a quick command is quick: the figure is the listener's, not a constant
    env.sender.command("/grades", "help")
    quick = [json.loads(JsonFormatter().format(rec)) for rec in caplog.records
             if rec.name == "gradebot.access"][-1]
    assert quick["kind"] == "command:/grades"
    assert quick["latency_ms"] < 400


def test_requests_bolt_refuses_are_logged_too(slack_env, caplog):
    """An unsigned request never reaches Bolt's middleware; it still gets its line."""
    _, slack, _ = slack_env
    caplog.set_level(logging.INFO, logger="gradebot.access")
    assert slack.command("/grades", "", signed=False).status_code == 401
    line = json.loads(JsonFormatter().format(
        [r for r in caplog.records if r.name == "gradebot.access"][-1]))
    assert line["kind"] == "unverified"
    assert line["outcome"] == "http_401"

