"""A grade older than the worksheet's validity shows as stale in the terminal: ``gradebot
customer``, ``gradebot grades`` and ``gradebot portfolio``, with the words Slack and Teams
use (bot/display.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from typer.testing import CliRunner

from bot.cli.app import app
from storage import customers as customers_db
from storage import people as people_db
from storage.engine import session_scope
from storage.grades import save_grade
from storage.models import Grade
from storage.types import utcnow

VALIDITY = 456  # the shipped worksheet's grading.stale_after_days


def _store(engine: Engine, name: str, days_ago: int) -> None:
    with session_scope(engine) as s:
        ws = people_db.get_or_create_workspace(s, "cli", "local", "Local", "UTC")
        person = people_db.get_or_create_person(s, ws, "tester", "tester")
        c = customers_db.create_customer(s, ws.id, name, person.id)  # type: ignore[arg-type]
        save_grade(
            s,
            Grade(
                workspace_id=ws.id,
                customer_id=c.id,
                cadence="annual",  # type: ignore[arg-type]
                period="x",
                worksheet_id="default",
                worksheet_version=2,
                total=85,
                letter="A",
                recommendation="invest_more",
                coverage=1.0,
                dimensions={"value": 90.0},
                answers={"pays_now": 5},
                created_at=utcnow() - timedelta(days=days_ago),
            ),
            c,
        )


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--as", "tester"])
    assert result.exit_code == 0, result.output
    return result.output


def test_stale_in_the_terminals_card_book_and_portfolio(cli_db: Engine) -> None:
    _store(cli_db, "Old Co", VALIDITY + 1)
    _store(cli_db, "New Co", VALIDITY - 1)
    card = _run("customer", "Old Co")
    assert "A · 85/100 (stale) · invest more" in card
    assert f"⚠ Stale: graded {(utcnow() - timedelta(days=VALIDITY + 1)).date()}" in card
    assert "Good for you  90 █████████░" in card  # the one bar, the worksheet's name
    assert "Owner: tester" in card
    assert "stale" not in _run("customer", "New Co").lower()
    book = _run("grades")
    old = next(line for line in book.splitlines() if "Old Co" in line)
    new = next(line for line in book.splitlines() if "New Co" in line)
    assert "A 85 (stale)" in old
    assert "stale" not in new
    portfolio = _run("portfolio")
    assert f"⚠ Stale grades (older than {VALIDITY} days): Old Co" in portfolio
