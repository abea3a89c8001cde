"""The terminal channel in-process (``bot.terminal.TerminalChat``): what a typed word does at
each prompt. The real program in a pseudo-terminal is in ``test_terminal_pty.py``."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from sqlmodel import select

from bot.config import load_settings
from bot.engine import help
from bot.services import Services, build_services
from bot.terminal import TerminalChat
from storage import customers as customers_db
from storage.models import Customer
from tests.sheets import pulse_sheet_path


@pytest.fixture
def sv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    services = build_services(load_settings(DATABASE_URL=f"sqlite:///{tmp_path / 't.db'}",
                                            GRADEBOT_LLM_ENABLED="false"))
    yield services
    services.db.dispose()


def chat(sv: Services, *lines: str, who: str = "tester") -> str:
    """Type ``lines`` into a fresh ``gradebot chat`` (as ``who``); what it printed."""
    out = io.StringIO()
    typed = iter(lines)

    def read(prompt: str) -> str:
        out.write(prompt)
        try:
            line = next(typed)
        except StopIteration:
            raise EOFError from None
        out.write(line + "\n")
        return line

    actor, _ = sv.local_actor(who)
    TerminalChat(sv, actor, Console(file=out, width=120, color_system=None), read).run()
    return out.getvalue()


def names(sv: Services) -> list[str]:
    with sv.session() as s:
        return sorted(c.name for c in s.exec(select(Customer)).all())


def test_yes_creates_when_create_is_the_only_choice(sv: Services) -> None:
    shown = chat(sv, "Initech quarterly", "yes")
    assert "Create it as a new customer you own?" in shown
    assert "Grading Initech: the quarterly worksheet" in shown
    assert names(sv) == ["Initech"]


def test_yes_does_not_create_a_misspelt_name_when_there_are_suggestions(sv: Services) -> None:
    actor, _ = sv.local_actor("tester")
    with sv.session() as s:
        customers_db.create_customer(s, actor.workspace_id, "Acme Corporation", actor.person_id)
    shown = chat(sv, "Acme Corporatoin quarterly", "yes")
    assert "Did you mean one of these?" in shown
    assert names(sv) == ["Acme Corporation"]  # "yes" was taken as a customer name to look up


class Window:
    """One ``gradebot chat`` running in a thread, typed into line by line (two of these are
    two terminal windows on one database)."""

    def __init__(self, sv: Services) -> None:
        import queue
        import threading

        self.out = io.StringIO()
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._asked = threading.Event()
        actor, _ = sv.local_actor("tester")

        def read(prompt: str) -> str:
            self.out.write(prompt)
            self._asked.set()
            line = self._lines.get(timeout=30)
            if line is None:
                raise EOFError
            self.out.write(line + "\n")
            return line

        self.chat = TerminalChat(sv, actor, Console(file=self.out, width=120,
                                                    color_system=None), read)
        self.thread = threading.Thread(target=self.chat.run, daemon=True)
        self.thread.start()
        assert self._asked.wait(30)

    def type(self, line: str) -> str:
        """Type a line; what the window printed until it asked for the next one."""
        start = len(self.out.getvalue())
        self._asked.clear()
        self._lines.put(line)
        assert self._asked.wait(30), self.out.getvalue()[-2000:]
        return self.out.getvalue()[start:]

    def close(self) -> None:
        self._lines.put(None)
        self.thread.join(10)


def test_two_windows_on_one_grading_hear_of_each_other_and_never_dead_end(sv: Services) -> None:
    a, b = Window(sv), Window(sv)
    try:
        a.type("Acme quarterly")
        a.type("yes")
        a.type("4")
        assert "Resume it or start over?" in b.type("Acme quarterly")
        b.type("1")  # Resume
        b.type("about right")
        assert "Changed on another device: Cost to serve → About right" in a.type("why")
        shown = b.type("discard")
        assert "Discarded" in shown
        # the other window: a clear end, and a way on from it (it used to repeat "This
        # grading is discarded" to every input, and resume said it could not be resumed)
        shown = a.type("3")
        assert "This grading was discarded on another device: nothing was saved." in shown
        assert "1  Grade Acme again" in shown
        shown = a.type("1")
        assert "Grading Acme: the quarterly worksheet" in shown
        assert "1 of 5" in shown
    finally:
        a.close()
        b.close()


def test_a_number_thousands_of_digits_long_is_an_answer_not_a_traceback(sv: Services) -> None:
    """int() of a 5,000-digit string raises ValueError (Python's digit limit)."""
    huge = "9" * 5000
    shown = chat(sv, "Initech quarterly", "yes", huge, huge, "quit")
    assert "Traceback" not in shown
    assert "ValueError" not in shown
    assert shown.count("That message is too long (5,000 characters)") == 2
    assert "1 of 5" in shown  # and nothing moved: still at the first question
    assert "Got it" not in shown


def test_a_number_on_a_0_to_10_scale_is_that_number_not_the_choice_so_numbered(
        sv: Services) -> None:
    """The 0–10 question lists "1  0", "2  1" … : a rep who types 8 means 8 (as in Slack and
    Teams), and it used to be recorded as 7, the eighth choice."""
    shown = chat(sv, "Initech annual", "yes", *["skip"] * 13, "8", "quit")
    assert "14 of 15" in shown
    assert "Got it: 8" in shown
    assert "Got it: 7" not in shown
    with sv.session() as s:
        from storage.models import Answer
        [row] = s.exec(select(Answer).where(Answer.question_id == "advocacy")).all()
    assert row.value == 8


# ---------------------------------------------------------------------- commands
def flat(text: str) -> str:
    """What the terminal printed with its line wrapping undone (rich wraps at the width)."""
    return " ".join(text.split())


@pytest.fixture
def pulse_sv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    """A database where a quarterly pulse gets a letter (``tests.sheets``)."""
    monkeypatch.chdir(tmp_path)
    services = build_services(load_settings(DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}",
                                            GRADEBOT_LLM_ENABLED="false",
                                            GRADEBOT_WORKSHEET=str(pulse_sheet_path())))
    yield services
    services.db.dispose()


