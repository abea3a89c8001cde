"""One ``fail``: one line on standard error, taken literally, then the exit code; and every
command that refuses goes through it (stdout stays clean for scripts)."""

from __future__ import annotations

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from bot.cli import output
from bot.cli.app import app


def test_fail_prints_one_literal_line_and_raises_the_code(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output.err, "_width", 200)
    with pytest.raises(typer.Exit) as exit_:
        output.fail("No customer '[bold]<@U1>[/bold]'", code=output.REFUSED)
    assert exit_.value.exit_code == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == "✗ No customer '[bold]<@U1>[/bold]'\n"  # markup is not interpreted


@pytest.mark.parametrize(("args", "code", "message"), [
    (["settings", "set", "nope", "1"], 2, "✗ Unknown setting 'nope': use one of timezone,"),
    (["people", "set-role", "ghost", "rep"], 2, "✗ No person 'ghost' in this workspace"),
    (["remind", "--dry-run", "--now"], 2, "✗ Use exactly one of --dry-run or --now."),
    (["remind", "--dry-run", "--at", "soon"], 2, "✗ --at: 'soon' is not an ISO date-time"),
    (["export", "grades", "-", "--workspace", "slack:T0NONE"], 2,
     "✗ No workspace 'slack:T0NONE' yet"),
])
def test_refusals_are_one_line_on_stderr(cli_db: Engine, args: list[str], code: int,
                                         message: str) -> None:
    if args[0] == "people":  # the local workspace exists once someone used the terminal
        assert CliRunner().invoke(app, ["grades", "--as", "rita"]).exit_code == 0
    result = CliRunner().invoke(app, args)
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
