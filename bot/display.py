"""What every channel shows of a look-up, a review and a reminder, as neutral display lines.

The engine decides, the channels translate: the words, the order of the lines, how many of a
list are shown and the "…and 12 more" after them are decided here, once, so that Slack Block
Kit, Teams Adaptive Cards and the terminal say the same thing. A renderer only *styles* what
it gets: a ``Line`` by its ``Tone`` (a header, a bold line, a warning, a footnote), a ``Facts``
group as fields, a FactSet or aligned rows, a ``Row`` as a line with a Grade button. The
texts are plain (never markup): each renderer escapes them its own way.

A card is a list of parts (``card_parts``): a feature that adds something to the customer
card (a second opinion, an override, an outcome) adds one ``Line`` there and every channel
shows it. docs/display.md has the catalogue and the staleness rule.

Runtime imports are only ``scoring`` (the engine's prompt types, look-ups and reminder
messages are read by attribute), so the engine may use the wording helpers too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from scoring import Good

if TYPE_CHECKING:
    from bot.engine.prompts import Review
    from bot.lookups import BookView, CustomerCard, PortfolioView
    from bot.notify import DueItem, ReminderMessage
    from scoring import BookEntry

# ---------------------------------------------------------------------- limits, one place
EXPLANATION_LINES = 5  # reasons under a customer card
MOVERS = 5  # biggest movers under a portfolio
NAMES = 15  # names in one "Due for grading: …" / "Stale grades: …" line
HOME_DUE = 20  # due customers with a Grade button in the App Home
HOME_RECENT = 5  # recent grades in the App Home
HOME_WARNINGS = 5  # balance warnings in the App Home
BOOK_ROWS_SLACK = 40  # rows per /grades message: 40 sections + title + more ≤ 50 blocks
BOOK_ROWS_TEAMS = 25  # rows per look-up card (a card must stay under ~28 KB)
DUE_PAGE_SLACK = 40  # due customers per reminder message (50 blocks)
DUE_PAGE_TEAMS = 25  # due customers per reminder card
BAR_WIDTH = 10
GOODS = (Good.US, Good.SKILLS, Good.OTHERS)  # the order the three goods are always listed in


class Tone(StrEnum):
    """How a line is meant, not how it looks: each renderer maps a tone to its own style."""

    TITLE = "title"  # the card's heading
    STRONG = "strong"  # the headline (letter, score, recommendation)
    PLAIN = "plain"
    SUBTLE = "subtle"  # footers, reasons, "…and 12 more"
    WARN = "warn"  # stale grades, caps, balance warnings, due now
    GOOD = "good"  # the book is in balance


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    tone: Tone = Tone.PLAIN


@dataclass(frozen=True, slots=True)
class Fact:
    """A labelled value: a dimension's score and bar, a good's share against its target."""

    label: str
    value: str

    @property
    def text(self) -> str:
        return f"{self.label}: {self.value}"


@dataclass(frozen=True, slots=True)
class Facts:
    facts: tuple[Fact, ...]


@dataclass(frozen=True, slots=True)
class Listing:
    """Lines that belong together (a review's answers): one block in Slack, one small
    TextBlock each in Teams (a newline does not break a TextBlock), one line each on a
    terminal."""

    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Row:
    """A customer in a list, with what a Grade button needs; ``cells`` are the columns of
    ``BOOK_COLUMNS`` for a table (the terminal), ``text`` the same as one line."""

    customer_id: int
    text: str
    cells: tuple[str, ...] = ()
    tone: Tone = Tone.PLAIN


Part = Line | Facts | Listing
BOOK_COLUMNS = ("Customer", "Grade", "Recommendation", "Due")


# ---------------------------------------------------------------------- words
# the mark before a prompt of each kind (``bot.engine.Kind`` values) in the chat channels;
# the terminal colours these kinds instead
PROMPT_ICONS = {
    "error": "⚠️ ",
    "reask": "🤔 ",
    "echo": "✅ ",
    "saved": "🎉 ",
    "confirm": "❓ ",
    "summary": "🧭 ",
}


def icon(kind: str) -> str:
    return PROMPT_ICONS.get(str(kind), "")


def bar(score: float | None, width: int = BAR_WIDTH) -> str:
    """``███████░░░`` for 70: the one bar of a score (0–100) every channel draws."""
    n = max(0, min(width, round((score or 0) / 100 * width)))
    return "█" * n + "░" * (width - n)


def score_value(score: float | None) -> str:
    return "–" if score is None else f"{score:g} {bar(score)}"


def marks(provisional: bool = False, coverage: float | None = None, stale: bool = False) -> str:
    """`` (provisional, 37% answered; stale)``: what qualifies a grade, wherever it is shown,
    in these words only (empty for a full, current grade)."""
    out: list[str] = []
    if provisional:
        out.append(
            f"provisional, {coverage:.0%} answered" if coverage is not None else "provisional"
        )
    if stale:
        out.append("stale")
    return f" ({'; '.join(out)})" if out else ""


def grade_words(
    letter: str | None,
    total: float | None,
    provisional: bool = False,
    coverage: float | None = None,
    stale: bool = False,
) -> str | None:
    """ "B 72", "B 72 (provisional, 80% answered)", "B 72 (stale)"; None when not graded."""
    if letter is None or total is None:
        return None
    return f"{letter} {total:g}{marks(provisional, coverage, stale)}"


def entry_grade(e: BookEntry) -> str | None:
    return grade_words(e.letter, e.total, e.provisional, e.coverage, e.stale)


def recommendation_words(rec: str | None) -> str:
    return (rec or "").replace("_", " ")


def stale_line(graded_on: date | None, days: int) -> Line:
    """Under a stale grade: how old it is against the worksheet's validity."""
    when = graded_on.isoformat() if graded_on else "long ago"
    return Line(
        f"⚠️ Stale: graded {when}, more than {days} days ago. Re-grade before relying on it.",
        Tone.WARN,
    )


def more(hidden: int, hint: str = "") -> str:
    """ "…and 12 more." (with "Try /grades overdue." when a ``hint`` command is given)."""
    return f"…and {hidden} more." + (f" Try {hint}." if hint else "")


def names_line(label: str, names: Sequence[str], limit: int = NAMES) -> str:
    """ "Due for grading: Acme, Beta …and 3 more." — at most ``limit`` names."""
    shown = ", ".join(names[:limit])
    rest = len(names) - limit
    return f"{label}: {shown}" + (f" {more(rest)}" if rest > 0 else "")


T = TypeVar("T")


def clipped(
    items: Sequence[T], limit: int | None, hint: str = ""
) -> tuple[Sequence[T], Line | None]:
    """The first ``limit`` items and the "…and N more" line for the rest (None: all)."""
    if limit is None or len(items) <= limit:
        return items, None
    return items[:limit], Line(more(len(items) - limit, hint), Tone.SUBTLE)


# ---------------------------------------------------------------------- customer card
def card_parts(card: CustomerCard, dimension_names: dict[str, str] | None = None) -> list[Part]:
    """The customer card below its title (``card.name``), in order. To add a line to every
    channel's card, add it here."""
    names = dimension_names or {}
    # beside the grade of record: an override (with the model's grade), second opinions
    # and the disagreement flag (bot.trust.card_trust, docs/opinions.md)
    trust = [Line(x, Tone.WARN if x.startswith("⚠️") else Tone.PLAIN) for x in card.trust]
    if card.letter is None:
        return [Line("Not graded yet."), *trust]
    parts: list[Part] = [*trust, Line(card.headline, Tone.STRONG)]
    if card.stale:
        parts.append(stale_line(card.graded_on, card.stale_after_days))
    if card.dimensions:
        parts.append(
            Facts(tuple(Fact(names.get(k, k), score_value(v)) for k, v in card.dimensions.items()))
        )
    if card.summary:
        parts.append(Line(card.summary))
    parts += [Line(x, Tone.SUBTLE) for x in card.explanation[:EXPLANATION_LINES]]
    parts.append(Line(card_footer(card), Tone.SUBTLE))
    return parts


def card_footer(card: CustomerCard) -> str:
    graded = card.graded_on.isoformat() if card.graded_on else "?"
    due = card.due_on.isoformat() if card.due_on else "now"
    return (
        f"Graded {graded} by {card.graded_by or '?'} ({card.cadence}) · Next due {due} · "
        f"Owner: {card.owner or '—'}"
    )


# ---------------------------------------------------------------------- a book
def book_title(view: BookView) -> str:
    return f"{view.owner}'s book" + (" — overdue" if view.only_overdue else "")


def due_words(view: BookView, e: BookEntry) -> str:
    """When a customer is due: a customer nobody has graded yet (a fresh import) is "never
    graded" — due, but not late for anything."""
    if e.letter is None:
        return "never graded"
    if view.is_overdue(e):
        return "⚠️ due now"
    return f"due {e.due_on.isoformat()}" if e.due_on else ""


def book_row(view: BookView, e: BookEntry) -> Row:
    """One customer of a book: "B 72 · Acme · maintain · due 2027-01-01"."""
    due = due_words(view, e)
    grade = entry_grade(e)
    rec = recommendation_words(e.recommendation)
    over = view.overrides.get(e.customer_id, "")  # an override in force, beside the model's
    text = (
        " · ".join(x for x in (e.name, due, over) if x)
        if grade is None
        else " · ".join(x for x in (grade, e.name, rec, over, due) if x)
    )
    tone = Tone.WARN if view.is_overdue(e) and e.letter is not None else Tone.PLAIN
    return Row(e.customer_id, text, (e.name, grade or "–", rec or "—", due or "—"), tone)


def book_rows(
    view: BookView, limit: int | None = None, hint: str = ""
) -> tuple[list[Row], Line | None]:
    """The book's rows (at most ``limit``) and the "…and N more" line for the rest."""
    shown, rest = clipped(view.entries, limit, hint)
    return [book_row(view, e) for e in shown], rest


NOTHING = "Nothing to show."


# ---------------------------------------------------------------------- a portfolio
def portfolio_title(view: PortfolioView) -> str:
    return f"Portfolio — {view.owner}"


def balance_facts(view: PortfolioView, *, detail: bool = True) -> Facts:
    """Each good's share against its target (with the gap and a bar when ``detail``)."""
    p = view.portfolio
    return Facts(
        tuple(
            Fact(
                g.label,
                f"{p.shares[g]:.0f}% (target {p.target.share(g):.0f}%"
                + (f", {p.gap(g):+.0f}) {bar(p.shares[g])}" if detail else ")"),
            )
            for g in GOODS
        )
    )


def portfolio_parts(view: PortfolioView) -> list[Part]:
    """The portfolio below its title: balance, letters, warnings, stale, due, movers."""
    from bot.engine.prompts import plural  # (here: prompts imports this module)

    p = view.portfolio
    parts: list[Part] = [
        Line(f"{plural(p.customers)}, {p.graded} graded."),
        balance_facts(view),
        Line("Grades: " + ", ".join(f"{k} {v}" for k, v in p.distribution.items()), Tone.SUBTLE),
    ]
    parts += [Line(f"⚠️ {w.message}", Tone.WARN) for w in p.warnings]
    if p.in_balance and p.graded:
        parts.append(Line("✅ The three goods are in balance.", Tone.GOOD))
    if p.stale:
        parts.append(
            Line(
                names_line(
                    f"⚠️ Stale grades (older than {view.stale_after_days} days)",
                    [e.name for e in p.stale],
                ),
                Tone.WARN,
            )
        )
    if p.overdue:
        parts.append(Line(names_line("Due for grading", [e.name for e in p.overdue]), Tone.SUBTLE))
    parts += [
        Line(f"Moved: {m.name} {m.previous_total:g} → {m.total:g} ({m.delta:+.1f})", Tone.SUBTLE)
        for m in p.movers[:MOVERS]
    ]
    return parts


# ---------------------------------------------------------------------- the App Home
def home_due(view: BookView) -> tuple[str, list[Row], Line | None]:
    """("Due for grading (3)", the due customers' rows, "…and N more" or None)."""
    due = [e for e in view.entries if view.is_overdue(e)]
    shown, rest = clipped(due, HOME_DUE, "/grades overdue")
    return f"Due for grading ({len(due)})", [book_row(view, e) for e in shown], rest


NOTHING_DUE = "Nothing is due. Nice work."
NO_GRADES = "No grades yet. Try /grade <customer>."


def recent_lines(view: BookView) -> list[str]:
    """The latest grades of a book, newest first: "A 90 · Acme · 2026-07-21"."""
    dated = [(e, e.graded_on) for e in view.entries if e.graded_on is not None]
    recent = sorted(dated, key=lambda x: x[1], reverse=True)[:HOME_RECENT]
    return [" · ".join(x for x in (entry_grade(e), e.name, day.isoformat(),
                                    view.overrides.get(e.customer_id)) if x)
            for e, day in recent]


def home_warnings(view: PortfolioView) -> list[Line]:
    return [Line(f"⚠️ {w.message}", Tone.WARN) for w in view.portfolio.warnings[:HOME_WARNINGS]]


# ---------------------------------------------------------------------- a review
def review_parts(r: Review) -> list[Part]:
    """A grade under review (or just saved), below its headline and the prompt's text."""
    parts: list[Part] = []
    if r.change:
        parts.append(Line(f"Since last grade: {r.change}", Tone.SUBTLE))
    if r.dimensions:
        parts.append(Facts(tuple(Fact(d.name, score_value(d.score)) for d in r.dimensions)))
    if r.summary:
        parts.append(Line(r.summary))
    if r.lifted_by:
        parts.append(Line("Lifted by: " + "; ".join(r.lifted_by)))
    if r.held_back_by:
        parts.append(Line("Held back by: " + "; ".join(r.held_back_by)))
    parts += [Line(f"⚠️ {cap}", Tone.WARN) for cap in r.caps]
    parts += [Line(x, Tone.SUBTLE) for x in r.status_lines]
    parts.append(
        Listing(tuple(f"{a.number}. {a.label}: {a.answer or 'skipped'}" for a in r.answers))
    )
    return parts


# ---------------------------------------------------------------------- reminders
def due_line(it: DueItem) -> str:
    """A customer in a reminder: "Acme · B · last graded 2026-10-01" ("Acme · B (stale) ·
    …" once the grade is older than the worksheet's validity)."""
    if it.letter and it.last_graded:
        over = f" · {it.override.note}" if it.override else ""  # the model's beside it
        return (f"{it.name} · {it.letter}{marks(stale=it.stale)}{over} · last graded "
                f"{it.last_graded}")
    if it.last_graded:
        return f"{it.name} · last graded {it.last_graded}{marks(stale=it.stale)}"
    return f"{it.name} · never graded"


def due_pages(msg: ReminderMessage, page: int) -> list[tuple[Line | None, list[Row]]]:
    """The due list in pages of ``page`` customers: each with its "Due customers 41–80 of
    90" note (None when one page holds them all) and its rows (at least one page)."""
    starts = list(range(0, len(msg.items), page)) or [0]
    out: list[tuple[Line | None, list[Row]]] = []
    for start in starts:
        chunk = msg.items[start : start + page]
        note = (
            Line(f"Due customers {start + 1}–{start + len(chunk)} of {len(msg.items)}", Tone.SUBTLE)
            if len(msg.items) > page
            else None
        )
        out.append((note, [Row(it.customer_id, due_line(it)) for it in chunk]))
    return out
