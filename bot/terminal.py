"""The terminal channel: the same engine prompts, rendered with rich.

Choices are numbered; typing a number picks one, anything else goes to the engine as text
(answers in words, or commands such as back, skip, why, save). Only the last choice list of a
reply is numbered; earlier ones in the same reply (a "did you mean" for another question) are
lettered a, b, c …, so a number always answers the question on screen, never an older list.
Everything users typed is escaped so a customer called ``[bold]x`` prints as typed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot import display
from bot.display import Facts, Listing, Part, Tone
from bot.engine import Choose, Kind, Prompt, Start, Text, help, parse_grade_args
from bot.engine import options as opts
from bot.engine.help import HelpLine, parse_command
from bot.engine.inputs import whole_number
from bot.look_up import answered, asked, render
from bot.lookups import BookView, CustomerCard, Denied, NotFoundCard, PortfolioView
from bot.trust import OverrideResult, Refused, TextView

if TYPE_CHECKING:  # (the chat's types: a look-up renders without loading the engine)
    from bot.calibration_card import CalibrationView
    from bot.engine import Actor
    from bot.services import Person, Services

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
        self.labels: list[str] = []  # their labels ("0" … "10" on a 0–10 question)
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
                    if self.command(line):
                        continue
                    start = parse_grade_args(line)
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
            if self.session_id is None and self.command(line):
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
        if n is not None and t in self.labels:  # "8" on a 0–10 scale is 8, not choice 8
            return Choose(self.options[self.labels.index(t)])
        if n is not None and self.options and 1 <= n <= len(self.options):
            return Choose(self.options[n - 1])
        if t.lower() in self.lettered:
            return Choose(self.lettered[t.lower()])
        if self.session_id is None:  # at "Create it …?": yes creates; a name starts anew
            only_create = len(self.options) == 1 and isinstance(
                opts.decode_or_none(self.options[0]), opts.Create)
            if only_create and t.lower() in _YES:  # (with suggestions, "yes" is ambiguous)
                return Choose(self.options[0])
            start = parse_grade_args(t)
            if start is not None:
                return start
        return Text(t)

    # ------------------------------------------------------------------ commands
    def command(self, line: str) -> bool:
        """Run ``line`` when it is one of the chat channels' commands (``bot.engine.help``'s
        table, read as Teams reads it: ``grade Acme``, ``customer Acme``, ``grades``,
        ``portfolio``, ``help``); False when it is none (a customer name to grade). Only
        with no grading open: during one, these words are answers."""
        cmd = parse_command(line)
        if cmd is None:
            return False
        word, rest = cmd
        help_for = help.help_asked(word, rest)
        if help_for is not None or (word == "customer" and not rest):
            show_help(self.console, help.command_help(help_for or word))
        elif word == "help":
            show_help(self.console, help.overview(), NO_GRADING)
        elif word == "grade":
            start = parse_grade_args(rest)
            if start is None:
                show_help(self.console, help.command_help("grade"))
            else:
                self.show(self.sv.conversation.handle(self.actor, start))
        else:
            _, person = self.sv.person_actor(self.actor.person_id)
            look_up(self.console, self.sv, person, word, rest)
        return True

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
            self.labels = [o.label for o in last.choices]

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
            self.labels = [o.label for o in opts]
            for i, o in enumerate(opts, 1):
                hint = " [dim](or type change N)[/dim]" if o.menu else ""
                c.print(f"  [bold]{i}[/bold]  {escape(o.label)}{hint}")
        elif p.kind is Kind.QUESTION:
            self.options, self.labels = [], []
        if p.kind is Kind.QUESTION:
            words = " · ".join(o.label.lower() for o in p.actions)
            c.print(f"[dim]   (or type an answer · {words} · help)[/dim]")

    def render_review(self, p: Prompt) -> None:
        r = p.review
        assert r is not None
        self.console.print(f"\n[bold]{escape(r.headline)}[/bold]")
        self.console.print(f"[bold]{escape(p.text)}[/bold]")
        show_parts(self.console, display.review_parts(r))
        self.console.print("[dim]Type save, change N, or discard — or pick:[/dim]")


NO_GRADING = ("No grading in progress. Type a customer's name to grade it (Acme, Acme annual, "
              "strategic), or one of these:")


def show_help(console: Console, lines: Sequence[HelpLine], lead: str = "") -> None:
    """Help lines (``bot.engine.help``, the words as Teams has them): usage, then what."""
    if lead:
        console.print(escape(lead))
    for h in lines:
        console.print(f"  [bold]{escape(h.usage)}[/bold] — {escape(h.what)}")


def look_up(console: Console, sv: Services, person: Person, word: str, rest: str) -> bool:
    """``customer …``, ``grades …`` or ``portfolio …`` as the slash commands answer them
    (``bot.look_up`` decides which); False when the answer is a refusal or nothing found
    (the CLI exits 1 then), or when the words ask no look-up (their help is shown)."""
    ask = asked(word, rest)
    if ask is None:
        show_help(console, help.command_help(word))
        return False
    answer = sv.look_up(person, ask, rest)
    render(answer, TerminalAnswers(console, sv.dimension_names))
    return answered(answer)


@dataclass(frozen=True)
class TerminalAnswers:
    """Each kind of look-up answer as console lines (``bot.look_up.Renders``)."""

    console: Console
    dimension_names: dict[str, str]

    def card(self, card: CustomerCard | NotFoundCard) -> None:
        render_card(self.console, card, self.dimension_names)

    def book(self, view: BookView) -> None:
        render_book(self.console, view)

    def portfolio(self, view: PortfolioView) -> None:
        render_portfolio(self.console, view)

    def lines(self, view: TextView | Refused | Denied) -> None:
        render_text_view(self.console, view)

    def override(self, result: OverrideResult) -> None:
        render_text_view(self.console, result.view)
        for who, said in result.notices:  # (the terminal has no one else's chat to write to)
            self.console.print(f"[dim]→ for {escape(who.display_name)}: {escape(said)}[/dim]")

    def calibration(self, view: CalibrationView) -> None:
        """The calibration card's words (its chart: ``gradebot calibrate``)."""
        self.console.print(styled(view.title, Tone.TITLE))
        show_parts(self.console, view.parts())


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
_TONE = {Tone.TITLE: "bold", Tone.STRONG: "bold", Tone.SUBTLE: "dim", Tone.WARN: "yellow",
         Tone.GOOD: "green"}


