"""``gradebot remind --now`` sweeps every configured platform and reports each: Slack through
the fake Slack Web API, Teams through the fake Bot Connector, both over real HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.cli import output
from bot.config import Settings, load_settings
from bot.reminders.now import sweep_now
from bot.services import build_services
from bot.slack import blocks as bk
from bot.teams.refs import conversation_ref
from scoring.worksheet import DEFAULT_WORKSHEET_PATH
from storage.engine import make_engine, session_scope
from storage.models import DeliveryStatus, ReminderDelivery
from tests.fakes.blocks import texts
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.wait import wait_until
from tests.load.harness import free_port, gradebot_command, replica_env
from tests.reminders.conftest import World, parents, utc

pytestmark = pytest.mark.filterwarnings("ignore:HtmlWidgetSecurityPolicy is in preview")

T = utc(2028, 1, 3, 9)  # Monday 3 January 2028, 09:00 UTC: Q1 reminders are due
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CONVERSATION = "a:1tomXw9qZr3LmN8pQ2sT5vY7bC4dF6gH1jK0"


@dataclass
class Platforms:
    url: str
    db: Engine
    slack: World
    teams: World
    rita: int  # a Slack rep
    tom: int  # a Teams rep
    api: FakeSlackAPI
    connector: FakeBotConnector

    def settings(self, *, slack: bool = True, teams: bool = True, **more: Any) -> Settings:
        extra: dict[str, Any] = dict(more)
        if slack:
            extra |= {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": self.api.base_url}
        if teams:
            extra["GRADEBOT_TEAMS_DEV_NO_AUTH"] = True
        return load_settings(DATABASE_URL=self.url, **extra)

    def teams_posts(self) -> list[Any]:
        return [s for s in self.connector.all() if s.conversation == CONVERSATION]

    def status(self, person_id: int) -> tuple[str, int]:
        """(status, attempts) of the rep's one delivery."""
        [(status, attempts)] = self.statuses(person_id)
        return status, attempts

    def statuses(self, person_id: int) -> list[tuple[str, int]]:
        with session_scope(self.db) as s:
            return [
                (d.status, d.attempts)
                for d in s.exec(
                    select(ReminderDelivery).where(ReminderDelivery.person_id == person_id)
                ).all()
            ]


