"""The neutral display lines (bot/display.py): their words and limits, the staleness rule,
and that Slack, Teams and the terminal each show every line they are given."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from rich.console import Console

from bot import display, terminal
from bot.display import Facts, Line, Listing, Tone
from bot.engine.prompts import AnswerLine, DimensionLine, Review
from bot.lookups import BookView, CustomerCard, PortfolioView
from bot.notify import DueItem, ReminderMessage
from bot.reminders import messages
from bot.slack import blocks as bk
from bot.slack.notify import pages
from bot.teams import cards as ui
from scoring import BookEntry, Good, build_portfolio, load_worksheet
from scoring.worksheet import GradingRules
from storage.grades import DueCustomer

TODAY = date(2026, 7, 21)
SHEET = load_worksheet()


def card(**kw: object) -> CustomerCard:
    base: dict[str, object] = dict(
        customer_id=1,
        name="Acme",
        owner="Rita",
        status="customer",
        letter="B",
        total=72.0,
        recommendation="invest_more",
        dimensions={"value": 80.0, "fit": None},
        explanation=[f"reason {i}" for i in range(8)],
        graded_by="Bob",
        graded_at=datetime(2026, 1, 5, tzinfo=UTC),
        graded_on=date(2026, 1, 5),
        cadence="annual",
        due_on=date(2027, 1, 1),
        summary="A solid account.",
    )
    return CustomerCard(**{**base, **kw})  # type: ignore[arg-type]


def entry(cid: int, name: str, letter: str | None = None, **kw: object) -> BookEntry:
    total = {"A": 90.0, "B": 72.0, "C": 55.0, "D": 30.0}.get(letter or "")
    return BookEntry(cid, name, letter, total, **kw)  # type: ignore[arg-type]


def texts_of(parts: list[display.Part]) -> list[str]:
    out: list[str] = []
    for p in parts:
        if isinstance(p, Facts):
            out += [f.text for f in p.facts]
        elif isinstance(p, Listing):
            out += list(p.lines)
        else:
            out.append(p.text)
    return out


# ---------------------------------------------------------------------- words
@pytest.mark.parametrize(
    ("score", "drawn"),
    [
        (None, "░" * 10),
        (0, "░" * 10),
        (4, "░" * 10),
        (5, "░" * 10),
        (15, "██" + "░" * 8),
        (72, "███████░░░"),
        (100, "█" * 10),
        (130, "█" * 10),
        (-20, "░" * 10),
    ],
)
def test_one_bar_of_ten_cells_whatever_the_score(score: float | None, drawn: str) -> None:
    assert display.bar(score) == drawn


def test_a_grade_is_qualified_in_one_set_of_words() -> None:
    assert display.grade_words("B", 72.0) == "B 72"
    assert display.grade_words("B", 72.0, True, 0.8) == "B 72 (provisional, 80% answered)"
    assert display.grade_words("B", 72.5, True, None) == "B 72.5 (provisional)"
    assert display.grade_words("B", 72.0, stale=True) == "B 72 (stale)"
    assert (
        display.grade_words("B", 72.0, True, 0.37, True)
        == "B 72 (provisional, 37% answered; stale)"
    )
    assert display.grade_words(None, None) is None
    # the card's headline and the review's say it the same way
    assert "(provisional, 37% answered)" in card(provisional=True, coverage=0.37).headline
    assert card(stale=True).headline.startswith("B · 72/100 (stale) · invest more")


@pytest.mark.parametrize(
    ("days", "stale"), [(0, False), (455, False), (456, False), (457, True), (2000, True)]
)
def test_a_grade_goes_stale_after_the_worksheets_validity(days: int, stale: bool) -> None:
    rules = GradingRules()
    assert rules.stale_after_days == 456 == SHEET.grading.stale_after_days
    graded = date.fromordinal(TODAY.toordinal() - days)
    assert rules.is_stale(graded, TODAY) is stale
    assert rules.is_stale(None, TODAY) is False  # never graded is ungraded, not stale
    assert GradingRules(stale_after_days=30).is_stale(date(2026, 6, 20), TODAY)


def test_more_and_names_lines_cut_at_the_limit() -> None:
    assert display.more(12) == "…and 12 more."
    assert display.more(3, "/grades overdue") == "…and 3 more. Try /grades overdue."
    names = [f"C{i}" for i in range(18)]
    line = display.names_line("Due for grading", names)
    assert line.startswith("Due for grading: C0, C1")
    assert "C14" in line
    assert "C15" not in line
    assert line.endswith("…and 3 more.")
    assert display.names_line("Due for grading", names[:15]) == "Due for grading: " + ", ".join(
        names[:15]
    )


# ---------------------------------------------------------------------- the card
def test_card_parts_in_order_with_limits() -> None:
    parts = display.card_parts(card(), {"value": "Good for you"})
    assert parts[0] == Line("B · 72/100 · invest more", Tone.STRONG)
    assert isinstance(parts[1], Facts)
    assert [f.text for f in parts[1].facts] == ["Good for you: 80 ████████░░", "fit: –"]
    assert parts[2] == Line("A solid account.")
    reasons = [p for p in parts if isinstance(p, Line) and p.text.startswith("reason")]
    assert len(reasons) == display.EXPLANATION_LINES == 5
    assert parts[-1] == Line(
        "Graded 2026-01-05 by Bob (annual) · Next due 2027-01-01 · Owner: Rita", Tone.SUBTLE
    )
    assert display.card_parts(card(letter=None, total=None)) == [Line("Not graded yet.")]


def test_a_stale_card_says_so_under_its_headline() -> None:
    parts = display.card_parts(card(stale=True, stale_after_days=456))
    assert parts[1] == Line(
        "⚠️ Stale: graded 2026-01-05, more than 456 days ago. Re-grade before relying on it.",
        Tone.WARN,
    )


# ---------------------------------------------------------------------- a book
def book() -> BookView:
    return BookView(
        "Rita",
        [
            entry(
                1,
                "Acme",
                "A",
                due_on=date(2027, 1, 1),
                recommendation="invest_more",
                graded_on=date(2026, 7, 1),
            ),
            entry(
                2,
                "Beta",
                "C",
                due_on=date(2026, 7, 1),
                recommendation="maintain",
                provisional=True,
                coverage=0.5,
                graded_on=date(2026, 4, 1),
            ),
            entry(3, "Gamma", "B", due_on=date(2026, 7, 1), stale=True, graded_on=date(2024, 1, 2)),
            entry(4, "Fresh"),
        ],
        TODAY,
    )


def test_book_rows_words_and_cells() -> None:
    rows, rest = display.book_rows(book())
    assert rest is None
    assert [r.text for r in rows] == [
        "A 90 · Acme · invest more · due 2027-01-01",
        "C 55 (provisional, 50% answered) · Beta · maintain · ⚠️ due now",
        "B 72 (stale) · Gamma · ⚠️ due now",
        "Fresh · never graded",
    ]
    assert rows[1].cells == ("Beta", "C 55 (provisional, 50% answered)", "maintain", "⚠️ due now")
    assert rows[3].cells == ("Fresh", "–", "—", "never graded")
    assert [r.tone for r in rows] == [Tone.PLAIN, Tone.WARN, Tone.WARN, Tone.PLAIN]
    rows, rest = display.book_rows(book(), 2, "/grades overdue")
    assert len(rows) == 2
    assert rest == Line("…and 2 more. Try /grades overdue.", Tone.SUBTLE)


def test_home_due_and_recent() -> None:
    title, rows, rest = display.home_due(book())
    assert title == "Due for grading (3)"
    assert [r.customer_id for r in rows] == [2, 3, 4]
    assert rest is None
    many = BookView("Rita", [entry(i, f"C{i}") for i in range(25)], TODAY)
    title, rows, rest = display.home_due(many)
    assert (title, len(rows)) == ("Due for grading (25)", display.HOME_DUE)
    assert rest == Line("…and 5 more. Try /grades overdue.", Tone.SUBTLE)
    assert display.recent_lines(book()) == [
        "A 90 · Acme · 2026-07-01",
        "C 55 (provisional, 50% answered) · Beta · 2026-04-01",
        "B 72 (stale) · Gamma · 2024-01-02",
    ]


# ---------------------------------------------------------------------- a portfolio
def portfolio(n_overdue: int = 0) -> PortfolioView:
    entries = [
        entry(
            1,
            "Acme",
            "A",
            profile=Good.US,
            graded_on=date(2026, 7, 1),
            due_on=date(2027, 1, 1),
            previous_total=70.0,
            previous_letter="B",
        ),
        entry(
            2,
            "Old Co",
            "B",
            profile=Good.OTHERS,
            graded_on=date(2024, 1, 2),
            due_on=date(2025, 1, 1),
            stale=True,
        ),
    ]
    entries += [entry(10 + i, f"New {i:02}") for i in range(n_overdue)]
    return PortfolioView("Rita", build_portfolio(entries, SHEET.target_balance, TODAY), 456)


def test_portfolio_parts() -> None:
    parts = display.portfolio_parts(portfolio(20))
    shown = texts_of(parts)
    assert shown[0] == "22 customers, 2 graded."
    assert shown[1].startswith("Good for you: 50% (target ")
    assert "█" in shown[1]
    assert "Grades: A 1, B 1, C 0, D 0" in shown
    assert Line("⚠️ Stale grades (older than 456 days): Old Co", Tone.WARN) in parts
    due = next(t for t in shown if t.startswith("Due for grading: "))
    assert due.endswith("…and 6 more.")  # 21 due, 15 named
    assert "Moved: Acme 70 → 90 (+20.0)" in shown
    assert [f.label for f in display.balance_facts(portfolio(), detail=False).facts] == [
        g.label for g in display.GOODS
    ]
    assert display.balance_facts(portfolio(), detail=False).facts[0].value.endswith("%)")


# ---------------------------------------------------------------------- a review
def test_review_parts() -> None:
    r = Review(
        customer="Acme",
        cadence="annual",
        letter="B",
        total=72,
        recommendation="maintain",
        profile="good_for_you",
        coverage=1.0,
        dimensions=[DimensionLine(name="Fit", score=60, answered=2, asked=2)],
        lifted_by=["Pays now (+10)"],
        held_back_by=[],
        caps=["Capped at maintain"],
        answers=[
            AnswerLine(number=1, question_id="q", label="Pays now", answer="5"),
            AnswerLine(number=2, question_id="r", label="Notes", answer=None),
        ],
        previous_letter="C",
        previous_total=60,
        carried_by="Good for you, 80",
    )
    parts = display.review_parts(r)
    assert parts[0] == Line(f"Since last grade: {r.change}", Tone.SUBTLE)
    assert texts_of(parts) == [
        f"Since last grade: {r.change}",
        "Fit: 60 ██████░░░░",
        "Lifted by: Pays now (+10)",
        "⚠️ Capped at maintain",
        "Carried by Good for you, 80.",
        "1. Pays now: 5",
        "2. Notes: skipped",
    ]
    assert parts[-1] == Listing(("1. Pays now: 5", "2. Notes: skipped"))


# ---------------------------------------------------------------------- reminders
def test_due_lines_and_pages() -> None:
    now = datetime(2026, 7, 21, 9, tzinfo=UTC)
    due = [
        DueCustomer(1, "Acme", 5, "B", datetime(2026, 1, 2, tzinfo=UTC)),
        DueCustomer(2, "Old Co", 5, "C", datetime(2025, 1, 2, tzinfo=UTC)),
        DueCustomer(3, "Fresh", 5, None, None),
    ]
    msg = messages.reminder(7, "quarterly", "2026-Q3", due, now=now, rules=SHEET.grading)
    assert [display.due_line(it) for it in msg.items] == [
        "Acme · B · last graded 2026-01-02",
        "Old Co · C (stale) · last graded 2025-01-02",
        "Fresh · never graded",
    ]
    short = messages.followup(
        7, "quarterly", "2026-Q3", due, now=now, rules=GradingRules(stale_after_days=100)
    )
    assert [it.stale for it in short.items] == [True, True, False]
    many = ReminderMessage(1, "t", "i", [DueItem(i, f"C{i}", None, None) for i in range(90)])
    paged = display.due_pages(many, 40)
    assert [len(rows) for _, rows in paged] == [40, 40, 10]
    assert [n.text if n else None for n, _ in paged] == [
        "Due customers 1–40 of 90",
        "Due customers 41–80 of 90",
        "Due customers 81–90 of 90",
    ]
    assert display.due_pages(ReminderMessage(1, "t", "i", []), 40) == [(None, [])]


# ---------------------------------------------------------------------- every channel
def pieces(parts: list[display.Part]) -> list[str]:
    """What each channel must show of ``parts``: every line, every fact's label and value."""
    out: list[str] = []
    for p in parts:
        if isinstance(p, Facts):
            out += [x for f in p.facts for x in (f.label, f.value)]
        elif isinstance(p, Listing):
            out += list(p.lines)
        else:
            out.append(p.text)
    return out


