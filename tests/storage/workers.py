"""Code run in separate OS processes (multiprocessing, 'spawn') by test_concurrency.py.

Each task opens its own engine (its own connections), waits on a shared barrier (a
multiprocessing manager's proxy) so both processes hit the database at the same moment, and
returns what happened. A failing task breaks the barrier, so its partner fails fast too
instead of hanging the test.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import text

from storage.deliveries import claim_delivery
from storage.engine import make_engine, session_scope
from storage.errors import Conflict
from storage.events import record_event
from storage.models import SessionStatus
from storage.sessions import (
    ActiveSessionExists,
    get_session,
    record_answers,
    start_session,
    update_session,
)

BARRIER_TIMEOUT = 60


def ready(barrier: Any) -> int:
    """Warm-up task: returns once both pool processes run (and have imported storage)."""
    barrier.wait(BARRIER_TIMEOUT)
    return os.getpid()


def race_claims(url: str, name: str, workspace_id: int, person_id: int, periods: list[str],
                barrier: Any) -> list[tuple[str, str, bool, bool]]:
    """For each period: claim the reminder delivery and record the Slack event of it, both at
    the same moment as the other process. Returns (name, period, claimed, event_new)."""
    engine = make_engine(url)
    out = []
    try:
        with engine.connect() as conn:  # connect before the race, not during it
            conn.execute(text("SELECT 1"))
        for period in periods:
            barrier.wait(BARRIER_TIMEOUT)
            with session_scope(engine) as s:
                got = claim_delivery(s, workspace_id=workspace_id, person_id=person_id,
                                     cadence="quarterly", period=period, claimer=name)
            barrier.wait(BARRIER_TIMEOUT)
            with session_scope(engine) as s:
                new = record_event(s, "slack:T0RACE", f"Ev-{period}", "reminder")
            out.append((name, period, got is not None, new))
    except BaseException:
        barrier.abort()
        raise
    finally:
        engine.dispose()
    return out


def advance_session(url: str, name: str, session_id: int, person_id: int, rounds: int,
                    barrier: Any) -> int:
    """Each round: read the grading session, wait until the other process has read it too,
    then record one answer of our own (question ``<name>_<round>``), moving the position and
    merging into ``state``; on Conflict re-read and re-apply. Returns how many conflicts."""
    engine = make_engine(url)
    conflicts = 0
    try:
        for r in range(rounds):
            with session_scope(engine) as s:
                gs = get_session(s, session_id)
                barrier.wait(BARRIER_TIMEOUT)  # both hold the same version now
                while True:
                    try:
                        record_answers(s, gs, [{"question_id": f"{name}_{r}", "value": r,
                                                "raw_text": f"{name} says {r}",
                                                "source": "text"}],
                                       person_id=person_id, input_key=f"{name}-{r}",
                                       position=gs.position + 1,
                                       state={**gs.state, name: r})
                        break
                    except Conflict:
                        conflicts += 1
                        gs = get_session(s, session_id)
            barrier.wait(BARRIER_TIMEOUT)  # both wrote: the next round starts level
    except BaseException:
        barrier.abort()
        raise
    finally:
        engine.dispose()
    return conflicts


def race_strategic_reviews(url: str, name: str, workspace_id: int, person_id: int, rounds: int,
                           barrier: Any) -> list[tuple[int, int | None, int | None]]:
    """Each round: start a strategic review for the rep at the same moment as the other
    process; whoever got one discards it once both have tried, so the next round starts
    level. Returns (round, id created, id of the review that refused us) per round."""
    engine = make_engine(url)
    out: list[tuple[int, int | None, int | None]] = []
    try:
        with engine.connect() as conn:  # connect before the race, not during it
            conn.execute(text("SELECT 1"))
        for r in range(rounds):
            barrier.wait(BARRIER_TIMEOUT)
            with session_scope(engine) as s:
                try:
                    won = start_session(s, workspace_id=workspace_id, person_id=person_id,
                                        customer_id=None, kind="strategic",
                                        cadence="strategic", worksheet_id="default",
                                        worksheet_version=1, platform="slack",
                                        state={"by": name})
                    out.append((r, won.id, None))
                except ActiveSessionExists as exc:
                    won = None
                    out.append((r, None, exc.existing.id))
                barrier.wait(BARRIER_TIMEOUT)  # both tried
                if won is not None:
                    update_session(s, won, status=SessionStatus.DISCARDED)
    except BaseException:
        barrier.abort()
        raise
    finally:
        engine.dispose()
    return out
