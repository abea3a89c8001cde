"""``gradebot settings show|set``: every workspace setting from the command line (Teams has
no settings card), validated like the Slack modal, nothing saved on a refusal."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from bot.cli import app as cli
from storage import people as people_db
from storage.engine import session_scope


@pytest.fixture
def teams_ws(cli_db: Engine) -> Engine:
    """A Teams workspace; GRADEBOT_WORKSHEET unset, so the shipped worksheet (60/25/15)."""
    with session_scope(cli_db) as s:
        people_db.get_or_create_workspace(s, "teams", "tenant-1", "Contoso")
    return cli_db


def run(*args: str) -> Any:
    return CliRunner().invoke(cli.app, ["settings", *args])


def stored(engine: Any) -> dict[str, Any]:
    with session_scope(engine) as s:
        ws = people_db.find_workspace(s, "teams", "tenant-1")
        return ws.get_settings().model_dump(mode="json")  # type: ignore[union-attr]


W = ("--workspace", "teams:tenant-1")


@pytest.mark.parametrize(("key", "typed", "saved", "echoed"), [
    ("timezone", "America/Chicago", "America/Chicago", "America/Chicago"),
    ("reminder_hour", "8", 8, "8"),
    ("max_followups", "0", 0, "0"),
    ("target_balance", "50/30/20",
     {"good_for_you": 50.0, "good_at_it": 30.0, "good_for_others": 20.0}, "50/30/20"),
    ("strategic_dates", "2027-09-15, 2027-03-15", ["2027-03-15", "2027-09-15"],
     "2027-03-15, 2027-09-15"),
    ("regrade_by_letter", "a=quarterly D=annual", {"A": "quarterly", "D": "annual"},
     "A=quarterly D=annual"),
    ("digest_channel", "19:abc@thread.tacv2", "19:abc@thread.tacv2", "19:abc@thread.tacv2"),
])
def test_set_then_show(teams_ws: Any, key: str, typed: str, saved: Any, echoed: str) -> None:
    r = run("set", key, typed, *W)
    assert r.exit_code == 0, r.output
    assert r.output.strip() == f"✓ {key} = {echoed}"
    assert stored(teams_ws)[key] == saved
    shown = run("show", *W)
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines()[0].strip() == "Settings of teams:tenant-1 (Contoso)"
    line = next(x for x in shown.output.splitlines() if f" {key} " in x)
    assert echoed in line


@pytest.mark.parametrize(("key", "typed", "message"), [
    ("timezone", "Mars/Olympus", "Invalid setting: unknown time zone 'Mars/Olympus'"),
    ("reminder_hour", "25", "Invalid setting reminder_hour: Input should be less than or "
                            "equal to 23"),
    ("reminder_hour", "eight", "Invalid setting reminder_hour: Input should be a valid "
                               "integer"),
    ("target_balance", "50/30/30", "Invalid setting target_balance: target balance must add "
                                   "up to 100, not 110"),
    ("target_balance", "50/50", "target_balance: three percentages"),
    ("strategic_dates", "2027-13-01", "Invalid setting strategic_dates.0:"),
    ("regrade_by_letter", "A=sometimes", "Invalid setting regrade_by_letter: 'A' = "
                                         "'sometimes'; use a grade letter and quarterly or "
                                         "annual"),
    ("regrade_by_letter", "A=strategic", "Invalid setting regrade_by_letter: 'A' = "
                                         "'strategic'"),
    ("regrade_by_letter", "AB=annual", "Invalid setting regrade_by_letter: 'AB' = 'annual'"),
    ("regrade_by_letter", "annual", "regrade_by_letter: letter=cadence pairs"),
    ("colour", "blue", "Unknown setting 'colour': use one of timezone,"),
])
def test_a_bad_value_is_refused_and_nothing_saved(teams_ws: Any, key: str, typed: str,
                                                  message: str) -> None:
    before = stored(teams_ws)
    r = run("set", key, typed, *W)
    assert r.exit_code == 2
    assert message in r.output, r.output
    assert len(r.output.strip().splitlines()) <= 2  # one line (wrapped at most once)
    assert stored(teams_ws) == before


def test_clearing_and_defaults(teams_ws: Any) -> None:
    assert run("set", "target_balance", "40/40/20", *W).exit_code == 0
    r = run("set", "target_balance", "default", *W)
    assert r.output.strip() == "✓ target_balance = 60/25/15 (the worksheet's)"
    assert stored(teams_ws)["target_balance"] is None
    assert run("set", "digest_channel", "C0DIGEST", *W).exit_code == 0
    assert run("set", "digest_channel", "", *W).exit_code == 0
    assert stored(teams_ws)["digest_channel"] is None


def test_an_unknown_workspace_is_named(teams_ws: Any) -> None:
    r = run("show", "--workspace", "teams:nobody")
    assert r.exit_code == 2
    assert "No workspace 'teams:nobody' yet" in r.output
