"""The reminder buttons through the real Slack app: signed requests in, Web API calls out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.config import load_settings
from bot.http import create_asgi
from bot.reminders.sweep import Sweeper
from bot.services import Services, build_services
from bot.slack.app import build_slack_app
from bot.slack.notify import AWAY_CALLBACK, SlackNotifier
from storage.engine import session_scope
from storage.models import GradingSession, Person, ReminderDelivery
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.slack_http import SECRET, TEAM, ServerThread, SlackSender
from tests.fakes.wait import wait_until
from tests.reminders.conftest import World, fast_client, replies, utc

T = utc(2028, 1, 3, 9)
NOW = T + timedelta(hours=1)  # when the rep clicks


@pytest.fixture
def app_env(tmp_path: Any, api: FakeSlackAPI, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[tuple[Services, SlackSender]]:
    for var in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_APP_TOKEN", "OPENAI_API_KEY",
                "OPENAI_BASE_URL", "GRADEBOT_LLM_MODEL"):
        monkeypatch.delenv(var, raising=False)
    settings = load_settings(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET,
                             SLACK_API_URL=api.base_url,
                             DATABASE_URL=f"sqlite:///{tmp_path}/app.db")
    sv = build_services(settings, clock=lambda: NOW)
    server = ServerThread(create_asgi(sv, build_slack_app(sv))).start()
    sender = SlackSender(server.url, api.response_url())
    yield sv, sender
    sender.close()
    server.stop()
    sv.db.dispose()


async def _remind(sv: Services, api: FakeSlackAPI) -> tuple[World, int, ReminderDelivery]:
    world = World(sv.db, team=TEAM)
    pid = world.person("Rita", uid="U1", tz="UTC")
    world.customer("Acme", pid, "B", utc(2027, 11, 10))
    await Sweeper(sv.db, [SlackNotifier(fast_client(api.base_url), db=sv.db)]).sweep(T)
    with session_scope(sv.db) as s:
        from sqlmodel import select

        d = s.exec(select(ReminderDelivery)).one()
    return world, pid, d


async def test_snooze_button(app_env: tuple[Services, SlackSender],
                             api: FakeSlackAPI) -> None:
    sv, slack = app_env
    world, _pid, d = await _remind(sv, api)
    (listing,) = replies(api, d.thread_ts)
    r = slack.click(f"rem|snooze|{d.id}|7", action_id="rem:1", user="U1", channel="D1",
                    message_ts=listing.result["ts"], thread_ts=d.thread_ts)
    assert r.status_code == 200, r.text
    confirm = wait_until(lambda: [c for c in replies(api, d.thread_ts)
                                  if "Snoozed" in c.args["text"]])
    assert "Mon 10 Jan, 10:00" in confirm[0].args["text"]
    d2 = world.get(ReminderDelivery, d.id)
    assert d2.snoozed_until == NOW + timedelta(days=7)
    assert d2.next_followup_at == NOW + timedelta(days=7)


async def test_out_of_office_modal(app_env: tuple[Services, SlackSender],
                                   api: FakeSlackAPI) -> None:
    sv, slack = app_env
    world, pid, d = await _remind(sv, api)
    r = slack.click(f"rem|away|{d.id}", action_id="rem:2", user="U1", channel="D1",
                    message_ts="1.0", thread_ts=d.thread_ts)
    assert r.status_code == 200, r.text
    (opened,) = wait_until(lambda: api.ok("views.open"))
    view = opened.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == AWAY_CALLBACK
    assert view["private_metadata"] == str(d.id)

    def submit(day: str) -> Any:
        payload = {"type": "view_submission", "team": {"id": TEAM, "domain": "test"},
                   "user": {"id": "U1", "name": "u1", "team_id": TEAM}, "api_app_id": "A1",
                   "trigger_id": "t.1",
                   "view": {"id": "V1", "type": "modal", "callback_id": AWAY_CALLBACK,
                            "private_metadata": str(d.id),
                            "state": {"values": {"back_on": {"date": {
                                "type": "datepicker", "selected_date": day}}}}}}
        return slack.interact(payload)

    bad = submit("2028-01-02")
    assert bad.status_code == 200
    assert bad.json()["response_action"] == "errors"
    assert "after today" in bad.json()["errors"]["back_on"]
    ok = submit("2028-01-20")
    assert ok.status_code == 200
    assert not ok.text.strip()
    assert world.get(Person, pid).away_until == utc(2028, 1, 20, 9)
    assert world.get(ReminderDelivery, d.id).snoozed_until == utc(2028, 1, 20, 9)
    wait_until(lambda: [c for c in replies(api, d.thread_ts)
                  if "Out of office until Thu 20 Jan" in c.args["text"]])


async def test_someone_elses_reminder_is_refused(app_env: tuple[Services, SlackSender],
                                                 api: FakeSlackAPI) -> None:
    sv, slack = app_env
    world, _pid, d = await _remind(sv, api)
    r = slack.click(f"rem|snooze|{d.id}|1", action_id="rem:0", user="U999", channel="D999")
    assert r.status_code == 200
    wait_until(lambda: [c for c in api.of("response_url") if "not yours" in c.args.get("text", "")])
    assert world.get(ReminderDelivery, d.id).snoozed_until is None


async def test_grade_button_starts_a_grading(app_env: tuple[Services, SlackSender],
                                             api: FakeSlackAPI) -> None:
    sv, slack = app_env
    _world, pid, d = await _remind(sv, api)
    (listing,) = replies(api, d.thread_ts)
    grade = next(b for blk in listing.args["blocks"] for b in [blk.get("accessory") or {}]
                 if str(b.get("value", "")).startswith("pick||"))
    r = slack.click(grade["value"], action_id=grade["action_id"], user="U1", channel="D1",
                    message_ts=listing.result["ts"], thread_ts=d.thread_ts)
    assert r.status_code == 200, r.text

    def started() -> list[GradingSession]:
        with session_scope(sv.db) as s:
            from sqlmodel import select

            return list(s.exec(select(GradingSession).where(
                GradingSession.person_id == pid)).all())

    (gs,) = wait_until(started)
    assert gs.customer_id == int(grade["value"].split("|")[-1])
    wait_until(lambda: [c for c in api.ok("chat.postMessage") if "Grading Acme" in c.args["text"]])
