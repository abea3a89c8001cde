"""The Typer application: every command of ``bot.cli.COMMANDS``, registered by its module.

Importing this module loads Typer, Rich and the command modules, but nothing heavy: command
modules import the database, the engine, Slack and the rest inside their functions (see the
rule in ``bot/cli/__init__.py``).
"""

from __future__ import annotations

import importlib

import typer

from bot.cli import ABOUT, COMMANDS


def build() -> typer.Typer:
    """A new application with every command (each module's ``register(app)``, once, in the
    order of ``COMMANDS``)."""
    app = typer.Typer(name="gradebot", help=ABOUT, no_args_is_help=True, add_completion=False,
                      pretty_exceptions_enable=False)
    for module in dict.fromkeys(c.module for c in COMMANDS):
        importlib.import_module(f"bot.cli.{module}").register(app)
    return app


app = build()
