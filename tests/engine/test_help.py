"""The one help table (``bot.engine.help``): what the manifests promise matches it, it names
every word of a grading, and it reads commands as Teams and the terminal type them. That
Slack, Teams and the terminal show its lines: tests/slack/test_lookups.py,
tests/teams/test_lookups_and_reminders.py, tests/test_terminal.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.engine import help
from bot.engine.conversation import COMMANDS as GRADING_COMMANDS
from bot.engine.inputs import parse_grade_args

ROOT = Path(__file__).resolve().parents[2]


def test_slacks_manifest_has_the_tables_commands_hints_and_descriptions() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    slash = manifest["features"]["slash_commands"]
    assert tuple(c["command"] for c in slash) == help.SLASH_COMMANDS
    for c in slash:
        entry = help.COMMANDS[c["command"].removeprefix("/")]
        assert c["usage_hint"] == entry.hint, c["command"]
        assert c["description"] == entry.summary, c["command"]


def test_a_usage_hint_names_only_usages_of_its_command() -> None:
    for c in help.TABLE:
        words = c.hint.strip("[]").replace("|", " ").split()
        args = " ".join(u.args for u in c.usages)
        assert all(w in args for w in words), c.name


def test_teams_manifest_describes_each_command_with_its_usage() -> None:
    m = json.loads((ROOT / "teams" / "manifest.json").read_text(encoding="utf-8"))
    commands = m["bots"][0]["commandLists"][0]["commands"]
    assert [c["title"] for c in commands] == [c.name for c in help.TABLE]
    for c in commands:
        if c["title"] != "help":
            usage = help.lines(help.COMMANDS[c["title"]])[0].usage
            assert c["description"].startswith(f"{usage}: "), c


def test_every_word_of_a_grading_is_in_the_help() -> None:
    words = help.GRADING_WORDS
    said = {w for w in GRADING_COMMANDS if w not in ("help", "restart")}  # restart: a button
    missing = [w for w in said if w not in words]
    assert not missing
    assert words in help.command_help("help")[0].what  # the overview's last line


def test_lines_carry_the_channels_prefix_only() -> None:
    slack, bare = help.overview("/"), help.overview()
    assert [h.what for h in slack] == [h.what for h in bare]
    for s, b in zip(slack, bare, strict=True):
        assert s.usage in (f"/{b.usage}", b.usage)
    assert bare[-1].usage == "help"  # (not a slash command: no "/" in Slack either)
    assert slack[0].usage == "/grade <customer> [quarterly|annual|strategic]"
    assert help.command_help("/portfolio", "/")[1].usage == "/portfolio optimism"


def test_the_grade_usages_parse_as_the_engine_reads_them() -> None:
    """The help's grade lines, filled in, are what ``parse_grade_args`` takes."""
    second = parse_grade_args("Acme second-opinion @dana")
    assert second is not None
    assert second.second_opinion == "@dana"
    review = parse_grade_args("strategic")
    assert review is not None
    assert (review.customer, review.cadence) == ("", "strategic")


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("customer Acme Corp", ("customer", "Acme Corp")),
        ("/grades  overdue", ("grades", "overdue")),
        ("PORTFOLIO", ("portfolio", "")),
        ("?", ("help", "")),
        ("grade", ("grade", "")),
        ("Acme", None),
        ("customers", None),
        ("", None),
    ],
)
def test_parse_command(typed: str, read: tuple[str, str] | None) -> None:
    assert help.parse_command(typed) == read


@pytest.mark.parametrize(
    ("word", "rest", "asked"),
    [
        ("grade", "help", "grade"),
        ("grades", "?", "grades"),
        ("help", "portfolio", "portfolio"),
        ("help", "/customer", "customer"),
        ("help", "", None),
        ("customer", "Help Ltd", None),
        ("help", "me", None),
    ],
)
def test_help_asked(word: str, rest: str, asked: str | None) -> None:
    assert help.help_asked(word, rest) == asked
