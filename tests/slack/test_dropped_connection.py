"""A PostgreSQL connection cut while the Slack delivery stores a thread's message refs —
after the engine recorded the answer and the next question was posted. The rep must not be
told "that did not go through" about an answer that was saved: a rep who then types it
again records it twice (the flaky load scenario 5c). Real PostgreSQL, the backend
terminated by the server; the Slack side is the app behind signed requests and the fake
Web API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event

from storage.engine import upgrade
from tests.conftest import POSTGRES_ENV, postgres_server_url, temporary_postgres_database
from tests.engine.test_dropped_connection import Terminator
from tests.slack.conftest import Env, Rep, blocks_of, buttons, settle, shown, wait_until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(postgres_server_url() is None, reason=f"set {POSTGRES_ENV}"),
]

APOLOGY = "Sorry — something went wrong on my side"
REF_WRITE = "UPDATE grading_session SET refs"  # the delivery's write; the engine's never sets refs


@pytest.fixture
def pg_rep(make_env: Callable[..., Env]) -> Iterator[Rep]:
    with temporary_postgres_database(postgres_server_url() or "") as url:  # type: ignore[arg-type]
        upgrade(url)
        env = make_env(DATABASE_URL=url)
        yield Rep(env.sv, env.sender, env.api)
        # the app's work after its acks must end before its database is dropped
        settle(env.api, timeout=10)
        env.server.stop()
        env.sv.db.dispose()


def _apologies(rep: Rep) -> list[Any]:
    return [c for c in [*rep.posts(), *rep.responses()] if APOLOGY in str(c.args.get("text"))]


def _cut_ref_writes(rep: Rep, times: int) -> Terminator:
    return Terminator(rep.sv.db, times=times, starts=REF_WRITE)


def test_a_cut_while_storing_refs_is_retried_and_the_rep_sees_no_apology(pg_rep: Rep) -> None:
    rep = pg_rep
    rep.start("Acme")
    cut = _cut_ref_writes(rep, times=1)
    n = len(rep.posts(rep.thread))
    rep.say("4")  # typed, like the load test's rep
    wait_until(lambda: [c for c in rep.posts(rep.thread)[n:] if "Question 2 of 5" in shown(c)],
               what="the second question")
    wait_until(lambda: cut.killed, what="the cut")  # the connection really was cut
    wait_until(lambda: "q:service_level" in rep.session().refs, what="the stored ref")
    event.remove(rep.sv.db, "before_cursor_execute", cut)
    cut.admin.dispose()
    assert _apologies(rep) == []
    assert [(a.question_id, a.value) for a in rep.answers()] == [("pays_now", 4)]
    # the ref was kept: the next answer marks question 2 answered in place
    q2 = rep.question()
    rep.click(q2, next(b["value"] for b in buttons(blocks_of(q2.args))
                       if b["value"].startswith("a|service_level|")))
    wait_until(lambda: [c for c in rep.api.of("chat.update")
                        if c.args.get("ts") == rep.ts_of(q2)], what="question 2 updated")
    assert [a.question_id for a in rep.answers()] == ["pays_now", "service_level"]
    assert _apologies(rep) == []


def test_a_second_cut_is_still_reported(pg_rep: Rep) -> None:
    """Tried once more, not forever: a database that keeps failing is told, and the answer
    recorded before it is kept."""
    rep = pg_rep
    rep.start("Acme")
    cut = _cut_ref_writes(rep, times=2)
    rep.say("4")
    wait_until(lambda: _apologies(rep), 15, "the apology")
    event.remove(rep.sv.db, "before_cursor_execute", cut)
    cut.admin.dispose()
    assert len(cut.killed) == 2
    assert [(a.question_id, a.value) for a in rep.answers()] == [("pays_now", 4)]
