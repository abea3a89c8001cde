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
    from rich.markup import escape

    from bot.lookups import CustomerCard
    from bot.terminal import render_card, render_text_view
    from bot.trust import OverrideResult, TextView

    sv = services(look_up=True)
    _, person = sv.local_actor(as_)
    result = sv.customer(person, name)
    if not isinstance(result, OverrideResult):
        render_card(console, result, sv.dimension_names)
        if not isinstance(result, CustomerCard):
            raise typer.Exit(REFUSED)
        return
    render_text_view(console, result.view)
    for who, said in result.notices:  # (the terminal has no one else's chat to write to)
        console.print(f"[dim]→ for {escape(who.display_name)}: {escape(said)}[/dim]")
    if not isinstance(result.view, TextView):
        raise typer.Exit(REFUSED)


def grades(arg: Annotated[str, typer.Argument(help="overdue, or a person")] = "",
           as_: AsOption = None) -> None:
    """List your book sorted by grade (or someone's, if you manage them)."""
    from bot.lookups import Denied, book_view
    from bot.terminal import render_book

    sv = services(look_up=True)
    _, person = sv.local_actor(as_)
    with sv.session() as s:
        view = book_view(s, person, arg, sv.clock(), rules=sv.worksheet.grading)
        render_book(console, view)
    if isinstance(view, Denied):
        raise typer.Exit(REFUSED)  # refused: scripts must not take it for an answer


def portfolio(as_: AsOption = None,
              team: Annotated[bool, typer.Option(help="Your team's book")] = False,
              optimism: Annotated[bool, typer.Option(
                  help="Managers: each rep's grades against second opinions")] = False
              ) -> None:
    """The balance of the three goods in your book against the target."""
    from bot.lookups import Denied, portfolio_view
    from bot.terminal import render_portfolio, render_text_view
    from bot.trust import Refused

    sv = services(look_up=True)
    _, person = sv.local_actor(as_)
    if optimism:
        opinion_view = sv.optimism(person)
        render_text_view(console, opinion_view)
        if isinstance(opinion_view, Refused):
            raise typer.Exit(REFUSED)
        return
    with sv.session() as s:
        view = portfolio_view(s, person, sv.worksheet, sv.clock(), team=team)
        render_portfolio(console, view)
    if isinstance(view, Denied):
        raise typer.Exit(REFUSED)  # a rep asking for --team: told it needs a manager role


def register(app: typer.Typer) -> None:
    app.command()(chat)
    app.command("customer")(customer)
    app.command("grades")(grades)
    app.command("portfolio")(portfolio)
