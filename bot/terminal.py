"""The terminal channel: the same engine prompts, rendered with rich.

Choices are numbered; typing a number picks one, anything else goes to the engine as text
(answers in words, or commands such as back, skip, why, save). Only the last choice list of a
reply is numbered; earlier ones in the same reply (a "did you mean" for another question) are
lettered a, b, c …, so a number always answers the question on screen, never an older list.
Everything users typed is escaped so a customer called ``[bold]x`` prints as typed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.engine import Actor, Choose, Kind, Prompt, Start, Text, parse_grade_args
from bot.engine import options as opts
from bot.engine.inputs import whole_number
from bot.engine.prompts import plural
from bot.lookups import BookView, CustomerCard, Denied, NotFoundCard, PortfolioView
from bot.services import Services
from bot.trust import Refused, TextView
from scoring import Good

_STYLE = {Kind.ERROR: "red", Kind.REASK: "yellow", Kind.ECHO: "green", Kind.SAVED: "bold green",
          Kind.INFO: "cyan", Kind.CONFIRM: "yellow"}
_END = {"quit", "exit", ":q"}
_YES = {"yes", "y", "create", "ok", "sure"}


class TerminalChat:
    """A read–eval–print loop over the conversation engine."""

    def __init__(self, services: Services, actor: Actor, console: Console,
                 read: Callable[[str], str]) -> None:
        self.sv = services
        # each chat is a place of its own: a grading open in two terminals hears, at its
        # next step, what the other one changed (or that it saved or discarded it)
        self.actor = replace(actor, place=f"cli:{uuid.uuid4().hex[:12]}")
        self.console = console
        self.read = read
        self.session_id: int | None = None
        self.options: list[str] = []  # option values by number, from the last prompt
        self.lettered: dict[str, str] = {}  # option values by letter, from earlier prompts

    def unfinished(self) -> list[tuple[int, str]]:
        """This rep's gradings still open or paused, newest first: (session id, customer)."""
        return self.sv.threads.active_of(self.actor.person_id)

    def run(self, first_customer: str | None = None) -> None:
        c = self.console
        c.print("[bold]gradebot[/bold] — grade a customer in a few minutes. "
                "Type [bold]help[/bold] at any time, [bold]quit[/bold] to leave.")
        left = self.unfinished()
        if left and first_customer is None:
            c.print(f"Unfinished: {escape(', '.join(name for _, name in left))}. Type "
                    f"[bold]resume[/bold] to continue {escape(left[0][1])}, or a customer name.")
        pending = first_customer
        while True:
            try:
                if self.session_id is None and not self.options:
                    line = pending if pending is not None else self.read(
                        "\nWhich customer shall we grade? (name [quarterly|annual|strategic]) ")
                    pending = None
                    if line.strip().lower() in _END:
                        return
                    if line.strip().lower() == "resume":  # the newest unfinished grading
                        self.resume_newest()
                        continue
                    start = parse_grade_args(without_grade(line))
                    if start is None:
                        c.print("Type a customer name, e.g. [bold]Acme annual[/bold], or "
                                "[bold]strategic[/bold] to review your whole book.")
                        continue
                    self.show(self.sv.conversation.handle(self.actor, start))
                    continue
                line = self.read("> ")
            except (EOFError, KeyboardInterrupt):
                c.print("\nBye. Anything unfinished is kept: run gradebot chat to resume.")
                return
            if line.strip().lower() in _END:
                c.print("Bye. Anything unfinished is kept: run gradebot chat to resume.")
                return
            if self.session_id is None and line.strip().lower() == "resume":
                self.resume_newest()  # after a grading ended (here or elsewhere)
                continue
            self.show(self.sv.conversation.handle(self.actor, self.to_input(line),
                                                  session_id=self.session_id))

    def resume_newest(self) -> None:
        left = self.unfinished()
        if not left:
            self.console.print("Nothing to resume: type a customer name.")
            return
        self.show(self.sv.conversation.handle(self.actor, Text("resume"),
                                              session_id=left[0][0]))

    def to_input(self, line: str) -> Choose | Text | Start:
        t = line.strip()
        n = whole_number(t, digits=4)  # (length-checked: int() of 5,000 digits raises)
        if n is not None and self.options and 1 <= n <= len(self.options):
            return Choose(self.options[n - 1])
        if t.lower() in self.lettered:
            return Choose(self.lettered[t.lower()])
        if self.session_id is None:  # at "Create it …?": yes creates; a name starts anew
            only_create = len(self.options) == 1 and isinstance(
                opts.decode_or_none(self.options[0]), opts.Create)
            if only_create and t.lower() in _YES:  # (with suggestions, "yes" is ambiguous)
                return Choose(self.options[0])
            start = parse_grade_args(without_grade(t))
            if start is not None:
                return start
        return Text(t)

    # ------------------------------------------------------------------ rendering
    def show(self, prompts: list[Prompt]) -> None:
        for_others = [p for p in prompts
                      if p.for_person_id not in (None, self.actor.person_id)]
        for p in for_others:  # they see it in their own chat (gradebot chat --as them)
            _, who = self.sv.person_actor(p.for_person_id)  # type: ignore[arg-type]
            self.console.print(f"[dim]→ for {escape(who.display_name)}: "
                               f"{escape(p.text)}[/dim]")
        prompts = [p for p in prompts if p not in for_others]
        listing = [i for i, p in enumerate(prompts) if p.choices or p.kind is Kind.REVIEW]
        self.lettered = {}
        for i, p in enumerate(prompts):
            if p.session_id is not None:
                self.session_id = p.session_id
            self.render(p, lettered=bool(listing) and i != listing[-1])
        last = prompts[-1] if prompts else None
        if last is not None and last.closed:
            self.session_id = None  # the grading is over here; its way on stays numbered
            self.options = [o.value for o in last.choices]

    def render(self, p: Prompt, lettered: bool = False) -> None:
        c = self.console
        style = _STYLE.get(p.kind)
        if p.kind is Kind.REVIEW and p.review is not None:
            self.render_review(p)
        elif p.kind is Kind.QUESTION and p.progress is not None:
            c.print(f"\n[dim]{p.progress.text}[/dim]  [bold]{escape(p.text)}[/bold]")
            if p.detail:
                c.print(f"[dim]{escape(p.detail)}[/dim]")
        elif style:
            c.print(f"[{style}]{escape(p.text)}[/{style}]")
            if p.detail:
                c.print(f"[dim]{escape(p.detail)}[/dim]")
        else:
            c.print(escape(p.text))
            if p.detail:
                c.print(f"[dim]{escape(p.detail)}[/dim]")
        if (p.choices or p.kind in (Kind.REVIEW,)) and lettered:
            for o in p.choices or p.actions:  # not the live list: letters, never numbers
                key = chr(ord("a") + len(self.lettered))
                if key > "z":
                    break
                self.lettered[key] = o.value
                c.print(f"  [bold]{key}[/bold]  {escape(o.label)}")
        elif p.choices or p.kind in (Kind.REVIEW,):
            opts = p.choices or p.actions
            self.options = [o.value for o in opts]
            for i, o in enumerate(opts, 1):
                hint = " [dim](or type change N)[/dim]" if o.menu else ""
                c.print(f"  [bold]{i}[/bold]  {escape(o.label)}{hint}")
        elif p.kind is Kind.QUESTION:
            self.options = []
        if p.kind is Kind.QUESTION:
            words = " · ".join(o.label.lower() for o in p.actions)
            c.print(f"[dim]   (or type an answer · {words} · help)[/dim]")

    def render_review(self, p: Prompt) -> None:
        r = p.review
        assert r is not None
        c = self.console
        c.print(f"\n[bold]{escape(p.text)}[/bold]")
        if r.change:
            c.print(f"Change since last grade: {escape(r.change)}")
        t = Table(title="Dimensions", show_header=True)
        t.add_column("Dimension")
        t.add_column("Score", justify="right")
        for d in r.dimensions:
            t.add_row(escape(d.name), "–" if d.score is None else f"{d.score:g}")
        c.print(t)
        for label, items in (("Lifted by", r.lifted_by), ("Held back by", r.held_back_by)):
            if items:
                c.print(f"[bold]{label}:[/bold] " + escape("; ".join(items)))
        for cap in r.caps:
            c.print(f"[yellow]{escape(cap)}[/yellow]")
        for line in r.status_lines:
            c.print(f"[yellow]{escape(line)}[/yellow]")
        if r.summary:
            c.print(f"[italic]{escape(r.summary)}[/italic]")
        c.print("[dim]Answers:[/dim] " + escape(", ".join(
            f"{a.number}. {a.label}: {a.answer or 'skipped'}" for a in r.answers)))
        c.print("[dim]Type save, change N, or discard — or pick:[/dim]")