def strings(node: object) -> str:
    """Every string in a JSON payload (Block Kit blocks, an Adaptive Card), one a line."""
    if isinstance(node, dict):
        return "\n".join(strings(v) for v in node.values())
    if isinstance(node, list):
        return "\n".join(strings(v) for v in node)
    return node if isinstance(node, str) else ""


def terminal_text(render: object, *args: object) -> str:
    out = io.StringIO()
    render(Console(file=out, width=200, color_system=None), *args)  # type: ignore[operator]
    return out.getvalue()


def assert_shown(want: list[str], slack: object, teams: object, term: str) -> None:
    s, t = strings(slack), strings(teams)
    for line in want:
        assert line in s, ("slack", line)
        assert ui.md(line) in t, ("teams", line)
        assert line.replace("⚠️", "⚠") in term, ("terminal", line)


def test_each_channel_shows_every_card_line() -> None:
    c = card(stale=True)
    assert_shown(
        pieces(display.card_parts(c)),
        bk.render_card(c, "pick||1")[1],
        ui.to_dict(ui.customer_card(c, "pick||1")),
        terminal_text(terminal.render_card, c),
    )


def test_each_channel_shows_every_portfolio_and_book_line() -> None:
    pv = portfolio(20)
    assert_shown(
        pieces(display.portfolio_parts(pv)),
        bk.render_portfolio(pv)[1],
        ui.to_dict(ui.portfolio_card(pv)),
        terminal_text(terminal.render_portfolio, pv),
    )
    rows, _ = display.book_rows(book())
    slack, teams = strings(bk.render_book(book())[1]), strings(ui.to_dict(ui.book_card(book())))
    term = terminal_text(terminal.render_book, book())
    for r in rows:
        assert r.text in slack
        assert ui.md(r.text) in teams
        for cell in r.cells:
            assert cell.replace("⚠️", "⚠") in term


