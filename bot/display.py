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
    from scoring.calibration import Calibration, LetterRow, QuestionSignal, WeightSuggestion

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
CALIBRATION_QUESTIONS = 8  # questions that carried the signal, strongest first
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


# ---------------------------------------------------------------------- outcomes
# what each outcome kind is called on a menu or a button (storage.models.OutcomeKind values)
OUTCOME_LABELS = {
    "renewed": "Renewed",
    "expanded": "Expanded",
    "churned": "Churned",
    "defaulted_or_paid_late": "Defaulted or paid late",
    "referred": "Referred a customer",
    "exited_by_us": "Exited by us",
}
RECORD_OUTCOME = "Record outcome"  # the card's menu
OUTCOME_DAY = "Happened on (default today)"  # the date input beside it
RENEWAL_CHOICES = ("renewed", "expanded", "churned")  # the renewal question's buttons
PICK_OUTCOME = "Pick what happened first, then Record outcome."  # a tap with no pick


def outcome_words(kind: str) -> str:
    """A kind as it reads in a sentence: "renewed", "defaulted or paid late"."""
    return kind.replace("_", " ")


def outcome_recorded(customer: str, kind: str, day: date, created: bool) -> str:
    """The confirmation line, worded as the CLI's (``gradebot outcome add``)."""
    said = "Recorded" if created else "Already recorded"
    return f"✓ {said}: {customer} {outcome_words(kind)} on {day.isoformat()}."


def not_yet_label(days: int) -> str:
    return f"Not yet (ask in {days} days)"


def renewal_question(customer: str, renewal_on: date) -> str:
    return (
        f"Did {customer} renew? Its renewal date was {renewal_on.isoformat()}. Tap what "
        "happened and I'll record it with today's date (another day: Record outcome on "
        "its customer card)."
    )


def renewal_later(customer: str, on: date) -> str:
    return f"OK — I'll ask about {customer}'s renewal again on {on.isoformat()}."


# ---------------------------------------------------------------------- calibration
# ``gradebot calibrate`` (rich tables) and the admins' card in Slack and Teams say the same
# sentences and format the same figures: the words are here, the tables and cards only lay
# them out. Every text is plain; question and dimension names come from the worksheet and
# are escaped by each renderer like anything else.
CALIBRATION_TITLE = "Calibration: did the grades predict what happened?"
CALIBRATION_ADMINS_ONLY = "The calibration card is for admins."
CALIBRATION_CAPTION = (
    "Calibration chart: what happened to each letter's customers, and how well the churn risk "
    "the total implies matches what happened."
)
CALIBRATION_CHART_ALT = "Calibration chart: outcome shares per letter, and the reliability curve"
KIND_WORDS = {
    "renewed": "renewed",
    "expanded": "expanded",
    "churned": "churned",
    "defaulted_or_paid_late": "defaulted or paid late",
    "referred": "referred",
    "exited_by_us": "exited by us",
}
WEIGHTS_NOTE = (
    "Suggested weights add up to today's total; ↑/↓: the interval lies above/below today's "
    "weight, ≈: it includes it."
)
QUESTIONS_TITLE = "Questions that carried the signal (AUC of each answer alone)"
BACKWARDS = "backwards: better answers churned more"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def calibration_summary(report: Calibration, recorded: int, ungraded: int) -> list[str]:
    """The headline figures in plain sentences: what was used, AUC, Brier, the model."""
    lo, hi = report.auc_interval.low, report.auc_interval.high
    return [
        f"{report.outcomes:,} outcomes with a grade made at least {report.lead_days} days "
        f"before ({report.churned:,} churned, {report.stayed:,} renewed or expanded); "
        f"{ungraded:,} of {recorded:,} recorded outcomes had no grade that early.",
        f"Separating churners: AUC {report.auc:.2f} (95% interval {lo:.2f}–{hi:.2f}, "
        f"{report.bootstrap} resamples of customers; 0.5 is a coin toss, 1 is perfect).",
        f"Calibration: Brier score {report.brier:.3f} for the churn risk the total implies "
        f"(always guessing the base rate scores {report.brier_reference:.3f}; lower is "
        "better).",
        f"A model on the dimension scores alone: AUC {report.model_auc:.2f}, Brier "
        f"{report.model_brier:.3f} (out of fold) — the suggested weights below are its.",
    ]


