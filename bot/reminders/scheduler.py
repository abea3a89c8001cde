"""The in-process trigger: APScheduler 3.11 ``AsyncIOScheduler`` running sweeps.

One in-memory job per process (job stores must never be shared between schedulers, see
STACK-NOTES): an interval sweep, first run at start-up (which also catches up on reminders
missed while the bot was down), ``coalesce`` so a backlog of missed runs is one run,
``max_instances=1`` so sweeps never overlap within a process. Several replicas may each run
one: the database claims decide who sends what.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.notify import Notifier
from bot.reminders.sweep import Sweeper, SweepReport

log = logging.getLogger("gradebot.reminders")

JOB_ID = "reminder-sweep"


class ReminderScheduler:
    def __init__(self, sweeper: Sweeper, minutes: float = 5) -> None:
        self.sweeper = sweeper
        self.interval = timedelta(minutes=minutes)
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.runs = 0
        self.last: SweepReport | None = None
        self._current: asyncio.Task[Any] | None = None
        self._ran = asyncio.Event()

    def start(self) -> ReminderScheduler:
        """Start in the running event loop; the first sweep runs at once."""
        grace = max(30, int(self.interval.total_seconds()))
        self.scheduler.add_job(self._tick, IntervalTrigger(seconds=self.interval.total_seconds(),
                                                           timezone=UTC),
                               id=JOB_ID, name="reminder sweep", coalesce=True,
                               max_instances=1, misfire_grace_time=grace,
                               next_run_time=datetime.now(UTC), replace_existing=True)
        self.scheduler.start()
        log.info("reminders: sweeping every %s", self.interval)
        return self

    async def _tick(self) -> None:
        self._current = asyncio.current_task()
        try:
            self.last = await self.sweeper.sweep()
        except Exception:  # a sweep logs its own failures; this is the last resort
            log.exception("reminder sweep crashed (next run retries)")
        finally:
            self.runs += 1
            self._current = None
            self._ran.set()

    async def wait_for_run(self, timeout: float = 10) -> None:
        """Wait until a sweep has finished (tests, start-up checks)."""
        await asyncio.wait_for(self._ran.wait(), timeout)

    async def shutdown(self, timeout: float = 30) -> None:
        """Stop scheduling; let a running sweep finish (its claims stay valid) or cancel it
        after ``timeout`` (an interrupted claim expires and is re-claimed later)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)  # AsyncIOScheduler: runs on the next loop turn
            await asyncio.sleep(0)
        task = self._current
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


def start_reminders(services: Any, notifiers: Iterable[Notifier]) -> ReminderScheduler:
    """The serve process's scheduler: one notifier per platform it serves (built by
    ``bot.notifiers``), the services' database, clock, worksheet rules and dimension names."""
    sweeper = Sweeper(services.db, notifiers, clock=services.clock,
                      rules=services.worksheet.grading,
                      dimension_names=services.dimension_names)
    return ReminderScheduler(sweeper, services.settings.sweep_minutes).start()