def without_grade(line: str) -> str:
    """``grade Acme second-opinion dana`` as typed by habit from Slack and Teams: the leading
    ``grade`` is dropped when what follows asks a second opinion (a customer may be called
    "Grade A Foods", so it stays otherwise)."""
    head, _, rest = line.strip().partition(" ")
    asked = parse_grade_args(rest) if head.lower() == "grade" else None
    return rest if asked is not None and asked.second_opinion is not None else line


def render_text_view(console: Console, view: TextView | Refused | Denied | NotFoundCard
                     ) -> None:
    """An override set, its history, the optimism view (or the refusal)."""
    if isinstance(view, Refused | Denied | NotFoundCard):
        console.print(f"[red]{escape(view.message)}[/red]")
        return
    console.print(f"[bold]{escape(view.title)}[/bold]")
    for line in view.lines:
        console.print(escape(line))


# ---------------------------------------------------------------------- look-ups
def render_card(console: Console, card: CustomerCard | NotFoundCard | Denied,
                dimension_names: dict[str, str] | None = None) -> None:
    """A customer's card, in the same words as Slack's and Teams' (``CustomerCard.headline``,
    the worksheet's dimension names)."""
    names = dimension_names or {}
    if isinstance(card, Denied):
        console.print(f"[red]{escape(card.message)}[/red]")
        return
    if isinstance(card, NotFoundCard):
        console.print(escape(card.message))
        return
    console.print(f"[bold]{escape(card.name)}[/bold]  owner: {escape(card.owner or '—')}")
    for line in card.trust:  # override (beside the model's grade), second opinions
        console.print(f"[yellow]{escape(line)}[/yellow]")
    if card.letter is None:
        console.print("Not graded yet. Run: gradebot chat, then grade it.")
        return
    console.print(f"[bold]{escape(card.headline)}[/bold]")
    width = max((len(names.get(k, k)) for k in card.dimensions), default=10)
    for key, score in card.dimensions.items():
        bar = "█" * int((score or 0) / 10)
        console.print(f"  {escape(names.get(key, key)):<{width}} {bar:<10} "
                      f"{'–' if score is None else f'{score:g}'}")
    for line in card.explanation:
        console.print(f"  [dim]{escape(line)}[/dim]")
    graded = card.graded_at.date().isoformat() if card.graded_at else "?"
    due = card.due_on.isoformat() if card.due_on else "now"
    console.print(f"Graded {graded} by {escape(card.graded_by or '?')} ({card.cadence}); "
                  f"next due {due}.")


