"""Reminder sweep costs: ``python -m tests.bench.bench_reminders [reps] [customers] [db-url]``.

Seeds ``reps`` reps with ``customers`` customers each (all due), then times: the plan at the
reminder moment, the first sweep (claims + sends through a recording notifier, no network),
an idle sweep (everything already sent: what every 5-minute sweep costs), and a dry run.
Default: SQLite in a temporary directory; pass a PostgreSQL URL to measure that instead.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import timedelta

from bot.reminders.plan import plan
from bot.reminders.sweep import Sweeper
from storage.engine import make_engine, session_scope, upgrade
from storage.models import Customer, Person
from storage.names import normalize_name
from tests.reminders.conftest import RecordingNotifier, World, utc

T = utc(2028, 1, 3, 12)


def seed(world: World, reps: int, customers: int) -> None:
    with session_scope(world.db) as s:
        people = [Person(workspace_id=world.ws_id, external_id=f"U{i:05d}",
                         display_name=f"Rep {i:05d}",
                         timezone=["Europe/Paris", "America/New_York", "Asia/Tokyo"][i % 3])
                  for i in range(reps)]
        s.add_all(people)
        s.flush()
        s.add_all([Customer(workspace_id=world.ws_id, name=f"C{p.id}-{j}",
                            normalized_name=normalize_name(f"C{p.id}-{j}"), owner_id=p.id)
                   for p in people for j in range(customers)])
        s.commit()


def timed(label: str, fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    print(f"{label:<44} {1000 * (time.perf_counter() - t0):9.1f} ms")
    return out


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    customers = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    url = sys.argv[3] if len(sys.argv) > 3 else \
        f"sqlite:///{tempfile.mkdtemp()}/bench-reminders.db"
    upgrade(url)
    engine = make_engine(url)
    world = World(engine, team=f"TB{time.time_ns() % 10**8}")
    seed(world, reps, customers)
    print(f"{reps} reps x {customers} customers on {engine.dialect.name}")

    def dry() -> int:
        with session_scope(engine) as s:
            return len(plan(s, T))

    n = timed("plan (dry run) at the reminder moment", dry)
    rec = RecordingNotifier()
    sweeper = Sweeper(engine, [rec], concurrency=8)
    r1 = timed("first sweep (claim + send + mark sent)", lambda: asyncio.run(sweeper.sweep(T)))
    r2 = timed("idle sweep 5 min later (all sent)",
               lambda: asyncio.run(sweeper.sweep(T + timedelta(minutes=5))))
    timed("idle sweep, nothing live (quiet weeks)",
          lambda: asyncio.run(sweeper.sweep(utc(2028, 1, 1, 12))))
    r3 = timed("follow-up sweep after followup_days",
               lambda: asyncio.run(sweeper.sweep(T + timedelta(days=3, minutes=1))))
    print(f"planned {n}; sent {r1.sent}; idle sent {r2.sent}; follow-ups {r3.followups}; "
          f"errors {len(r1.errors) + len(r2.errors) + len(r3.errors)}")
    engine.dispose()


if __name__ == "__main__":
    main()
