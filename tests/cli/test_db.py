"""``gradebot db upgrade``, and the database every command reads (environment, then .env)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from bot.cli.context import settings
from tests.storage.helpers import head


def database_url() -> str:
    return settings().database_url


def test_database_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert database_url() == "sqlite:///gradebot.db"
    # .env is read as `gradebot serve` reads it; the environment wins over it
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:///from-dotenv.db\n", encoding="utf-8")
    assert database_url() == "sqlite:///from-dotenv.db"
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    assert database_url() == "postgresql+psycopg://u@h/db"


def test_every_data_command_uses_the_database_named_in_dotenv(runner: CliRunner,
                                                              tmp_path: Path) -> None:
    """With DATABASE_URL only in .env, upgrade, import and export all use that database
    (they used to read the environment alone and create gradebot.db beside it)."""
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:///team.db\n", encoding="utf-8")
    src = tmp_path / "c.csv"
    src.write_text("name\nAcme\n", encoding="utf-8")
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["import", "customers", str(src)]).exit_code == 0
    out = runner.invoke(app, ["export", "customers", "-"])
    assert out.stdout.splitlines()[1:] == ["Acme,,,customer,,"]
    assert (tmp_path / "team.db").exists()
    assert not (tmp_path / "gradebot.db").exists()


def test_cli_db_upgrade(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"✓ Database at revision {head()}" in result.output
    assert (tmp_path / "gradebot.db").exists()  # the default: a file in the working directory
    again = runner.invoke(app, ["db", "upgrade"])
    assert again.exit_code == 0
