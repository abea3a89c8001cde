"""The real terminal program, driven through a pseudo-terminal: ``gradebot chat``.

Each test spawns the installed ``gradebot`` script (or ``python -m bot.cli``) against a
SQLite file in a temporary directory, types like a rep would, and checks what was stored by
opening the database and by running ``gradebot customer``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from typer.testing import CliRunner

from bot.cli import output
from bot.cli.app import app
from storage import grades as grades_db
from storage import people as people_db
from storage.engine import make_engine, session_scope
from tests.sheets import pulse_sheet_path

TIMEOUT = 15      # per expected line
START_TIMEOUT = 25  # the first prompt also pays for imports and migrating a new database

_SCRIPT = Path(sys.executable).parent / "gradebot"
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "bot.cli"]
# Each spawn imports SQLAlchemy, pydantic, openai …; with PYTHONDONTWRITEBYTECODE set (as in
# some sandboxes) every one of them would recompile what is not compiled yet, every time. The
# spawns may write bytecode, beside the sources as usual: they then read what the install
# compiled (`UV_COMPILE_BYTECODE=1`, .ci/run). (A separate PYTHONPYCACHEPREFIX, as before,
# ignored that and recompiled everything once per checkout: 6 CPU s on the first spawn.)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a rep's shell: our database, no LLM, no Slack, no colours."""
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("OPENAI_", "GRADEBOT_", "SLACK_", "DATABASE_"))
            and k != "PYTHONDONTWRITEBYTECODE"}
    return {**keep, "DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}", "NO_COLOR": "1",
            "TERM": "dumb", "COLUMNS": "120", "GRADEBOT_LLM_ENABLED": "false",
            # a pulse alone has a (provisional) letter on this sheet (tests/sheets.py)
            "GRADEBOT_WORKSHEET": str(pulse_sheet_path())}


def spawn(args: list[str], env: dict[str, str], cwd: Path) -> pexpect.spawn:
    child = pexpect.spawn(COMMAND[0], [*COMMAND[1:], *args], cwd=str(cwd), env=env,
                          encoding="utf-8", timeout=TIMEOUT, dimensions=(50, 120))
    child.expect_exact("Which customer shall we grade?", timeout=START_TIMEOUT)
    return child


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=START_TIMEOUT, check=False)


def answer(child: pexpect.spawn, expect: str, line: str) -> None:
    child.expect_exact(expect)
    child.sendline(line)


