"""The in-process scheduler: first sweep at start, clean shutdown, restarts do not double."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.config import ConfigError, load_settings
from bot.reminders.scheduler import JOB_ID, ReminderScheduler, start_reminders
from bot.reminders.sweep import Sweeper
from bot.services import build_services
from bot.slack.notify import SlackNotifier
from tests.fakes.slack_api import FakeSlackAPI
from tests.reminders.conftest import World, fast_client, parents, utc

T = utc(2028, 1, 3, 9)


async def test_first_sweep_at_start_and_restart_does_not_double(
        db: Engine, world: World, api: FakeSlackAPI) -> None:
    for i in range(3):
        world.customer(f"Cust {i}", world.person(f"Rep {i}", uid=f"U5{i:02d}"), "C",
                       utc(2027, 9, 1))
    first = ReminderScheduler(Sweeper(db, [SlackNotifier(fast_client(api.base_url), db=db)],
                                      clock=lambda: T), minutes=5).start()
    job = first.scheduler.get_job(JOB_ID)
    assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 300)
    assert job.trigger.interval == timedelta(minutes=5)
    await first.wait_for_run()
    await first.shutdown()
    assert first.runs == 1
    assert first.last is not None
    assert first.last.sent == 3
    assert not first.scheduler.running
    # the process restarts: a new scheduler, sweeper and client on the same database
    second = ReminderScheduler(Sweeper(db, [SlackNotifier(fast_client(api.base_url), db=db)],
                                       clock=lambda: T + timedelta(minutes=1)), minutes=5)
    second.start()
    await second.wait_for_run()
    await second.shutdown()
    assert second.last is not None
    assert second.last.sent == 0
    assert len(parents(api)) == 3


async def test_serve_wiring_uses_the_setting(tmp_path: Any, api: FakeSlackAPI,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GRADEBOT_LLM_MODEL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GRADEBOT_SWEEP_MINUTES", "2")
    sv = build_services(load_settings(SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=api.base_url,
                                      DATABASE_URL=f"sqlite:///{tmp_path}/serve.db"),
                        clock=lambda: T)
    World(sv.db).customer("Solo", World(sv.db).person("Solo Rep", uid="U600"))
    sched = start_reminders(sv, [SlackNotifier(fast_client(api.base_url), db=sv.db)])
    try:
        assert sched.interval == timedelta(minutes=2)
        assert sched.sweeper.rules is sv.worksheet.grading  # "stale" as the card says it
        await sched.wait_for_run()
        assert sched.last is not None
        assert sched.last.sent == 1, sched.last
    finally:
        await sched.shutdown()
        sv.db.dispose()
    monkeypatch.setenv("GRADEBOT_SWEEP_MINUTES", "-1")
    with pytest.raises(ConfigError, match=r"^GRADEBOT_SWEEP_MINUTES: "):
        load_settings()
