"""Stopping a replica (SIGTERM, as a deploy or ``systemctl stop`` does) while a rep's answer
is being worked on after its ack: the process finishes that reply, then exits cleanly. A real
``gradebot serve`` process, the fake Slack Web API and a slow fake OpenAI-compatible model."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

from sqlmodel import Session, select

from storage.models import Answer
from tests.fakes.wait import wait_until
from tests.llm.fake_openai import FakeOpenAI, answer, answers, slow
from tests.load.harness import Cluster, Plan

LLM_SECONDS = 2.5  # the model's answer takes this long: the SIGTERM lands in the middle


def test_sigterm_lets_the_reply_in_flight_finish(tmp_path: Path) -> None:
    fake = FakeOpenAI().start()
    fake.reset()
    fake.script(slow(LLM_SECONDS, answers(service_level=answer("over", 0.9))))
    cluster = Cluster(f"sqlite:///{tmp_path / 'stop.db'}", 1, tmp_path,
                      GRADEBOT_LLM_MODEL="fake-model", OPENAI_BASE_URL=fake.url,
                      OPENAI_API_KEY="sk-test", GRADEBOT_LLM_TIMEOUT="10",
                      GRADEBOT_LLM_TRUST="record")  # a trusted model: its reading is recorded
    try:
        plan = Plan.random(random.Random(3), "click")
        rep = cluster.driver("USTOP", "Stop Co", plan)
        rep.open()
        rep.step()  # question 1 answered by a click
        wait_until(lambda: any("Question 2" in str(c.args) for c in rep.thread_posts()), 15,
                   "question 2", interval=0.05)
        before = len(rep.thread_posts())
        rep.type("we do a lot more for them than they pay for, honestly")
        # acked; the reply is pending
        wait_until(lambda: fake.requests, 15, "the model call", interval=0.05)
        replica = cluster.replicas[0]
        assert replica.proc is not None
        t0 = time.monotonic()
        replica.proc.send_signal(signal.SIGTERM)
        code = replica.proc.wait(30)
        stopped_after = time.monotonic() - t0
        assert code == 0, replica.log_tail()
        new = rep.thread_posts()[before:]
        assert new, f"the acked answer got no reply before the process stopped: " \
                    f"{replica.log_tail()}"
        assert "Question 3 of 5" in str(new[-1].args)  # the next question was asked
        with Session(cluster.db) as s:
            recorded = {a.question_id: a.value for a in s.exec(select(Answer))}
        assert recorded.get("service_level") == "over"  # the model's reading, recorded
        echoed = [c for c in cluster.api.of("chat.update") if "Somewhat over-serving"
                  in str(c.args)]
        assert echoed  # and shown on the question it answered
        assert stopped_after < 20  # it did not hang on to the end of the grace period
        assert "finishing 1 reply" in replica.log_tail()
    finally:
        cluster.close()
        fake.stop()
