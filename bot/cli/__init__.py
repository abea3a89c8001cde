"""The ``gradebot`` command line: run the bot, grade in the terminal, look-ups, admin tasks.

Layout (one module per command or command group; ``tests/cli/`` mirrors it)::

    bot/cli/__init__.py       COMMANDS (the table below), main(), the top-level --help
    bot/cli/app.py            the Typer application, built from COMMANDS
    bot/cli/output.py         the one console, the one error console, fail(), exit codes
    bot/cli/context.py        settings(), services(), open_database(), workspace options
    bot/cli/startup.py        the garbage collector paused while a command loads
    bot/cli/lookups.py        chat, customer, grades, portfolio
    bot/cli/run.py            serve, remind (bot/cli/remind.py does remind's work)
    bot/cli/worksheet.py      worksheet check|rescore
    bot/cli/people.py         people list|set-role
    bot/cli/db.py             db upgrade
    bot/cli/importing.py      import customers|people
    bot/cli/exporting.py      export grades|customers
    bot/cli/workspace_settings.py  settings show|set
    bot/cli/llm.py            llm check
    bot/cli/outcomes.py       outcome add|list|due, import outcomes, calibrate

Contracts (docs/cli.md): command names, options and exit codes do not change. Exit 0 done,
1 the command ran and the answer is "no" (refused, not found, rows not imported, a check
failed), 2 it could not run (usage, a bad setting, an unreachable database) — always one
line on standard error through ``output.fail``, never a traceback. Every command reads the
settings ``gradebot serve`` reads (environment, then ``.env``) through ``context.settings``.

Adding a command
----------------
1. Write it in the module of its group (``importing.py`` for ``gradebot import outcomes``),
   or in a new module ``bot/cli/<name>.py`` that defines ``register(app: typer.Typer)``
   (``app.command("name")(fn)`` for a command, ``app.add_typer(group, name="name")`` for a
   group).
2. Add a row to ``COMMANDS`` below (a new command or group, not a sub-command): name, module,
   the first line of its help, and in ``also`` any other module that adds a sub-command to
   it (a run builds only the invoked command's modules). ``tests/cli/test_app.py`` fails
   when the table and the Typer application disagree.
3. Print with ``output.console``; refuse with ``output.fail(message, code)``; read settings
   with ``context.settings()`` (or ``context.services()`` / ``context.open_database()``).
4. **Lazy imports.** At the top of a command module import only the standard library,
   ``typer`` and ``bot.cli.output`` / ``bot.cli.context``. Everything else — ``bot.config``
   (it pulls SQLAlchemy), ``storage``, ``bot.services``, ``bot.engine``, ``bot.slack``,
   ``openai``, ``matplotlib``, even ``rich.table`` — is imported *inside* the command
   function; types needed only in annotations go under ``if TYPE_CHECKING:``. Typer reads
   every command's signature to build ``--help``, so option types must be plain (``str``,
   ``int``, ``bool``, ``Path``, ``list[str]``). ``tests/cli/test_startup.py`` fails when
   ``import bot.cli.app`` pulls a heavy module; ``python -m tests.bench bench_startup`` prints
   the start-up figures (``python -X importtime -m bot.cli --help`` shows who is slow).
5. Tests go to ``tests/cli/test_<module>.py`` and drive the command through
   ``typer.testing.CliRunner`` on ``bot.cli.app.app`` (fixture ``cli_db`` for a database).
"""

from __future__ import annotations

import sys
from typing import NamedTuple

ABOUT = "Grade your customers so you invest more in the good ones."


class Command(NamedTuple):
    """One top-level command or group: what ``gradebot --help`` lists, and where it lives."""

    name: str
    module: str  # under bot.cli; its register(app) adds the command
    help: str  # the first line of the command's own help
    # other modules whose register(app) adds sub-commands to this group: a run of this
    # command builds only its module and these (bot.cli.app.modules_for)
    also: tuple[str, ...] = ()


COMMANDS: tuple[Command, ...] = (
    Command("chat", "lookups", "Grade customers in the terminal (the same conversation as in "
                               "Slack)."),
    Command("customer", "lookups", "Show a customer's latest grade (exit code 1 when there is "
                                   "no such customer to see)."),
    Command("grades", "lookups", "List your book sorted by grade (or someone's, if you manage "
                                 "them)."),
    Command("portfolio", "lookups", "The balance of the three goods in your book against the "
                                    "target."),
    Command("serve", "run", "Run the bot: socket mode when SLACK_APP_TOKEN is set, else HTTP at "
                            "/slack/events."),
    Command("remind", "run", "Reminders: who is due (--dry-run [--at 2027-01-04T09:30]) or send "
                             "them (--now)."),
    Command("calibrate", "outcomes", "Check grades against what happened to the customers "
                                     "(docs/calibration.md)."),
    Command("outcome", "outcomes", "Outcomes: what happened to customers (renewed, churned, …)."),
    Command("worksheet", "worksheet", "Inspect and validate worksheet files."),
    Command("people", "people", "Roles: reps, managers and admins."),
    Command("db", "db", "The database: create or migrate its tables."),
    Command("import", "importing", "Import data from CSV files.",
            also=("outcomes",)),  # gradebot import outcomes
    Command("export", "exporting", "Export data to CSV files (UTF-8, opens in spreadsheets)."),
    Command("settings", "workspace_settings", "A workspace's settings (time zone, reminders, "
                                              "target balance)."),
    Command("llm", "llm", "The language model that reads free-text answers (optional)."),
)


def top_help() -> str:
    """``gradebot --help``, from ``COMMANDS`` alone: printed without loading Typer, Rich or
    any command module, so asking what the tool does costs about what starting Python does."""
    width = max(len(c.name) for c in COMMANDS) + 2
    lines = ["Usage: gradebot [OPTIONS] COMMAND [ARGS]...", "", f"  {ABOUT}", "",
             "Options:", "  --help  Show this message and exit.", "", "Commands:"]
    lines += [f"  {c.name:<{width}}{c.help}" for c in COMMANDS]
    lines += ["", "Each command has its own --help (gradebot import --help); docs/cli.md "
                  "has them all.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """The ``gradebot`` entry point. ``gradebot`` and ``gradebot --help`` print the command
    list (exit 2 and 0, as Typer does); anything else runs through the Typer application."""
    args = sys.argv[1:] if argv is None else argv
    if args in ([], ["--help"]):
        sys.stdout.write(top_help())
        sys.stdout.flush()
        raise SystemExit(0 if args else 2)
    from bot.cli.startup import pause_collector

    pause_collector()  # while the command loads its modules (context.settings resumes it)
    from bot.cli.app import build, modules_for

    build(modules_for(args[0]))(args=args, prog_name="gradebot")
