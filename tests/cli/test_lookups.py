"""Refused look-ups from the command line exit non-zero (scripts must not read a refusal as
an answer), and say why in one line."""

from __future__ import annotations

from sqlalchemy import Engine
from typer.testing import CliRunner

from bot.cli import app as cli


def run(*args: str):
    return CliRunner().invoke(cli.app, list(args))


def test_a_rep_asking_for_the_team_portfolio_is_told_it_needs_a_manager(cli_db: Engine):
    r = run("portfolio", "--team", "--as", "alice")
    assert r.exit_code == 1, r.output
    assert "needs a manager or admin role" in r.output
    own = run("portfolio", "--as", "alice")
    assert own.exit_code == 0, own.output
    assert "Portfolio of alice" in own.output


def test_someone_elses_grades_refused_exits_non_zero(cli_db: Engine):
    assert run("grades", "--as", "bob").exit_code == 0  # bob exists now
    r = run("grades", "bob", "--as", "alice")
    assert r.exit_code == 1, r.output
    assert "Only their manager or an admin" in r.output
    assert run("grades", "--as", "alice").exit_code == 0  # her own: fine
    nobody = run("grades", "nobody-here", "--as", "alice")
    assert nobody.exit_code == 1
    assert "I don't know nobody-here here." in nobody.output
