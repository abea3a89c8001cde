"""The command tree: ``gradebot --help`` (printed from ``bot.cli.COMMANDS`` without Typer) lists
exactly the commands the Typer application has, and the entry point keeps its exit codes."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
import typer
from typer.main import get_group

from bot.cli import COMMANDS, main, top_help
from bot.cli.app import ALL_MODULES, app, build, modules_for


def typer_commands() -> dict[str, str]:
    """Each top-level command and group of the Typer application → its help's first line."""
    group = get_group(app)
    ctx = typer.Context(group)
    commands = {name: group.get_command(ctx, name) for name in group.list_commands(ctx)}
    return {name: ((c.help if c else "") or "").strip().split("\n")[0]
            for name, c in commands.items()}


def test_the_table_is_the_application() -> None:
    assert {c.name: c.help for c in COMMANDS} == typer_commands()  # (order: cosmetic)


def tree(command: click.Command) -> object:
    """What a user can type under ``command``: its options and arguments, its sub-commands'."""
    params = sorted((p.name or "", tuple(p.opts)) for p in command.params)
    if not isinstance(command, click.Group):
        return params
    ctx = typer.Context(command)
    subs = {name: command.get_command(ctx, name) for name in command.list_commands(ctx)}
    return params, {name: tree(c) for name, c in subs.items() if c is not None}


@pytest.mark.parametrize("name", [c.name for c in COMMANDS])
def test_a_command_built_alone_is_the_whole_applications(name: str) -> None:
    """``main`` builds only the invoked command's modules: each command's options and
    arguments come out the same as in the application with every module. (A sub-command
    another module adds, ``import outcomes``, is checked in a fresh process below: in this one
    the full application has already added it to the shared group.)"""
    full, alone = get_group(app), get_group(build(modules_for(name)))
    full_cmd = full.get_command(typer.Context(full), name)
    alone_cmd = alone.get_command(typer.Context(alone), name)
    assert full_cmd is not None and alone_cmd is not None  # noqa: PT018
    assert tree(alone_cmd) == tree(full_cmd)
    assert (alone_cmd.help or "") == (full_cmd.help or "")


def test_a_look_up_builds_only_its_module_and_an_unknown_name_every_module() -> None:
    assert modules_for("grades") == ("lookups",)
    assert set(modules_for("import")) == {"importing", "outcomes"}
    assert modules_for("nope") == ALL_MODULES


def test_every_command_and_group_is_listed_by_the_fast_help() -> None:
    shown = top_help()
    assert shown.startswith("Usage: gradebot [OPTIONS] COMMAND [ARGS]...")
    for name, first_line in typer_commands().items():
        assert any(line.split() == [name, *first_line.split()] for line in shown.splitlines()), name


@pytest.mark.parametrize(("argv", "code"), [([], 2), (["--help"], 0)])
def test_help_and_no_arguments(argv: list[str], code: int,
                               capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == code
    out = capsys.readouterr()
    assert "Commands:" in out.out and out.err == ""  # noqa: PT018


def test_python_dash_m_and_a_subcommand_help_go_through_typer() -> None:
    done = subprocess.run([sys.executable, "-m", "bot.cli", "import", "--help"],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={"COLUMNS": "200", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    # main builds only import's modules: outcomes.py's sub-command is there (Command.also)
    assert all(c in done.stdout for c in ("customers", "people", "outcomes")), done.stdout
    unknown = subprocess.run([sys.executable, "-m", "bot.cli", "nope"], capture_output=True,
                             text=True, timeout=120, check=False)
    assert unknown.returncode == 2
    assert "No such command 'nope'" in unknown.stderr


# The command line is a contract (docs/cli.md): scripts call these commands with these options.
# A new command or option is fine; renaming or dropping one fails here.
CONTRACT: dict[str, list[str]] = {
    "chat": ["--as"],
    "customer": ["--as"],
    "grades": ["--as"],
    "portfolio": ["--as", "--no-team", "--team"],
    "serve": ["--host", "--port"],
    "remind": ["--at", "--dry-run", "--now", "--workspace"],
    "worksheet check": [],
    "worksheet rescore": ["--dry-run", "--show", "--workspace"],
    "people list": ["--workspace"],
    "people set-role": ["--manager", "--workspace"],
    "db upgrade": [],
    "import customers": ["--all-or-nothing", "--map", "--reassign-owners", "--status",
                         "--workspace"],
    "import people": ["--all-or-nothing", "--map", "--workspace"],
    "export grades": ["--latest", "--no-latest", "--workspace"],
    "export customers": ["--archived", "--no-archived", "--workspace"],
    "settings show": ["--workspace"],
    "settings set": ["--workspace"],
    "llm check": ["--no-save", "--save", "--suite", "--verbose", "--workers", "-v"],
}


def command_options() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}

    def walk(cmd: object, path: list[str]) -> None:
        ctx = typer.Context(cmd)  # type: ignore[arg-type]
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), [*path, name])
        else:
            out[" ".join(path)] = {o for p in cmd.params  # type: ignore[attr-defined]
                                   for o in (*p.opts, *(p.secondary_opts or ()))
                                   if o.startswith("-")}

    walk(get_group(app), [])
    return out


def test_every_command_and_option_of_the_contract_is_still_there() -> None:
    have = command_options()
    missing = {cmd: sorted(set(opts) - have.get(cmd, set())) for cmd, opts in CONTRACT.items()
               if cmd not in have or set(opts) - have[cmd]}
    assert missing == {}