def styled(t: str, tone: Tone = Tone.PLAIN) -> str:
    """A display line as rich markup: escaped, in its tone's style (a narrow ⚠ for the
    wide emoji, which terminals draw in one cell and so overlap)."""
    t = escape(t.replace("⚠️", "⚠"))
    style = _TONE.get(tone)
    return f"[{style}]{t}[/{style}]" if style else t


def show_parts(console: Console, parts: Sequence[Part]) -> None:
    """Display parts, one line each; facts as aligned label / value rows."""
    for part in parts:
        if isinstance(part, Facts):
            width = max((len(f.label) for f in part.facts), default=0)
            for f in part.facts:
                console.print(f"  {escape(f.label):<{width}}  {escape(f.value)}")
        elif isinstance(part, Listing):
            for line in part.lines:
                console.print(f"  {styled(line)}")
        else:
            console.print(styled(part.text, part.tone))


def render_card(console: Console, card: CustomerCard | NotFoundCard | Denied,
                dimension_names: dict[str, str] | None = None) -> None:
    """A customer's card, in the same lines as Slack's and Teams' (``bot.display``)."""
    if isinstance(card, Denied):
        console.print(f"[red]{escape(card.message)}[/red]")
        return
    if isinstance(card, NotFoundCard):
        console.print(escape(card.message))
        return
    console.print(styled(card.name, Tone.TITLE))
    show_parts(console, display.card_parts(card, dimension_names))
    if card.letter is None:  # (what the Grade button is in the chat channels)
        console.print("Run gradebot chat to grade it.")


def render_book(console: Console, view: BookView | Denied) -> None:
    if isinstance(view, Denied):
        console.print(f"[red]{escape(view.message)}[/red]")
        return
    rows, _ = display.book_rows(view)
    t = Table(title=escape(display.book_title(view)))
    for col in display.BOOK_COLUMNS:
        t.add_column(col)
    for r in rows:
        t.add_row(*(styled(c, r.tone if i == 3 else Tone.PLAIN) for i, c in enumerate(r.cells)))
    console.print(t if rows else display.NOTHING)


def render_portfolio(console: Console, view: PortfolioView | Denied) -> None:
    if isinstance(view, Denied):
        console.print(f"[red]{escape(view.message)}[/red]")
        return
    console.print(styled(display.portfolio_title(view), Tone.TITLE))
    show_parts(console, display.portfolio_parts(view))