def finished(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def test_grade_a_quarterly_pulse_in_the_terminal(tmp_path: Path, env,
                                                 monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)  # no stray .env for the in-process `gradebot customer`
    child = spawn(["chat", "--as", "tester"], env, tmp_path)
    child.sendline("Acme quarterly")
    answer(child, "1  Create Acme", "1")                    # a number picks the choice
    answer(child, "1 of 5  How well does Acme pay us", "4")
    child.expect_exact("Got it: 4 — Solid margin")
    answer(child, "2 of 5", "about right")                  # words
    child.expect_exact("Got it: About right")
    answer(child, "3 of 5", "why")
    child.expect_exact("Why we ask about outcomes delivered")
    child.sendline("3")
    child.expect_exact("Got it: 3 — Some")
    answer(child, "4 of 5", "likely")
    child.expect_exact("Got it: 4 — Likely")
    answer(child, "5 of 5", "low")
    child.expect_exact("Acme: A (80.6/100, provisional: 37% answered), recommendation: "
                       "invest more.")
    answer(child, "Type save, change N, or discard", "save")
    child.expect_exact("Saved: Acme is graded A (80.6/100, provisional: 37% answered).")
    # at the first prompt a look-up is a look-up (as in Teams), not a customer to grade
    answer(child, "Which customer shall we grade?", "customer acme")
    child.expect_exact("A · 80.6/100 (provisional, 37% answered) · invest more")
    child.expect_exact("Owner: tester")
    answer(child, "Which customer shall we grade?", "quit")
    assert finished(child) == 0

    db = make_engine(env["DATABASE_URL"])
    try:
        with session_scope(db) as s:
            ws = people_db.get_or_create_workspace(s, "cli", "local")
            latest = grades_db.latest_grade_by_name(s, ws.id, "acme")
            assert latest is not None
            assert (latest.letter, latest.total) == ("A", 80.6)
    finally:
        db.dispose()

    # what was stored, read back by `gradebot customer` (in this process: the real program's
    # start-up is what the spawns above test; each spawn costs ~1.5 s of CPU)
    for var in [k for k in os.environ if k not in env]:
        monkeypatch.delenv(var)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    for console in (output.console, output.err):
        monkeypatch.setattr(console, "_width", 120)
    shown = CliRunner().invoke(app, ["customer", "Acme", "--as", "tester"])
    assert shown.exit_code == 0, shown.output
    assert "Owner: tester" in shown.output  # the card's footer, as in Slack and Teams
    # the words Slack and Teams use
    assert "A · 80.6/100 (provisional, 37% answered) · invest more" in shown.output
    missing = CliRunner().invoke(app, ["customer", "Acmee", "--as", "tester"])
    assert missing.exit_code == 1
    assert "Did you mean: Acme?" in missing.output
    dims = [line.split()[0:3] for line in shown.output.splitlines() if "█" in line]
    assert ["Good", "for", "you"] in dims  # the worksheet's names, not its ids ("value")


def test_ctrl_d_keeps_the_grading_and_a_rerun_offers_to_resume(tmp_path: Path, env):
    child = spawn(["chat", "--as", "tester"], env, tmp_path)
    child.sendline("Btea quarterly")
    answer(child, "1  Create Btea", "Beta quarterly")  # a typo: type the name again
    answer(child, "1  Create Beta", "1")
    answer(child, "1 of 5", "2")
    child.expect_exact("Got it: 2 — Thin margin")
    child.expect_exact("2 of 5")
    child.expect_exact("> ")
    child.sendeof()
    child.expect_exact("Bye. Anything unfinished is kept: run gradebot chat to resume.")
    assert finished(child) == 0
    assert "Traceback" not in (child.before or "")

    child = spawn(["chat", "--as", "tester"], env, tmp_path)
    child.sendline("beta")
    child.expect_exact("You are already grading Beta (quarterly, 1 answered). Resume it or "
                       "start over?")
    answer(child, "1  Resume", "1")
    child.expect_exact("Picking up where you left off.")
    child.expect_exact("2 of 5  For what Beta brings")
    child.sendline("quit")
    child.expect_exact("Bye. Anything unfinished is kept")
    assert finished(child) == 0


def test_unfinished_gradings_are_listed_and_resume_picks_up_the_newest(tmp_path: Path, env):
    """What "Bye. Anything unfinished is kept: run gradebot chat to resume." promises, and
    what "Paused. Say resume" asks for, in the terminal."""
    child = spawn(["chat", "--as", "tester"], env, tmp_path)
    child.sendline("Gamma quarterly")
    answer(child, "1  Create Gamma", "yes")  # a word for the only choice
    answer(child, "1 of 5", "4")
    answer(child, "2 of 5", "pause")
    child.expect_exact("Paused.")
    answer(child, "Which customer shall we grade?", "resume")
    child.expect_exact("2 of 5  For what Gamma brings")
    child.sendeof()
    assert finished(child) == 0

    child = pexpect.spawn(COMMAND[0], [*COMMAND[1:], "chat", "--as", "tester"], cwd=str(tmp_path),
                          env=env, encoding="utf-8", timeout=TIMEOUT, dimensions=(50, 120))
    child.expect_exact("Unfinished: Gamma. Type resume to continue Gamma, or a customer name.",
                       timeout=START_TIMEOUT)
    answer(child, "Which customer shall we grade?", "resume")
    child.expect_exact("2 of 5  For what Gamma brings")
    child.sendline("quit")
    assert finished(child) == 0


def test_a_bad_database_url_is_one_line_and_exit_2(tmp_path: Path, env):
    result = run(["chat"], {**env, "DATABASE_URL": "bogus://x"}, tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("✗ DATABASE_URL")
    assert "Traceback" not in result.stderr
