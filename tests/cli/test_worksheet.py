"""``gradebot worksheet rescore --dry-run``: every stored grade under the current worksheet,
letter before → after with counts, and nothing written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app as cli
from storage import customers as customers_db
from storage import people as people_db
from storage.engine import session_scope
from storage.grades import save_grade
from storage.models import Grade

# golden customer (b) of tests/scoring/test_golden.py: A 85.8 on the default sheet v2
LOYAL = {"mission": 1, "pro_bono": "none", "skill_growth": 2, "new_ground": "no",
         "pays_now": 4, "hire_later": 4, "refers": "already", "segment_fit": 4,
         "service_level": "right", "revenue_share": 10, "outcomes_value": 4, "renewal": 5,
         "payment_risk": "low", "advocacy": 9}
PULSE = {k: LOYAL[k] for k in ("pays_now", "service_level", "outcomes_value", "renewal",
                               "payment_risk")}


def _store(engine: Engine, name: str, letter: str, total: float, cadence: str,
           answers: dict[str, Any], at: datetime, version: int = 1) -> None:
    with session_scope(engine) as s:
        ws = people_db.get_or_create_workspace(s, "cli", "local", "Local", "UTC")
        person = people_db.get_or_create_person(s, ws, "tester", "tester")
        found = customers_db.find_customer(s, ws.id, name).exact
        c = found or customers_db.create_customer(s, ws.id, name, person.id)
        save_grade(s, Grade(workspace_id=ws.id, customer_id=c.id,
                            previous_grade_id=c.latest_grade_id, cadence=cadence,
                            period="x", worksheet_id="default", worksheet_version=version,
                            total=total, letter=letter, recommendation="invest_less",
                            coverage=1.0, answers=answers, created_at=at), c)


def _letters(engine: Engine) -> list[tuple[str, float]]:
    with session_scope(engine) as s:
        return [(g.letter, g.total) for g in s.exec(select(Grade).order_by(Grade.id))]


def test_dry_run_counts_letters_before_and_after_and_writes_nothing(cli_db: Engine) -> None:
    # the averaged model's grades: the loyal account was a C; its pulse replaced the sheet
    _store(cli_db, "Loyal Co", "C", 60.1, "annual", LOYAL, datetime(2026, 3, 2, tzinfo=UTC))
    _store(cli_db, "Loyal Co", "C", 61.0, "quarterly", PULSE, datetime(2026, 6, 2, tzinfo=UTC))
    # a first pulse alone: 37% of the sheet, below the 60% floor now
    _store(cli_db, "Pulse Co", "A", 80.6, "quarterly", PULSE, datetime(2026, 6, 3, tzinfo=UTC))
    # already graded with v2: unchanged
    _store(cli_db, "Same Co", "A", 85.8, "annual", LOYAL, datetime(2026, 7, 1, tzinfo=UTC), 2)
    before = _letters(cli_db)

    result = CliRunner().invoke(cli.app, ["worksheet", "rescore", "--dry-run"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Re-scoring 4 stored grades with worksheet default v2 (dry run: nothing is " \
           "written)." in out
    rows = {tuple(line.split("│")[1:4]) for line in out.splitlines() if line.count("│") == 4}
    assert {tuple(c.strip() for c in r) for r in rows} == {
        ("A", "A (same)", "1"), ("A", "no letter", "1"), ("C", "A", "2")}
    assert "3 would change letter, 1 would keep it (1 would have too few answers for a " \
           "letter)." in out
    # the pulse is merged with the annual before it, as a grading now would merge it
    assert "Loyal Co · 2026-06-02 quarterly (v1): C 61 → A 85.8" in out
    assert "Loyal Co · 2026-03-02 annual (v1): C 60.1 → A 85.8" in out
    assert "Pulse Co · 2026-06-03 quarterly (v1): A 80.6 → no letter" in out
    assert _letters(cli_db) == before


def test_without_dry_run_it_refuses_and_says_why(cli_db: Engine) -> None:
    _store(cli_db, "Loyal Co", "C", 60.1, "annual", LOYAL, datetime(2026, 3, 2, tzinfo=UTC))
    result = CliRunner().invoke(cli.app, ["worksheet", "rescore"])
    assert result.exit_code == 2
    assert "Stored grades are never rewritten; run it with --dry-run" in result.output
    assert _letters(cli_db) == [("C", 60.1)]


def test_an_empty_database_has_nothing_to_rescore(cli_db: Engine) -> None:
    result = CliRunner().invoke(cli.app, ["worksheet", "rescore", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Re-scoring 0 stored grades" in result.output


def test_no_database_yet_is_one_line_and_creates_none(cli_db: Engine, tmp_path: Any,
                                                      monkeypatch: Any) -> None:
    """It used to end in a traceback ('no such table: grade') and leave an empty file."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    result = CliRunner().invoke(cli.app, ["worksheet", "rescore", "--dry-run"])
    assert result.exit_code == 2
    assert result.output.strip() == f"✗ No database at {tmp_path / 'none.db'}: run `gradebot " \
                                    "db upgrade` first (or set DATABASE_URL)."
    assert not (tmp_path / "none.db").exists()


def test_check_the_shipped_worksheet() -> None:
    result = CliRunner().invoke(cli.app, ["worksheet", "check"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("✓ Customer grading worksheet (id default, version ")
