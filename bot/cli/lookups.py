"""``gradebot chat``, ``customer``, ``grades``, ``portfolio``: the rep's commands in the terminal.

The same conversation and look-ups as the slash commands, rendered by ``bot.terminal``. A
look-up that is refused or finds nothing exits 1, so a script never takes it for an answer.
"""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.context import AsOption, services
from bot.cli.output import REFUSED, console


def chat(
    customer: Annotated[str | None, typer.Argument(help="Start grading this customer")] = None,
    as_: AsOption = None,
) -> None:
    """Grade customers in the terminal (the same conversation as in Slack)."""
    from rich.markup import escape

    from bot.terminal import TerminalChat

    sv = services()
    actor, person = sv.local_actor(as_)
    console.print(f"[dim]Database: {escape(sv.settings.database_url)} · you are "
                  f"{escape(person.display_name)}[/dim]", markup=True)
    describe = getattr(sv.interpreter, "describe", None)
    if describe is not None:  # which model reads free text, and whether it only suggests
        console.print(f"[dim]{escape(describe())}[/dim]", markup=True)
    TerminalChat(sv, actor, console, lambda p: console.input(p, markup=False)).run(customer)


def customer(name: Annotated[str, typer.Argument(help="Customer name")],
             as_: AsOption = None) -> None:
    """Show a customer's latest grade (exit code 1 when there is no such customer to see).
    Managers: "Acme override B until 2027-03-01 because …", "Acme override remove",
    "Acme overrides" (docs/opinions.md)."""
    _look_up(as_, "customer", name)


def grades(arg: Annotated[str, typer.Argument(help="overdue, or a person")] = "",
           as_: AsOption = None) -> None:
    """List your book sorted by grade (or someone's, if you manage them)."""
    _look_up(as_, "grades", arg)


def portfolio(as_: AsOption = None,
              team: Annotated[bool, typer.Option(help="Your team's book")] = False,
              optimism: Annotated[bool, typer.Option(
                  help="Managers: each rep's grades against second opinions")] = False
              ) -> None:
    """The balance of the three goods in your book against the target."""
    _look_up(as_, "portfolio", "optimism" if optimism else "team" if team else "")


def _look_up(as_: str | None, word: str, rest: str) -> None:
    """The look-up ``gradebot chat`` runs for the same words (``bot.terminal.look_up``); a
    refusal or nothing found exits 1: scripts must not take it for an answer (a rep asking
    for --team is told it needs a manager role)."""
    from bot.terminal import look_up

    sv = services(look_up=True)
    _, person = sv.local_actor(as_)
    if not look_up(console, sv, person, word, rest):
        raise typer.Exit(REFUSED)


def register(app: typer.Typer) -> None:
    app.command()(chat)
    app.command("customer")(customer)
    app.command("grades")(grades)
    app.command("portfolio")(portfolio)
