"""``gradebot outcome add|list``, ``gradebot import outcomes`` and ``gradebot calibrate``:
what they print and their exit codes (0 done, 1 refused, 2 a wrong argument)."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app as cli
from storage import people as people_db
from storage.engine import session_scope
from storage.models import Customer, Outcome
from tests.storage.helpers import customer

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.fixture
def book(cli_db: Engine) -> Engine:
    with session_scope(cli_db) as s:
        ws = people_db.get_or_create_workspace(s, "cli", "local", "Local")
        rita = people_db.get_or_create_person(s, ws, "rita", "Rita Rep")
        customer(s, ws, "Acme", rita, external_ref="SF-1")
        customer(s, ws, "Globex", rita)
    return cli_db


def run(*args: str) -> Any:
    with time_machine.travel(NOW, tick=False):
        return CliRunner().invoke(cli.app, list(args))


def stored(engine: Engine) -> list[tuple[str, date, str, str | None]]:
    with session_scope(engine) as s:
        return [
            (o.kind, o.happened_on, o.source, o.note)
            for o in s.exec(select(Outcome).order_by(Outcome.happened_on)).all()
        ]


def test_outcome_add_and_list(book: Engine) -> None:
    r = run(
        "outcome",
        "add",
        "acme",
        "renewed",
        "--on",
        "2026-03-31",
        "--note",
        "3 years",
        "--by",
        "Rita Rep",
    )
    assert r.exit_code == 0, r.output
    assert r.output.strip() == "✓ Recorded: Acme renewed on 2026-03-31."
    again = run("outcome", "add", "Acme", "renewal", "--on", "2026-03-31")
    assert again.output.strip() == "✓ Already recorded: Acme renewed on 2026-03-31."
    today = run("outcome", "add", "Globex", "paid late")
    assert today.output.strip() == "✓ Recorded: Globex defaulted or paid late on 2026-12-01."
    assert stored(book) == [
        ("renewed", date(2026, 3, 31), "cli", "3 years"),
        ("defaulted_or_paid_late", date(2026, 12, 1), "cli", None),
    ]
    listed = run("outcome", "list")
    assert listed.exit_code == 0, listed.output
    lines = [line for line in listed.output.splitlines() if "20" in line]
    assert "2026-12-01" in lines[0]
    assert "Globex" in lines[0]
    assert "2026-03-31" in lines[1]
    assert "Rita Rep" in lines[1]
    assert "3 years" in lines[1]
    only = run("outcome", "list", "Globex")
    assert "Acme" not in only.output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("Acme", "bought a boat"), 2, "unknown outcome 'bought a boat'"),
        (("Acme", "renewed", "--on", "2026-12-02"), 2, "is in the future"),
        (("Acme", "renewed", "--on", "12/01/2026"), 2, "write it YYYY-MM-DD"),
        (("Acme", "renewed", "--by", "nobody"), 2, "no such person"),
        (("Acmee", "renewed"), 1, "No customer 'Acmee' (did you mean Acme?)."),
    ],
)
def test_outcome_add_refusals_write_nothing(
    book: Engine, args: tuple[str, ...], code: int, message: str
) -> None:
    r = run("outcome", "add", *args)
    assert r.exit_code == code, r.output
    assert message in r.output
    assert stored(book) == []


def test_outcome_list_when_there_are_none(book: Engine) -> None:
    r = run("outcome", "list")
    assert r.exit_code == 0
    assert "No outcomes recorded yet" in r.output


def test_import_outcomes_reports_rejects_and_reimports_the_fixed_file(
    book: Engine, tmp_path: Path
) -> None:
    src = tmp_path / "outcomes.csv"
    src.write_text(
        "customer,kind,happened_on\nAcme,renewed,2026-03-31\n"
        "Initech,churned,2026-04-30\nGlobex,churn,2026-02-30\n",
        encoding="utf-8",
    )
    r = run("import", "outcomes", str(src))
    assert r.exit_code == 1, r.output
    assert "✓ Imported 1 of 3 rows: 1 new outcome, 0 recorded already." in r.output
    assert "unknown customer" in r.output
    assert "bad date" in r.output
    rejected = tmp_path / "outcomes.rejected.csv"
    assert f"gradebot import outcomes {rejected}" in r.output.replace("\n", "")
    text = rejected.read_text(encoding="utf-8-sig")
    rejected.write_text(
        text.replace("Initech", "Globex").replace("02-30", "02-28"), encoding="utf-8"
    )
    fixed = run("import", "outcomes", str(rejected))
    assert fixed.exit_code == 0, fixed.output
    assert "✓ Imported 2 of 2 rows: 2 new outcomes, 0 recorded already." in fixed.output
    assert run("import", "outcomes", str(src)).exit_code == 1  # the bad rows are still bad
    assert [k for k, *_ in stored(book)] == ["churned", "renewed", "churned"]


def test_calibrate_refuses_with_too_few_outcomes(book: Engine) -> None:
    run("outcome", "add", "Acme", "churned", "--on", "2026-06-30")
    r = run("calibrate")
    assert r.exit_code == 1
    assert "Too few outcomes to calibrate: 0 renewed, expanded or churned" in r.output
    assert "(1 of 1 recorded outcomes have no grade made that long before them.)" in r.output


def _graded_book(engine: Engine, n: int = 200) -> None:
    """``n`` simulated customers graded 200 days before their outcome."""
    from tests.scoring.calibration_sim import observations, simulate
    from tests.storage.helpers import grade

    with session_scope(engine) as s:
        ws = people_db.get_or_create_workspace(s, "cli", "local", "Local")
        for o in observations(simulate(n, seed=5)):
            c = customer(s, ws, f"Sim {o.customer_id:04d}", None)
            grade(s, c, o.letter, o.graded_at, total=o.total)
            s.add(
                Outcome(
                    workspace_id=ws.id,
                    customer_id=c.id,
                    kind=o.kind,  # type: ignore[arg-type]
                    happened_on=o.happened_on,
                    source="import",
                )
            )
        s.commit()


def test_calibrate_prints_the_report_and_saves_the_chart(book: Engine, tmp_path: Path) -> None:
    _graded_book(book)
    chart = tmp_path / "calibration.png"
    r = run("calibrate", "--chart", str(chart))
    assert r.exit_code == 0, r.output
    out = r.output
    assert "200 outcomes with a grade made at least 90 days before" in out
    assert "Separating churners: AUC" in out
    assert "Brier score" in out
    assert "Outcomes per letter" in out
    assert "now → suggested" in out
    assert f"✓ Chart written to {chart}" in out.replace("\n", "")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_calibrate_without_scikit_learn_says_how_to_install(
    book: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _graded_book(book, 60)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    r = run("calibrate")
    assert r.exit_code == 1
    assert "Calibration needs scikit-learn: pip install 'gradebot[calibrate]'" in r.output


def test_calibrate_chart_to_an_unwritable_place_is_one_line(book: Engine, tmp_path: Path) -> None:
    _graded_book(book, 60)
    r = run("calibrate", "--chart", str(tmp_path / "no" / "such" / "dir" / "c.png"))
    assert r.exit_code == 1
    assert "Cannot write" in r.output
    assert "Traceback" not in r.output


def test_outcome_dates_follow_the_configured_time_zone(
    book: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 23:30 UTC it is already tomorrow in Auckland: an outcome on that day is not in
    the future there."""
    monkeypatch.setenv("GRADEBOT_TIMEZONE", "Pacific/Auckland")
    late = NOW.replace(hour=23, minute=30)
    tomorrow = (late + timedelta(days=1)).date().isoformat()
    with time_machine.travel(late, tick=False):
        r = CliRunner().invoke(cli.app, ["outcome", "add", "Acme", "renewed", "--on", tomorrow])
    assert r.exit_code == 0, r.output


def test_outcome_due_lists_renewals_to_confirm(book: Engine) -> None:
    assert "No renewal date has passed" in run("outcome", "due").output
    with session_scope(book) as s:
        acme = s.exec(select(Customer).where(Customer.name == "Acme")).one()
        acme.renewal_on = date(2026, 11, 30)
        s.add(acme)
        s.commit()
    r = run("outcome", "due")
    assert r.exit_code == 0, r.output
    row = next(line for line in r.output.splitlines() if "Acme" in line)
    assert "2026-11-30" in row
    assert "Rita Rep" in row
    run("outcome", "add", "Acme", "renewed", "--on", "2026-11-29")
    assert "No renewal date has passed" in run("outcome", "due").output


def test_the_help_lists_the_kinds_storage_accepts() -> None:
    from bot.cli.outcomes import KINDS
    from storage.outcomes import KIND_CHOICES

    assert KINDS == KIND_CHOICES
