"""The Typer application: the commands of ``bot.cli.COMMANDS``, registered by their modules.

Importing this module loads Typer, Rich and the command modules, but nothing heavy: command
modules import the database, the engine, Slack and the rest inside their functions (see the
rule in ``bot/cli/__init__.py``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from functools import cache

import typer

from bot.cli import ABOUT, COMMANDS

ALL_MODULES: tuple[str, ...] = tuple(dict.fromkeys(c.module for c in COMMANDS))


def modules_for(name: str) -> tuple[str, ...]:
    """The modules a run of command ``name`` needs: its own and those adding sub-commands to
    it (``Command.also``); every module for a name that is no command (Typer's error lists
    them). Building one module's commands instead of all saves ~40 ms of a look-up's start."""
    for c in COMMANDS:
        if c.name == name:
            return tuple(m for m in ALL_MODULES if m == c.module or m in c.also)
    return ALL_MODULES


def build(modules: Iterable[str] = ALL_MODULES) -> typer.Typer:
    """A new application with the commands of ``modules`` (each module's ``register(app)``,
    once, in the order of ``COMMANDS``)."""
    app = typer.Typer(name="gradebot", help=ABOUT, no_args_is_help=True, add_completion=False,
                      pretty_exceptions_enable=False)
    for module in modules:
        importlib.import_module(f"bot.cli.{module}").register(app)
    return app


@cache
def _full() -> typer.Typer:
    return build()


def __getattr__(name: str) -> typer.Typer:
    """``bot.cli.app.app``: the application with every command, built when first asked for
    (``main`` builds only the invoked command's part)."""
    if name == "app":
        return _full()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
