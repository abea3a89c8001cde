"""``gradebot remind``: the dry run shows who would be reminded and why, claiming nothing."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.cli.remind import parse_at, render_plan
from bot.reminders.plan import plan
from storage.engine import session_scope
from storage.models import ReminderDelivery
from tests.reminders.conftest import World, utc


@pytest.fixture
def env(cli_db: Engine) -> World:
    world = World(cli_db)
    rita = world.person("Rita", tz="Europe/Paris")
    world.customer("Acme", rita, "B", utc(2027, 11, 10))
    world.customer("Beta", rita)
    kai = world.person("Kai", tz="Pacific/Auckland")
    world.customer("Kiwi", kai, "D", utc(2027, 9, 1))
    world.person("Away", away_until=utc(2028, 2, 1))
    return world


def run(*args: str) -> Any:
    return CliRunner().invoke(cli.app, ["remind", *args])


def test_dry_run_table(env: World) -> None:
    r = run("--dry-run", "--at", "2028-01-03T09:30")  # no offset: GRADEBOT_TIMEZONE (UTC)
    assert r.exit_code == 0, r.output
    out = r.output
    assert "Reminders due at 2028-01-03T09:30Z (dry run: nothing claimed or sent)" in out
    for text in ("Rita", "Kai", "quarterly", "2028-Q1", "2 customers due: Acme, Beta",
                 "1 customer due: Kiwi", "Mon 2028-01-03 09:00 Europe/Paris",
                 "Mon 2028-01-03 09:00 Pacific/Auckland", "2 reminders to 2 people."):
        assert text in out, (text, out)
    assert "Away" not in out
    with session_scope(env.db) as s:
        assert s.exec(select(ReminderDelivery)).all() == []  # nothing claimed


def test_dry_run_before_anyone_is_due(env: World) -> None:
    r = run("--dry-run", "--at", "2028-01-01T12:00+00:00")  # Saturday 1 January
    assert r.exit_code == 0, r.output
    assert "No reminders due at 2028-01-01T12:00Z." in r.output


def test_render_plan_directly(env: World) -> None:
    buf = io.StringIO()
    at = utc(2028, 1, 2, 20, 30)  # 09:30 in Auckland, Sunday evening in Paris
    with session_scope(env.db) as s:
        plans = plan(s, at)
    render_plan(Console(file=buf, width=200), plans, at)
    out = buf.getvalue()
    assert "Kai" in out
    assert "Rita" not in out
    assert "1 reminder to 1 person." in out


def test_clear_one_line_errors(env: World) -> None:
    r = run("--now")  # no platform configured: nothing to send through
    assert r.exit_code == 2
    assert "no platform to send reminders through" in r.output
    assert "slack: SLACK_BOT_TOKEN not set" in r.output
    assert "teams: CLIENT_ID not set" in r.output
    assert "Traceback" not in r.output
    r = run("--dry-run", "--at", "next tuesday")
    assert r.exit_code == 2
    assert "--at: 'next tuesday' is not an ISO date-time" in r.output
    r = run()
    assert r.exit_code == 2
    assert "exactly one of --dry-run or --now" in r.output
    assert parse_at("2028-01-03T09:30", "Europe/Paris", utc(2000, 1, 1)) == utc(2028, 1, 3, 8,
                                                                                30)
