"""When Slack is slow or failing: acks stay fast, retries happen, nothing is lost."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from tests.slack.conftest import (
    STRONG,
    Rep,
    blocks_of,
    buttons,
    seed_grade,
    settle,
    shown,
    wait_until,
)

APOLOGY = "Sorry — something went wrong on my side"


def _slack_recovers(rep: Rep) -> None:
    with rep.api.lock:
        rep.api.failures.clear()


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's retry handlers wait 0.5 s, 1 s, 2 s (+ up to 1 s of jitter each) between
    server-error retries; shrink the waits so these tests stay quick. The retries
    themselves, and Retry-After for 429s, are untouched."""
    from slack_sdk.http_retry.handler import default_interval_calculator as calc

    class NoJitter:
        def recalculate(self, duration: float) -> float:
            return duration

    monkeypatch.setattr(calc, "backoff_factor", 0.02)
    monkeypatch.setattr(calc, "jitter", NoJitter())


def _question_posts(rep: Rep, n: int) -> list[Any]:
    """Attempts to post "Question n of 5" (a failed attempt has no result)."""
    return [c for c in rep.api.of("chat.postMessage")
            if f"Question {n} of 5" in shown(c)]


@pytest.mark.parametrize(("status", "times", "retry_after"), [(429, 1, 1), (500, 2, 0)])
def test_slack_errors_are_retried_and_the_grading_goes_on(rep: Rep, status: int, times: int,
                                                          retry_after: float) -> None:
    rep.start("Acme")
    rep.api.fail("chat.postMessage", status, times=times, retry_after=retry_after)
    t0 = time.monotonic()
    q1 = rep.question()
    r = rep.click(q1, "a|pays_now|4")
    assert r.status_code == 200
    attempts = wait_until(lambda: [c for c in _question_posts(rep, 2) if c.result],
                          what="question 2, posted after the retries")
    assert len(attempts) == 1
    tries = _question_posts(rep, 2)
    assert len(tries) == times + 1
    assert [c.result is None for c in tries] == [True] * times + [False]
    if status == 429:  # Retry-After was honoured
        assert tries[1].at - tries[0].at >= retry_after * 0.9
    assert time.monotonic() - t0 < 10
    for _ in range(4):
        rep.answer(0)
    assert "c|save|" in [b["value"] for b in buttons(blocks_of(rep.posts(rep.thread)[-1].args))]
    settle(rep.api)
    assert len(_question_posts(rep, 2)) == times + 1  # posted once, no duplicates
    assert len(rep.answers()) == 5


def test_a_permanent_failure_is_logged_and_told_and_loses_no_answer(
        rep: Rep, caplog: pytest.LogCaptureFixture) -> None:
    rep.start("Acme")
    q1 = rep.question()
    rep.api.fail("chat.postMessage", 500, times=50)
    with caplog.at_level(logging.WARNING, "gradebot"):
        r = rep.click(q1, "a|pays_now|4")
        assert r.status_code == 200
        apology = wait_until(lambda: [c for c in rep.responses()
                                      if APOLOGY in str(c.args.get("text"))], 15,
                             "the apology")[0]
    assert [a.question_id for a in rep.answers()] == ["pays_now"]  # not lost
    # the apology does not replace the rep's question message (it is not ephemeral)
    assert apology.args.get("replace_original") is not True
    failed = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failed
    assert "_run_action failed" in failed[0].getMessage()
    assert failed[0].exc_info is not None

    # Slack recovers: the rep answers the next question in words, and it goes on
    _slack_recovers(rep)
    n = len(rep.posts(rep.thread))
    rep.say("about right")
    wait_until(lambda: len(rep.posts(rep.thread)) > n)
    assert [a.question_id for a in rep.answers()] == ["pays_now", "service_level"]
    assert wait_until(lambda: [c for c in rep.posts(rep.thread) if "Question 3 of 5" in shown(c)])


