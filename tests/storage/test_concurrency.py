"""Races between real OS processes (multiprocessing, 'spawn'), on every backend: each reminder
is claimed by exactly one process, concurrent writers to one grading session lose no
answer, and two starts of a strategic review at once make one review. The tasks are in
workers.py; two pool processes, started once for this module, run them side by side,
synchronised by a barrier so that they really collide."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from storage import sessions as sessions_db
from storage.models import (
    GradingSession,
    Person,
    ProcessedEvent,
    ReminderDelivery,
    SessionStatus,
    Workspace,
)
from tests.storage import workers
from tests.storage.helpers import customer

TIMEOUT = 120


@dataclass
class Pair:
    pool: ProcessPoolExecutor
    manager: Any

    def run(self, task: Callable[..., Any], args_for: Callable[[str], tuple[Any, ...]]
            ) -> dict[str, Any]:
        """Run ``task`` as "a" and as "b" at once, in the two processes; their results by
        name (a task's exception is re-raised here)."""
        barrier = self.manager.Barrier(2)
        futures = {name: self.pool.submit(task, *args_for(name), barrier) for name in "ab"}
        return {name: f.result(timeout=TIMEOUT) for name, f in futures.items()}


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager, ProcessPoolExecutor(2, mp_context=ctx) as pool:
        p = Pair(pool, manager)
        pids = p.run(workers.ready, lambda _name: ())
        assert len(set(pids.values())) == 2  # two processes, both up
        yield p


def test_each_reminder_is_claimed_by_exactly_one_process(
        pair: Pair, db_url: str, engine: Engine, session: Session, workspace: Workspace,
        rep: Person) -> None:
    periods = [f"{2020 + i // 4}-Q{i % 4 + 1}" for i in range(20)]
    by_name = pair.run(workers.race_claims,
                       lambda name: (db_url, name, workspace.id, rep.id, periods))
    results = [*by_name["a"], *by_name["b"]]
    for period in periods:
        mine = [r for r in results if r[1] == period]
        assert len(mine) == 2
        winners = [r[0] for r in mine if r[2]]
        assert len(winners) == 1, (period, mine)
        assert sum(1 for r in mine if r[3]) == 1, ("event recorded twice", period, mine)
        row = session.exec(select(ReminderDelivery).where(
            ReminderDelivery.period == period)).one()
        assert (row.claimed_by, row.attempts) == (winners[0], 1)
    assert len(session.exec(select(ReminderDelivery)).all()) == len(periods)
    assert len(session.exec(select(ProcessedEvent).where(
        col(ProcessedEvent.scope) == "slack:T0RACE")).all()) == len(periods)


def test_concurrent_writers_lose_no_answer(pair: Pair, db_url: str, engine: Engine,
                                           session: Session, workspace: Workspace,
                                           rep: Person) -> None:
    c = customer(session, workspace, "Contended Co", rep)
    gs = sessions_db.start_session(session, workspace_id=workspace.id,  # type: ignore[arg-type]
                                   person_id=rep.id, customer_id=c.id,  # type: ignore
                                   cadence="annual", worksheet_id="default",
                                   worksheet_version=1, platform="slack")
    rounds = 10
    conflicts = pair.run(workers.advance_session,
                         lambda name: (db_url, name, gs.id, rep.id, rounds))
    # both read the same version each round, so exactly one of them lost and retried
    assert conflicts["a"] + conflicts["b"] == rounds
    with Session(engine) as fresh:
        final = sessions_db.get_session(fresh, gs.id)  # type: ignore[arg-type]
        assert final.position == 2 * rounds  # every increment landed: no lost update
        assert final.version == 1 + 2 * rounds
        assert final.state == {"a": rounds - 1, "b": rounds - 1}
        current = sessions_db.current_answers(fresh, gs.id)  # type: ignore[arg-type]
        assert set(current) == {f"{w}_{r}" for w in "ab" for r in range(rounds)}
        assert all(a.value == int(q.split("_")[1]) for q, a in current.items())


def test_two_processes_starting_a_strategic_review_make_one(
        pair: Pair, db_url: str, engine: Engine, session: Session, workspace: Workspace,
        rep: Person) -> None:
    """Two replicas start the same rep's review at the same moment, round after round: each
    round exactly one review is created, and the other start is refused naming it."""
    rounds = 10
    by_name = pair.run(workers.race_strategic_reviews,
                       lambda name: (db_url, name, workspace.id, rep.id, rounds))
    results = [*by_name["a"], *by_name["b"]]
    for r in range(rounds):
        created = [x[1] for x in results if x[0] == r and x[1] is not None]
        refused_by = [x[2] for x in results if x[0] == r and x[2] is not None]
        assert len(created) == 1, (r, results)
        assert refused_by == created, (r, results)
    with Session(engine) as fresh:
        rows = fresh.exec(select(GradingSession).where(
            GradingSession.person_id == rep.id)).all()
        assert len(rows) == rounds
        assert {row.status for row in rows} == {SessionStatus.DISCARDED}
