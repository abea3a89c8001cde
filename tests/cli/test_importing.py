"""``gradebot import customers`` and ``export grades|customers``: round trips, skipped rows and
exit codes, one-line errors, other workspaces (storage's side: tests/storage/test_csv.py)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from bot.cli.app import app
from storage import people as people_db
from storage.models import Person, Workspace
from tests.storage.helpers import grade, person, utc
from tests.storage.test_csv import by_name


def test_cli_import_and_export_round_trip(runner: CliRunner, db_url: str, engine: Engine,
                                          session: Session, workspace: Workspace,
                                          rep: Person, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    src = tmp_path / "customers.csv"
    src.write_bytes(b"\xef\xbb\xbfname,owner,status\nAcme,rita@example.com,customer\n"
                    b"=Evil(),U0REP,prospect\n")
    result = runner.invoke(app, ["import", "customers", str(src)])
    assert result.exit_code == 0, result.output
    assert "✓ Imported 2 of 2 rows: 2 created, 0 updated, 0 unchanged." in result.output
    assert set(by_name(session, workspace)) == {"Acme", "=Evil()"}

    grade(session, by_name(session, workspace)["Acme"], "A", utc(2026, 1, 5, 8))
    out = tmp_path / "grades.csv"
    result = runner.invoke(app, ["export", "grades", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote 1 grade to" in result.output
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # a BOM, so spreadsheets read UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[1][:3] == ["Acme", "rita@example.com", "A"]
    assert rows[1][8] == "2026-01-05 08:00:00"  # UTC, as a spreadsheet reads a date
    assert rows[0][-5:] == ["dim_others", "dim_skills", "dim_value", "dim_fit", "dim_outcomes"]

    result = runner.invoke(app, ["export", "customers", "-"])
    assert result.exit_code == 0, result.output
    assert "'=Evil(),U0REP" not in result.output  # owner is shown by email when known
    assert "'=Evil(),rita@example.com,,prospect," in result.output


def test_cli_reports_skipped_rows_and_exit_code(runner: CliRunner, sqlite_url: str,
                                                tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    src = tmp_path / "in.csv"
    src.write_text("name,owner,status\nGood,,\nBad,,vip\n,,former\nGhost,ghost@example.com,\n",
                   encoding="utf-8")
    strict = runner.invoke(app, ["import", "customers", str(src), "--all-or-nothing"])
    assert strict.exit_code == 1
    assert "Nothing imported: 3 of 4 rows are bad" in strict.output
    for token in ("Line", "Reason", "vip", "cannot be empty", "ghost@example.com"):
        assert token in strict.output, token
    export = runner.invoke(app, ["export", "customers", "-"])
    assert export.stdout.splitlines() == ["name,owner,segment,status,external_ref,renewal_date"]

    lenient = runner.invoke(app, ["import", "customers", str(src)])
    assert lenient.exit_code == 1
    assert "✓ Imported 1 of 4 rows: 1 created" in lenient.output
    assert "3 rows not imported" in lenient.output
    export = runner.invoke(app, ["export", "customers", "-"])
    assert export.stdout.splitlines()[1:] == ["Good,,,customer,,"]


def test_cli_errors_are_one_clear_line(runner: CliRunner, tmp_path: Path, sqlite_url: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes("name\nCaf\u00e9\n".encode("latin-1"))
    out = tmp_path / "out.csv"
    missing_db = runner.invoke(app, ["export", "grades", str(out)])
    assert missing_db.exit_code == 2
    assert "run `gradebot db upgrade` first" in missing_db.output
    assert not (tmp_path / "gradebot.db").exists()  # an export creates no database
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    cases = [
        (["import", "customers", str(src)], "in.csv: in.csv is not UTF-8"),
        (["import", "customers", str(tmp_path / "nope.csv")], "does not exist"),
        (["import", "customers", str(src), "--workspace", "bogus"], "--workspace 'bogus'"),
        (["export", "grades", str(out), "--workspace", "slack:T0NONE"],
         "No workspace 'slack:T0NONE'"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert not out.exists()
    for url, command, message in [
            ("mysql://u@h/db", ["db", "upgrade"], "DATABASE_URL: use sqlite:///path.db"),
            ("not a url", ["export", "customers", "-"], "DATABASE_URL: use sqlite:///path.db"),
            ("postgresql+psycopg://nobody@127.0.0.1:1/none", ["db", "upgrade"],
             "cannot open the database")]:
        monkeypatch.setenv("DATABASE_URL", url)
        result = runner.invoke(app, command)
        assert result.exit_code == 2, (url, result.output)
        assert message in result.output, (url, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output


def test_cli_import_into_another_workspace(runner: CliRunner, sqlite_url: str,
                                           tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from storage.engine import make_engine, session_scope, upgrade

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        with session_scope(engine) as s:
            ws = people_db.get_or_create_workspace(s, "slack", "T0ACME")
            person(s, ws, "U0SLACK", email="s@example.com")
        src = tmp_path / "in.csv"
        src.write_text("name,owner\nAcme,U0SLACK\n", encoding="utf-8")
        result = runner.invoke(app, ["import", "customers", str(src),
                                       "--workspace", "slack:T0ACME"])
        assert result.exit_code == 0, result.output
        with session_scope(engine) as s:
            ws = people_db.find_workspace(s, "slack", "T0ACME")
            assert ws is not None
            assert [c.name for c in by_name(s, ws).values()] == ["Acme"]
            assert people_db.find_workspace(s, "cli", "local") is None
    finally:
        engine.dispose()