def test_each_channel_pages_the_due_list_alike() -> None:
    many = ReminderMessage(
        1, "t", "i", [DueItem(i, f"C{i}", "B", "2024-01-01", True) for i in range(60)]
    )
    slack = pages(many)
    teams = ui.reminder_cards(many)
    assert len(slack) == 2  # 40 a message
    assert len(teams) == 3  # 25 a card
    assert "C0 · B (stale) · last graded 2024-01-01" in strings(slack[0])
    assert "Due customers 26–50 of 60" in strings(ui.to_dict(teams[1]))
    assert "Due customers 41–60 of 60" in strings(slack[1])


def test_what_users_typed_is_escaped_by_each_renderer() -> None:
    """Display lines are plain text: each channel escapes them its own way."""
    name = "<!channel> [bold]x[/bold] *y* <at>all</at>"
    c = card(name=name, summary=name, explanation=[name], owner=name)
    slack = strings(bk.render_card(c)[1])
    assert "<!channel>" not in slack
    assert "&lt;!channel&gt; [bold]x[/bold] *y*" in slack
    teams = strings(ui.to_dict(ui.customer_card(c, None)))
    assert "<at>" not in teams
    assert "\\*y\\*" in teams
    term = terminal_text(terminal.render_card, c)
    assert term.count("[bold]x[/bold] *y*") >= 3  # the title, the summary, the reason …
    row = BookView("Rita", [entry(1, name, "B", due_on=date(2027, 1, 1))], TODAY)
    assert "[bold]x[/bold]" in terminal_text(terminal.render_book, row)
