"""Start-up: building the command tree imports nothing heavy (the commands import what they
need when they run), and a look-up skips Alembic on a database already at the latest revision.

Each check runs in a fresh interpreter: this test process has imported everything already."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from storage.engine import head_revisions, is_current, make_engine, upgrade

HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "slack_bolt", "slack_sdk", "openai",
         "matplotlib", "aiohttp", "microsoft_teams", "bot.config", "storage", "bot.engine")


def imported_by(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("code", ["import bot.cli", "import bot.cli.app"])
def test_the_command_tree_pulls_no_heavy_module(code: str) -> None:
    loaded = imported_by(code)
    assert [m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY)] == []


def test_the_top_level_help_loads_not_even_typer() -> None:
    loaded = imported_by("import io, sys\nfrom contextlib import redirect_stdout\n"
                         "from bot.cli import main\n"
                         "with redirect_stdout(io.StringIO()):\n"
                         "    try:\n        main(['--help'])\n    except SystemExit:\n"
                         "        pass")
    assert not [m for m in loaded if m.startswith(("typer", "rich", "click"))]


def test_the_head_is_read_without_alembic() -> None:
    from alembic.script import ScriptDirectory

    from storage.engine import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revisions() == frozenset(script.get_heads())


def test_is_current_only_at_the_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    assert not is_current(url)
    assert not (tmp_path / "g.db").exists()  # asking creates no database
    upgrade(url, "0001")
    assert not is_current(url)
    upgrade(url)
    assert is_current(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE alembic_version")
    engine.dispose()
    assert not is_current(url)  # cannot tell: migrate, which is always safe


def test_a_look_up_migrates_only_a_database_that_needs_it(tmp_path: Path) -> None:
    """The first look-up creates the tables (as before); the next ones do not load Alembic."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}", "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path)}
    probe = ("import sys\nfrom bot.cli import main\ntry:\n    main(['grades', '--as', 'rita'])\n"
             "except SystemExit as e:\n    assert not e.code, e.code\n"
             "print('alembic' in sys.modules)")

    def grades() -> str:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              timeout=120, check=True, cwd=tmp_path, env=env)
        return done.stdout.splitlines()[-1]

    assert grades() == "True"
    assert is_current(env["DATABASE_URL"])
    assert grades() == "False"


LOOK_UP_NEEDS_NOT = ("alembic", "openai", "slack_bolt", "slack_sdk", "aiohttp",
                     "microsoft_teams", "matplotlib", "sklearn", "uvicorn", "prometheus_client",
                     "bot.engine.conversation", "bot.llm", "bot.slack", "bot.teams",
                     "bot.threads",
                     # only the look-ups' command module is built (bot.cli.app.modules_for)
                     "bot.cli.run", "bot.cli.outcomes", "bot.cli.importing", "bot.cli.db",
                     "bot.cli.worksheet", "bot.cli.people", "bot.cli.exporting")


@pytest.mark.parametrize("args", [["grades", "--as", "rita"], ["customer", "Acme", "--as", "rita"],
                                  ["portfolio", "--as", "rita"]])
def test_a_look_up_loads_no_engine_model_or_chat_platform(
        tmp_path: Path, args: list[str]) -> None:
    """Each module a look-up loads costs every look-up its start-up: none of the engine, the
    model's client (also with a model configured), Slack, Teams, charts, the server, nor the
    other commands' modules (only the look-ups' is built). And the
    garbage collector, paused while the modules load, runs again afterwards."""
    url = f"sqlite:///{tmp_path / 'g.db'}"
    upgrade(url)
    env = {"DATABASE_URL": url, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "GRADEBOT_LLM_MODEL": "gpt-4o-mini", "OPENAI_API_KEY": "sk-test"}
    probe = (f"import gc, json, sys\nfrom bot.cli import main\ntry:\n    main({args!r})\n"
             "except SystemExit as e:\n    assert e.code in (0, 1, None), e.code\n"
             "print(json.dumps([sorted(sys.modules), gc.isenabled(), gc.get_freeze_count()]))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, check=True, cwd=tmp_path, env=env)
    loaded, collecting, frozen = json.loads(done.stdout.splitlines()[-1])
    assert "bot.lookups" in loaded  # (the probe did run the look-up)
    assert [m for m in loaded if m.split(".")[0] in LOOK_UP_NEEDS_NOT
            or m.startswith(LOOK_UP_NEEDS_NOT)] == []
    assert collecting  # the collector runs again
    assert frozen > 10_000  # with what start-up loaded left out of its scans