@pytest.fixture
def platforms(
    tmp_path: Any,
    migrated_sqlite_url: str,
    api: FakeSlackAPI,
    connector: FakeBotConnector,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Platforms]:
    """A Slack workspace and a Teams tenant in one database, one rep each with a customer
    never graded (due every quarter); nothing configured in the environment."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for var in list(os.environ):
        if var.startswith(("SLACK_", "GRADEBOT_", "OPENAI_")) or var in (
            "CLIENT_ID",
            "CLIENT_SECRET",
            "TENANT_ID",
            "TZ",
        ):
            monkeypatch.delenv(var)
    connector.reset()
    db = make_engine(migrated_sqlite_url)
    slack, teams = World(db), World(db, platform="teams", team=TENANT)
    rita = slack.person("Rita", tz="UTC", uid="U0RITA")
    slack.customer("Acme", rita)
    tom = teams.person(
        "Tom",
        tz="UTC",
        uid="29:1tom",
        conversation_ref=conversation_ref(
            conversation_id=CONVERSATION,
            service_url=connector.url,
            bot_id="28:gradebot",
            user_id="29:1tom",
        ),
    )
    teams.customer("Tailspin", tom)
    yield Platforms(migrated_sqlite_url, db, slack, teams, rita, tom, api, connector)
    connector.failures.clear()
    db.dispose()


def test_one_sweep_reaches_both_platforms_once(platforms: Platforms) -> None:
    report = sweep_now(platforms.settings(), clock=lambda: T)
    assert [p.platform for p in report.platforms] == ["slack", "teams"]
    slack, teams = report.of("slack").report, report.of("teams").report
    assert slack is not None
    assert teams is not None
    assert (slack.sent, teams.sent, report.errors) == (1, 1, [])
    (parent,) = parents(platforms.api)
    assert parent.args["channel"] == "D0RITA"  # the DM the fake opened for U0RITA
    assert "Q1 2028 re-grading: 1 customer due" in parent.args["text"]
    (card,) = platforms.teams_posts()
    assert card.method == "create"
    assert "Q1 2028 re-grading: 1 customer due" in str(card.card)
    assert "Tailspin" in str(card.card)
    assert platforms.status(platforms.rita) == (DeliveryStatus.SENT, 1)
    assert platforms.status(platforms.tom) == (DeliveryStatus.SENT, 1)
    # at most once: a second run an hour later sends nothing new anywhere
    again = sweep_now(platforms.settings(), clock=lambda: T + timedelta(hours=1))
    assert [(p.report.sent, p.report.errors) for p in again.platforms if p.report] == [
        (0, []),
        (0, []),
    ]
    assert len(parents(platforms.api)) == 1
    assert len(platforms.teams_posts()) == 1


def test_teams_only_needs_no_slack_token(platforms: Platforms) -> None:
    report = sweep_now(platforms.settings(slack=False), clock=lambda: T)
    assert report.of("slack").report is None
    assert report.of("slack").skipped == "SLACK_BOT_TOKEN not set"
    teams = report.of("teams").report
    assert teams is not None
    assert teams.sent == 1
    assert platforms.api.calls == []  # Slack was never called
    assert len(platforms.teams_posts()) == 1
    with session_scope(platforms.db) as s:  # the Slack rep's reminder is still to be sent
        assert (
            s.exec(
                select(ReminderDelivery).where(ReminderDelivery.person_id == platforms.rita)
            ).first()
            is None
        )


def test_a_failing_platform_is_reported_and_retried(platforms: Platforms) -> None:
    platforms.connector.fail_next(500, times=10)
    report = sweep_now(platforms.settings(), clock=lambda: T)
    slack, teams = report.of("slack").report, report.of("teams").report
    assert slack is not None
    assert teams is not None
    assert slack.sent == 1  # one platform failing does not hold the other back
    assert (teams.sent, teams.failed_attempts) == (0, 1)
    assert report.errors
    assert all(e.startswith("teams: send delivery=") for e in report.errors)
    assert platforms.status(platforms.tom) == (DeliveryStatus.CLAIMED, 1)  # lease released
    platforms.connector.failures.clear()
    later = sweep_now(platforms.settings(), clock=lambda: T + timedelta(minutes=10))
    assert later.of("teams").report.sent == 1  # type: ignore[union-attr]
    assert later.of("slack").report.sent == 0  # type: ignore[union-attr]
    assert platforms.status(platforms.tom) == (DeliveryStatus.SENT, 2)
    assert len([s for s in platforms.teams_posts() if s.method == "create"]) == 1


def test_remind_now_on_the_command_line(
    platforms: Platforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real clock: a strategic review today (from 00:00 UTC) makes both reps due."""
    today = datetime.now(UTC).date()
    for world in (platforms.slack, platforms.teams):
        world.settings(strategic_dates=[today], reminder_hour=0)
    monkeypatch.setenv("DATABASE_URL", platforms.url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_API_URL", platforms.api.base_url)
    monkeypatch.setenv("GRADEBOT_TEAMS_DEV_NO_AUTH", "true")
    monkeypatch.setattr(output.console, "_width", 200)
    r = CliRunner().invoke(cli.app, ["remind", "--now"])
    assert r.exit_code == 0, r.output
    assert "Slack: sweep done: " in r.output
    assert "Teams: sweep done: " in r.output
    assert parents(platforms.api)  # the Slack rep got a thread
    assert platforms.teams_posts()  # and so did the Teams rep
    platforms.connector.fail_next(500, times=10)
    platforms.teams.settings(strategic_dates=[today - timedelta(days=1), today], reminder_hour=0)
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    with session_scope(platforms.db) as s:  # make Tom due again: forget his deliveries
        for d in s.exec(
            select(ReminderDelivery).where(ReminderDelivery.person_id == platforms.tom)
        ).all():
            s.delete(d)
        s.commit()
    r = CliRunner().invoke(cli.app, ["remind", "--now"])
    assert r.exit_code == 1, r.output  # a failed send is an error exit, with its reason
    assert "Slack: not swept — SLACK_BOT_TOKEN not set." in r.output
    assert "✗ teams: send delivery=" in r.output


def test_serve_sweeps_every_platform_at_start_up(platforms: Platforms, tmp_path: Any) -> None:
    """``gradebot serve`` with Slack and Teams: its first sweep (at start-up) reaches the
    reps of both; SIGTERM stops it cleanly."""
    today = datetime.now(UTC).date()
    for world in (platforms.slack, platforms.teams):
        world.settings(strategic_dates=[today], reminder_hour=0)
    env = replica_env(
        platforms.url, platforms.api, GRADEBOT_SWEEP_MINUTES="5", GRADEBOT_TEAMS_DEV_NO_AUTH="true"
    )
    proc = subprocess.Popen(
        [*gradebot_command(), "serve", "--port", str(free_port()), "--host", "127.0.0.1"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: parents(platforms.api), 60, "the Slack rep's reminder")
        wait_until(platforms.teams_posts, 30, "the Teams rep's reminder")
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0].decode(errors="replace")
    assert proc.returncode == 0, out
    for rep in (platforms.rita, platforms.tom):  # the strategic review (and a quarterly one)
        assert {status for status, _ in platforms.statuses(rep)} == {DeliveryStatus.SENT}


def test_a_reminders_due_list_and_the_card_agree_on_a_stale_grade(
    platforms: Platforms, tmp_path: Any
) -> None:
    """The sweep passes the configured worksheet's rules and its own clock to the due lines:
    with a worksheet whose grades go stale after 100 days, a grade 150 days old is stale in
    the reminder exactly as on the customer card (it used to be judged by the shipped
    sheet's 456 days, so the list said nothing while the card warned)."""
    sheet = tmp_path / "short.yml"
    text = DEFAULT_WORKSHEET_PATH.read_text(encoding="utf-8")
    assert "  stale_after_days: 456\n" in text
    sheet.write_text(
        text.replace("  stale_after_days: 456\n", "  stale_after_days: 100\n"), encoding="utf-8"
    )
    world, rita = platforms.slack, platforms.rita
    world.customer("Old Co", rita, "A", T - timedelta(days=150))
    world.customer("New Co", rita, "A", T - timedelta(days=50))
    settings = platforms.settings(teams=False, GRADEBOT_WORKSHEET=str(sheet))
    with time_machine.travel(T, tick=False):
        report = sweep_now(settings)
        sv = build_services(settings, migrate=False)
        try:
            _, person = sv.actor("slack", "T1", "U0RITA")
            cards = {
                name: texts(bk.render_card(sv.customer_card(person, name))[1])
                for name in ("Old Co", "New Co")
            }
        finally:
            sv.db.dispose()
    assert report.errors == []
    assert parents(platforms.api)  # the reminders (the quarter's and the year's)
    listing = "\n".join(
        texts(c.args["blocks"])
        for c in platforms.api.ok("chat.postMessage")
        if c.args.get("thread_ts")
    )
    old = (T - timedelta(days=150)).date().isoformat()
    new = (T - timedelta(days=50)).date().isoformat()
    assert f"Old Co · A (stale) · last graded {old}" in listing
    assert f"New Co · A · last graded {new}" in listing
    assert "⚠️ Stale: graded " in cards["Old Co"]
    assert "more than 100 days ago" in cards["Old Co"]
    assert "stale" not in cards["New Co"].lower()