def render_book(console: Console, view: BookView | Denied) -> None:
    if isinstance(view, Denied):
        console.print(f"[red]{escape(view.message)}[/red]")
        return
    t = Table(title=f"{escape(view.owner)}'s book" + (" (overdue)" if view.only_overdue else ""))
    for col in ("Customer", "Grade", "Score", "Recommendation", "Due"):
        t.add_column(col)
    for e in view.entries:
        letter = (e.letter + (" (provisional)" if e.provisional else "")) if e.letter else "–"
        t.add_row(escape(e.name), letter, "–" if e.total is None else f"{e.total:g}",
                  (e.recommendation or "").replace("_", " "),
                  escape(view.due_text(e).replace("⚠️", "⚠")) or "—")
    console.print(t if view.entries else "Nothing to show.")


def render_portfolio(console: Console, view: PortfolioView | Denied) -> None:
    if isinstance(view, Denied):
        console.print(f"[red]{escape(view.message)}[/red]")
        return
    p = view.portfolio
    console.print(f"[bold]Portfolio of {escape(view.owner)}[/bold]: {plural(p.customers)}, "
                  f"{p.graded} graded.")
    t = Table()
    for col in ("Good", "Share", "Target", "Gap"):
        t.add_column(col)
    for g in (Good.US, Good.SKILLS, Good.OTHERS):
        t.add_row(g.label, f"{p.shares[g]:.0f}%", f"{p.target.share(g):.0f}%",
                  f"{p.gap(g):+.0f}")
    console.print(t)
    console.print("Grades: " + ", ".join(f"{k} {v}" for k, v in p.distribution.items()))
    for w in p.warnings:
        console.print(f"[yellow]⚠ {escape(w.message)}[/yellow]")
    if p.in_balance and p.graded:
        console.print("[green]The three goods are in balance.[/green]")
    if p.overdue:
        console.print("Due for grading: " + escape(", ".join(e.name for e in p.overdue[:10]))
                      + (" …" if len(p.overdue) > 10 else ""))
    for m in p.movers:
        console.print(f"Moved: {escape(m.name)} {m.previous_total:g} → {m.total:g} "
                      f"({m.delta:+.1f})")