def test_a_failing_slash_command_is_answered_with_an_apology(
        rep: Rep, caplog: pytest.LogCaptureFixture) -> None:
    seed_grade(rep.sv, "U1", "Acme", STRONG)
    rep.api.fail("chat.postMessage", 500, times=50)
    with caplog.at_level(logging.ERROR, "gradebot"):
        r = rep.command("/grade", "Acme")
        assert r.status_code == 200
        apology = wait_until(lambda: [c for c in rep.responses()
                                      if APOLOGY in str(c.args.get("text"))], 15)[0]
    assert apology.args["response_type"] == "ephemeral"
    assert apology.args.get("replace_original") is True  # replaces the "Opening…" note
    assert [r for r in caplog.records if "_run_command failed" in r.getMessage()]
    # the grading exists and is offered again, in a thread, once Slack is back
    _slack_recovers(rep)
    rep.command("/grade", "Acme")
    offer = wait_until(lambda: [c for c in rep.posts() if "already grading Acme" in shown(c)])
    assert offer[0].args.get("thread_ts")


def test_acks_are_fast_when_slack_is_slow(rep: Rep) -> None:
    seed_grade(rep.sv, "U1", "Acme", STRONG)
    timings: list[tuple[str, float]] = []

    def timed(what: str, send: Any) -> Any:
        t0 = time.monotonic()
        r = send()
        timings.append((what, time.monotonic() - t0))
        assert r.status_code == 200, (what, r.text)
        return r

    # every Slack call takes 1.5 s; not even the very first request waits for auth.test
    rep.api.delay = 1.5
    timed("first /customer", lambda: rep.slack.command("/customer", "Acme"))
    rep.api.delay = 0
    rep.start("Acme")
    parent = next(c for c in rep.posts() if rep.ts_of(c) == rep.thread)
    q = rep.question()

    rep.api.delay = 1.5
    timed("/customer", lambda: rep.slack.command("/customer", "Acme"))
    timed("/grades", lambda: rep.slack.command("/grades", ""))
    timed("/portfolio", lambda: rep.slack.command("/portfolio", ""))
    timed("/grade", lambda: rep.slack.command("/grade", "Acme quarterly"))
    timed("/grade help", lambda: rep.slack.command("/grade", "help"))
    timed("answer click", lambda: rep.slack.click(
        "a|pays_now|4", action_id="choice:3", message_ts=rep.ts_of(q), thread_ts=rep.thread))
    timed("form click", lambda: rep.slack.click(
        f"form|{rep.session().id}", action_id="form:0", message_ts=rep.ts_of(parent)))
    timed("typed answer", lambda: rep.slack.dm("about right", thread_ts=rep.thread))
    timed("home", lambda: rep.slack.event({"type": "app_home_opened", "user": "U1",
                                           "tab": "home"}))
    # no ack waits for Slack at all (Bolt's own authorization made the first one wait)
    assert all(t < 1.0 for _, t in timings), timings
    assert rep.api.of("auth.test"), "auth.test still runs, in the background"
    assert rep.api.wait_for("views.open", timeout=10)
    rep.api.delay = 0
    settle(rep.api)


async def test_follow_up_work_waits_for_pending_acks_but_not_forever() -> None:
    import asyncio

    from bot.slack.app import AckFirst

    gate = AckFirst(max_wait=0.3)
    t0 = time.monotonic()
    await gate.wait()  # nothing in flight: no wait
    assert time.monotonic() - t0 < 0.05

    order: list[str] = []

    async def request(name: str, seconds: float) -> None:
        with gate.request():
            await asyncio.sleep(seconds)
            order.append(f"ack {name}")

    async def follow_up() -> None:
        await gate.wait()
        order.append("work")

    await asyncio.gather(request("a", 0.05), follow_up(), request("b", 0.1))
    assert order == ["ack a", "ack b", "work"]

    order.clear()
    t0 = time.monotonic()
    await asyncio.gather(request("slow", 1.0), follow_up())
    assert order == ["work", "ack slow"]  # bounded by max_wait
    assert 0.25 < time.monotonic() - t0 < 1.5
