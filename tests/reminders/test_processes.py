"""Replicas: several OS processes sweeping one PostgreSQL database at the same moment send
each reminder exactly once (counted on the fake Slack API that every process calls)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.reminders.sweep import Sweeper
from bot.slack.notify import SlackNotifier
from storage.engine import make_engine, session_scope
from storage.models import DeliveryStatus, ReminderDelivery
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.wait import wait_until
from tests.reminders.conftest import World, fast_client, parents, replies, utc

T = utc(2028, 1, 3, 9)
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres


def seed(url: str, reps: int) -> None:
    engine = make_engine(url)
    world = World(engine, digest_channel="CDIGEST")
    ids = []
    for i in range(reps):
        pid = world.person(f"Rep {i}", uid=f"U7{i:02d}",
                           tz=["Pacific/Auckland", "Europe/Paris", "UTC"][i % 3])
        world.customer(f"Cust {i}", pid, "C", utc(2027, 9, 1))
        world.customer(f"Other {i}", pid)
        ids.append(pid)
    drop = world.customer("Dropped", ids[0], "A", utc(2027, 10, 1))
    world.grade(drop, "D", T - timedelta(hours=1), ids[1])  # someone else lowers it: alert
    engine.dispose()


def reminders(api: FakeSlackAPI) -> list:
    return [c for c in parents(api) if "re-grading" in c.args["text"]]


def deliveries(url: str) -> list[ReminderDelivery]:
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            return list(s.exec(select(ReminderDelivery)).all())
    finally:
        engine.dispose()


def test_two_processes_send_each_reminder_once(migrated_postgres_url: str, api: FakeSlackAPI,
                                               tmp_path: Path) -> None:
    reps = 12
    seed(migrated_postgres_url, reps)
    procs = [subprocess.Popen(
        [sys.executable, "-m", "tests.reminders.sweep_proc", migrated_postgres_url, api.base_url,
         T.isoformat(), str(tmp_path), name, "2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in ("a", "b")]

    def ready() -> bool:
        dead = [p.communicate()[1][-2000:] for p in procs if p.poll() is not None]
        assert not dead, dead
        return all((tmp_path / f"ready-{n}").exists() for n in ("a", "b"))

    wait_until(ready, 60, "the sweep processes to get ready", interval=0.02)
    # both plan, then claim together; written aside and renamed, so a process that sees the
    # file never reads it half-written (an empty string, once)
    (tmp_path / "go.tmp").write_text(str(time.time() + 1.0))
    (tmp_path / "go.tmp").replace(tmp_path / "go")
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err[-3000:]
        reports += json.loads(out.strip().splitlines()[-1])
    # both processes planned all 12 and raced for every claim: the unique row decided
    assert sum(r["skipped"] for r in reports) == reps, reports
    assert sum(r["sent"] for r in reports) == reps, reports
    assert all(not r["errors"] for r in reports), reports
    dms = reminders(api)
    assert len(dms) == reps
    assert len({c.args["channel"] for c in dms}) == reps
    for c in dms:
        assert len(replies(api, c.result["ts"])) == 1
    assert len([c for c in parents(api) if c.args["channel"] == "CDIGEST"]) == 1
    assert len([c for c in parents(api) if "Heads-up" in c.args["text"]]) == 1
    rows = deliveries(migrated_postgres_url)
    assert len(rows) == reps
    assert {(d.status, d.attempts) for d in rows} == {(DeliveryStatus.SENT, 1)}
    # a third process later (a restart) sends nothing new
    engine = make_engine(migrated_postgres_url)
    try:
        later = Sweeper(engine, [SlackNotifier(fast_client(api.base_url), db=engine)])
        report = asyncio.run(later.sweep(T + timedelta(minutes=5)))
        assert (report.sent, report.digests, report.alerts) == (0, 0, 0), report
    finally:
        engine.dispose()
    assert len(reminders(api)) == reps


async def test_concurrent_sweepers_in_one_process(migrated_postgres_url: str,
                                                  api: FakeSlackAPI) -> None:
    seed(migrated_postgres_url, 8)
    engine = make_engine(migrated_postgres_url)
    try:
        sweepers = [Sweeper(engine, [SlackNotifier(fast_client(api.base_url), db=engine)],
                            claimer=f"replica-{i}") for i in range(3)]
        reports = await asyncio.gather(*(s.sweep(T) for s in sweepers))
    finally:
        engine.dispose()
    assert sum(r.sent for r in reports) == 8
    assert sum(r.alerts for r in reports) == 1
    assert sum(r.digests for r in reports) == 1
    assert len(reminders(api)) == 8
    assert {(d.status, d.attempts) for d in deliveries(migrated_postgres_url)} == {
        (DeliveryStatus.SENT, 1)}