def seed_acme(sv: Services) -> str:
    """tester creates and grades Acme in a chat of its own; what that chat printed."""
    shown = chat(sv, "Acme quarterly", "yes", *"43442", "save")
    assert "Saved" in shown, shown[-500:]
    return shown


def test_help_with_no_grading_lists_every_command(sv: Services) -> None:
    """The same lines as Slack's and Teams' help (``bot.engine.help``, without the "/"):
    look-ups, overrides and second opinions, then the words of a grading."""
    shown = flat(chat(sv, "help"))
    assert "No grading in progress. Type a customer's name to grade it" in shown
    for line in help.overview():
        assert flat(f"{line.usage} — {line.what}") in shown
    assert "customer <customer> override [A-D]" in shown
    assert "grade <customer> second-opinion @someone" in shown
    assert "Type a customer name, e.g." not in shown  # (what "help" used to get)
    assert names(sv) == []


def test_look_ups_at_the_first_prompt_are_look_ups_not_names_to_grade(pulse_sv: Services
                                                                      ) -> None:
    sv = pulse_sv
    seed_acme(sv)
    shown = flat(chat(sv, "customer Acme", "grades", "portfolio", "grades overdue",
                      "portfolio optimism", "portfolio calibration", "customer Initech",
                      "customer"))
    assert "Acme A · " in shown or "Acme B · " in shown  # the card (its headline)
    assert "tester's book" in shown
    assert "Portfolio — tester 1 customer, 1 graded." in shown
    assert "The optimism view is for managers and admins." in shown
    assert "The calibration card is for admins." in shown
    assert "No customer called Initech" in shown
    assert flat(f"customer <customer> — {help.COMMANDS['customer'].usages[0].what}") in shown
    assert "Grading" not in shown.split("customer Acme", 1)[1]  # nothing started
    assert names(sv) == ["Acme"]  # and no customer called "customer Acme" or "grades"


def test_a_portfolio_view_that_does_not_exist_gets_the_portfolio_help(pulse_sv: Services
                                                                       ) -> None:
    sv = pulse_sv
    seed_acme(sv)
    shown = flat(chat(sv, "portfolio tem"))
    assert flat(f"portfolio [team] — {help.COMMANDS['portfolio'].usages[0].what}") in shown
    assert "Portfolio —" not in shown
    assert names(sv) == ["Acme"]  # and no customer called "portfolio tem"


def test_grade_and_a_leading_slash_work_as_in_teams(sv: Services) -> None:
    shown = flat(chat(sv, "/grade Initech quarterly", "yes", "quit"))
    assert "Grading Initech: the quarterly worksheet" in shown
    assert names(sv) == ["Initech"]
    assert "grade <customer> second-opinion @someone —" in flat(chat(sv, "grade help"))


def test_a_look_up_at_an_offer_keeps_the_offer(sv: Services) -> None:
    """At "Create it …?" (no grading open yet, a numbered choice on screen) a look-up is a
    look-up, and "yes" still answers the offer."""
    shown = chat(sv, "Initech quarterly", "portfolio", "yes", "quit")
    between = flat(shown.split("> portfolio", 1)[1].split("> yes", 1)[0])
    assert between.startswith("Portfolio — tester 0 customers, 0 graded."), between[:200]
    assert "Grading Initech: the quarterly worksheet" in shown
    assert names(sv) == ["Initech"]
