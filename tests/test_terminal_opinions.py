"""Second opinions and overrides in the terminal: ``grade Acme second-opinion dana`` opens
Dana's blind grading (she finds it in her own ``gradebot chat``), and ``gradebot customer``
shows and sets overrides."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from bot.config import load_settings
from bot.services import Services, build_services
from storage import people as people_db
from tests.test_terminal import chat


@pytest.fixture
def sv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 't.db'}")
    monkeypatch.setenv("GRADEBOT_LLM_ENABLED", "false")
    services = build_services(load_settings())
    yield services
    services.db.dispose()


def test_second_opinion_in_the_terminal(sv: Services) -> None:
    sv.local_actor("dana")
    chat(sv, "Acme quarterly", "yes", *"43442", "save")  # tester owns and grades Acme
    shown = chat(sv, "grade Acme second-opinion dana")
    assert "Asked dana for a second opinion on Acme." in shown
    assert "→ for dana: tester asks for your second opinion on Acme" in shown
    theirs = chat(sv, "resume", *["1"] * 4, who="dana")
    assert "Unfinished: Acme" in theirs
    assert "How mission-driven is Acme" in theirs
    # she was not at this terminal when asked: resuming says who asked and that it is blind
    told = " ".join(theirs.split())
    assert "Picking up where you left off." in told
    assert ("tester asked for your second opinion on Acme. You grade it blind: the grade of "
            "record and any other opinion show only after you save yours.") in told
    gone = chat(sv, "grade Acme second-opinion cancel dana")
    assert "Withdrew the request for dana's second opinion on Acme; they are told." in gone
    assert "→ for dana: tester withdrew the request for your second opinion on Acme" in gone
    assert "Unfinished: Acme" not in chat(sv, "resume", who="dana")  # her draft is gone


def test_overrides_from_the_command_line(sv: Services) -> None:
    chat(sv, "Acme quarterly", "yes", *"43442", "save")
    boss, _ = sv.local_actor("boss")
    with sv.session() as s:
        people = {p.external_id: p for p in people_db.people_of(s, boss.workspace_id)}
        people_db.set_role(s, people["boss"], "manager")
        people_db.set_role(s, people["tester"], "rep", people["boss"])
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        r = runner.invoke(app, list(args))
        return r.exit_code, " ".join(r.output.split())  # (the console wraps long lines)

    code, out = run("customer", "Acme override D for 3 months because x", "--as", "tester")
    assert code == 1
    assert "a rep can never overrule their own customers" in out
    code, out = run(
        "customer",
        "Acme override invest less for 3 months because [bold]late payer[/bold]",
        "--as",
        "boss",
    )
    assert code == 0, out
    assert "Overridden: recommendation invest less — by boss until" in out
    assert "[bold]late payer[/bold]" in out  # printed as typed, not as markup
    code, card = run("customer", "Acme", "--as", "tester")
    assert "Overridden: recommendation invest less" in card
    assert "Model's grade: " in card
    assert "in force until" in run("customer", "Acme overrides", "--as", "tester")[1]
    assert run("portfolio", "--optimism", "--as", "tester")[0] == 1
    assert "No second opinions given" in run("portfolio", "--optimism", "--as", "boss")[1]
