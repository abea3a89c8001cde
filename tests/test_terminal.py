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
from bot.services import Services, build_services
from bot.terminal import TerminalChat
from storage import customers as customers_db
from storage.models import Customer


@pytest.fixture
def sv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    services = build_services(load_settings(DATABASE_URL=f"sqlite:///{tmp_path / 't.db'}",
                                            GRADEBOT_LLM_ENABLED="false"))
    yield services
    services.db.dispose()


def chat(sv: Services, *lines: str) -> str:
    """Type ``lines`` into a fresh ``gradebot chat``; what it printed."""
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

    actor, _ = sv.local_actor("tester")
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