def calibration_refusal(reason: str, recorded: int, ungraded: int) -> str:
    """Why there is no report (too few outcomes, nothing to compare), with how many
    recorded outcomes had no grade early enough to count."""
    if not ungraded:
        return reason
    return (
        f"{reason} ({ungraded:,} of {recorded:,} recorded outcomes have no grade made that "
        "long before them.)"
    )


def letters_title(report: Calibration) -> str:
    return f"Outcomes per letter (the grade made ≥ {report.lead_days} days before)"


def letter_cells(row: LetterRow) -> tuple[str, ...]:
    """The letter, its count of each kind (``KIND_WORDS`` order), its churn rate."""
    return (row.letter, *(f"{row.counts.get(k, 0):,}" for k in KIND_WORDS),
            percent(row.churn_rate))


def letter_line(row: LetterRow) -> str:
    """ "B: 40 renewed, 3 churned · churn rate 7%" (kinds that did not happen left out)."""
    counts = ", ".join(
        f"{row.counts[k]:,} {words}" for k, words in KIND_WORDS.items() if row.counts.get(k)
    )
    return f"{row.letter}: {counts or 'no outcomes'} · churn rate {percent(row.churn_rate)}"


def weights_title(report: Calibration) -> str:
    return (
        f"Dimension weights: now → suggested (95% interval, {report.weight_bootstrap} "
        "resamples)"
    )


def weight_arrow(w: WeightSuggestion) -> str:
    """↑ the interval lies wholly above today's weight, ↓ below, ≈ it includes it."""
    return "↑" if w.interval.low > w.now else "↓" if w.interval.high < w.now else "≈"


def weight_cells(w: WeightSuggestion) -> tuple[str, str, str, str, str]:
    """Name, now, "suggested arrow", interval, log-odds of churn per 100 points."""
    return (
        w.name,
        f"{w.now:g}",
        f"{w.suggested:.2f} {weight_arrow(w)}",
        f"{w.interval.low:.2f}–{w.interval.high:.2f}",
        f"{w.coefficient:+.2f}",
    )


def weight_line(w: WeightSuggestion) -> str:
    """ "Fit: 25 → 31.20 ↑ (27.00–35.10)" """
    name, now, suggested, interval, _ = weight_cells(w)
    return f"{name}: {now} → {suggested} ({interval})"


def question_cells(q: QuestionSignal) -> tuple[str, str, str, str, str]:
    """Question, dimension, AUC, how many answered it, the "backwards" mark (or empty)."""
    return (q.label, q.dimension, f"{q.auc:.2f}", f"{q.answered:,}",
            BACKWARDS if q.auc < 0.5 else "")


def question_line(q: QuestionSignal) -> str:
    """ "Likely to renew? (outcomes): AUC 0.71, 120 answered" (and "— backwards: …")."""
    label, dimension, auc, answered, backwards = question_cells(q)
    line = f"{label} ({dimension}): AUC {auc}, {answered} answered"
    return f"{line} — {backwards}" if backwards else line


CHART_NOT_DRAWN = "it could not be drawn"
CHART_UNREACHABLE = "the chat service could not be reached"


def chart_not_attached(why: str) -> Line:
    """The card's note when the chart could not go with it (``why``: ``CHART_NOT_DRAWN``,
    ``CHART_UNREACHABLE``, or the platform's own short code, e.g. Slack's
    ``not_in_channel``)."""
    return Line(f"⚠️ The chart could not be attached ({why}); the figures above stand.",
                Tone.WARN)


def calibration_parts(report: Calibration, recorded: int, ungraded: int,
                      note: Line | None = None) -> list[Part]:
    """The admins' calibration card below its title (``CALIBRATION_TITLE``): the summary,
    outcomes per letter, weights now → suggested, the questions with the most signal, and
    ``note`` (the chart could not be attached) last."""
    first, *rest = calibration_summary(report, recorded, ungraded)
    parts: list[Part] = [Line(first, Tone.STRONG), *(Line(x) for x in rest)]
    parts += [Line(letters_title(report), Tone.STRONG),
              Listing(tuple(letter_line(r) for r in report.letters))]
    parts += [Line(weights_title(report), Tone.STRONG),
              Listing(tuple(weight_line(w) for w in report.weights)),
              Line(WEIGHTS_NOTE, Tone.SUBTLE)]
    shown, rest_line = clipped(report.questions, CALIBRATION_QUESTIONS)
    if shown:
        parts += [Line(QUESTIONS_TITLE, Tone.STRONG),
                  Listing(tuple(question_line(q) for q in shown))]
        if rest_line is not None:
            parts.append(rest_line)
    if note is not None:
        parts.append(note)
    return parts
