"""A team's first day, end to end from the terminal: people and a CRM export imported into an
empty database before anyone has used the bot, emails resolved through the (fake) Slack Web
API, and one reminder sweep at a quarter start that posts one thread to each rep.

Everything real but Slack: the ``gradebot`` CLI (Typer, with settings from the environment
and ``.env``), SQLite, the Sweeper and SlackNotifier calling the fake Web API over HTTP."""

from __future__ import annotations

import asyncio
import csv
import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.cli import context, output
from bot.reminders.sweep import Sweeper
from bot.slack.app import make_client_for
from bot.slack.notify import SlackNotifier
from storage import people as people_db
from storage.engine import make_engine, session_scope
from storage.models import Customer, Person, Workspace
from tests.fakes.slack_api import FakeSlackAPI

PEOPLE = ("\ufeffName,Email,Role,Manager Email,Time Zone\r\n"
          "Alice Nguyen,alice.nguyen@example.com,rep,carol@example.com,\r\n"
          "Bob Ortiz,BOB@example.com,rep,carol@example.com,Europe/Paris\r\n"
          "Carol Chen,carol@example.com,manager,,\r\n"
          "Dave Doe,dave@example.com,rep,carol@example.com,\r\n"
          "Eve Error,not-an-email,boss,nobody@example.com,Mars/Base\r\n")

# a Salesforce-style export: its own headers and statuses, a BOM, CRLF, and messy rows
CRM = ("\ufeffAccount Name,Account Owner Email,Type,Industry,Account ID,Billing City\r\n"
       "Acme Corp,alice.nguyen@example.com,Customer - Direct,Manufacturing,001A,Austin\r\n"
       "Globex,bob@example.com,Customer - Channel,Energy,001B,Lyon\r\n"
       "Initech,alice.nguyen@example.com,Prospect,Software,001C,Austin\r\n"
       "Umbrella,dave@example.com,Customer - Direct,Pharma,001D,Raccoon City\r\n"
       "Stark Industries,carol@example.com,Channel Partner / Reseller,Defense,001E,NYC\r\n"
       ",ghost@example.com,Reseller?,,001F,\r\n"                      # 7: three problems
       "Hooli,nobody@example.com,Customer - Direct,Tech,001G,Palo Alto\r\n"  # 8: owner
       "acme corp,bob@example.com,Customer - Direct,,001H,\r\n"       # 9: duplicate name
       "Globex Corporation,bob@example.com,Customer - Direct,Energy,001J,Lyon\r\n"
       "Wayne Enterprises,,Former Customer,Tech,001K,Gotham\r\n"
       "Massive Dynamic,frank@example.com,Customer - Direct,Tech,001L,Boston\r\n")  # Slack

QUARTER_START = datetime(2027, 1, 4, 18, 0, tzinfo=UTC)  # Monday: 09:00 passed in Paris & US


@pytest.fixture
def slack(fake_slack: FakeSlackAPI) -> FakeSlackAPI:
    """The session's fake Web API (tests/conftest.py); ``team`` resets it."""
    return fake_slack


@pytest.fixture
def team(slack: FakeSlackAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
         ) -> Iterator[Engine]:
    """An empty working directory whose ``.env`` names the database and the Slack token:
    the CLI must read it as ``gradebot serve`` would."""
    slack.reset()
    slack.users.clear()
    slack.missing_scopes.clear()
    slack.add_user("U0ALICE", "Alice.Nguyen@example.com", "alice", tz="America/Chicago")
    slack.add_user("U0BOB", "bob@example.com", "bob", tz=None)  # tz only from users.info
    slack.add_user("U0CAROL", "carol@example.com", "carol", tz="America/New_York")
    # in Slack, not in the people file: added as an owner when a customer file names him
    slack.add_user("U0FRANK", "frank@example.com", "frank", tz="America/New_York")
    monkeypatch.chdir(tmp_path)
    for var in list(os.environ):
        if var.startswith(("SLACK_", "OPENAI_", "GRADEBOT_", "DATABASE_")) or var == "TZ":
            monkeypatch.delenv(var)
    (tmp_path / ".env").write_text(
        f"DATABASE_URL=sqlite:///{tmp_path / 'team.db'}\nSLACK_BOT_TOKEN=xoxb-test\n"
        f"SLACK_API_URL={slack.base_url}\n", encoding="utf-8")
    monkeypatch.setenv("COLUMNS", "250")
    for console in (output.console, output.err):
        monkeypatch.setattr(console, "_width", 250)
    engine = make_engine(f"sqlite:///{tmp_path / 'team.db'}")
    yield engine
    engine.dispose()


def gradebot(*args: str) -> Any:
    return CliRunner().invoke(cli.app, list(args))


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def people_of(engine: Engine) -> dict[str, Person]:
    with session_scope(engine) as s:
        return {p.email.lower(): p for p in s.exec(select(Person)).all() if p.email}


def test_first_day_from_csv_files_to_the_first_reminder_wave(team: Engine, slack: FakeSlackAPI,
                                                             tmp_path: Path) -> None:
    # 1. people, into a workspace that does not exist yet: `--workspace slack` is the token's
    people_csv = write(tmp_path / "people.csv", PEOPLE)
    r = gradebot("import", "people", str(people_csv), "--workspace", "slack")
    assert r.exit_code == 1, r.output  # Eve's row is bad
    assert "✓ Imported 4 of 5 rows: 4 created" in r.output
    for reason in ("bad email", "unknown role", "unknown time zone", "unknown manager"):
        assert reason in r.output, reason  # every problem of Eve's row, not just the first
    assert "✓ Found 3 of 4 people in Slack by email." in r.output
    assert "dave@example.com" in r.output  # not in Slack yet, and said so
    [auth] = slack.of("auth.test")
    assert auth.args == {}
    with session_scope(team) as s:
        ws = people_db.find_workspace(s, "slack", "T1")
        assert ws is not None
    people = people_of(team)
    assert set(people) == {"alice.nguyen@example.com", "bob@example.com", "carol@example.com",
                           "dave@example.com"}  # Frank is not added by a people import
    assert people["alice.nguyen@example.com"].external_id == "U0ALICE"
    assert people["alice.nguyen@example.com"].timezone == "America/Chicago"
    assert people["bob@example.com"].external_id == "U0BOB"
    assert people["bob@example.com"].timezone == "Europe/Paris"  # users.info had none: kept
    assert people["dave@example.com"].external_id == "email:dave@example.com"
    carol = people["carol@example.com"]
    assert carol.role == "manager"
    assert {p.manager_id for e, p in people.items() if e != "carol@example.com"} == {carol.id}

    # 2. the CRM export, headers and statuses recognised without flags but one
    crm = write(tmp_path / "accounts.csv", CRM)
    r = gradebot("import", "customers", str(crm), "--workspace", "slack:T1")
    assert r.exit_code == 1, r.output
    assert ('Columns read as Salesforce export: name ← "Account Name", owner ← "Account '
            'Owner Email"') in r.output
    assert "Ignored columns: Billing City" in r.output
    assert "✓ Added 1 owner from Slack by email: frank@example.com" in r.output
    assert "✓ Imported 7 of 11 rows: 7 created, 0 updated, 0 unchanged." in r.output
    table = r.output[r.output.index("not imported, by reason"):]
    for kind, lines in (("unknown status", "6–7"), ("unknown owner", "7–8"),
                        ("bad name", "7"), ("duplicate in the file", "9")):
        row = next(line for line in table.splitlines() if f" {kind} " in line)
        assert f" {lines} " in row, (kind, row)
    assert "'Globex Corporation' looks like line 3 'Globex'" in r.output
    rejected = tmp_path / "accounts.rejected.csv"
    rows = list(csv.reader(io.StringIO(rejected.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["Account Name", "Account Owner Email", "Type", "Industry", "Account ID",
                       "Billing City", "reason"]
    assert [row[0] for row in rows[1:]] == ["Stark Industries", "", "Hooli", "acme corp"]
    assert rows[2][-1].count(";") == 2  # the empty name, the owner and the status

    # 3. fix the rejected rows in place (the reason column stays) and import that file
    fixed = [rows[0], rows[1], ["Hooli", "alice.nguyen@example.com", *rows[3][2:]],
             ["Soylent", "dave@example.com", "Customer - Direct", "", "001F", "", "x"]]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(fixed)
    write(rejected, "\ufeff" + out.getvalue())
    r = gradebot("import", "customers", str(rejected), "--workspace", "slack:T1",
                 "--status", "Channel Partner / Reseller=customer")
    assert r.exit_code == 0, r.output
    assert "✓ Imported 3 of 3 rows: 3 created" in r.output
    assert "Ignored columns: Billing City.\n" in r.output  # the reason column is ours
    with session_scope(team) as s:
        owners = {c.name: s.get(Person, c.owner_id).email if c.owner_id else None  # type: ignore[union-attr]
                  for c in s.exec(select(Customer)).all()}
        statuses = {c.name: c.status for c in s.exec(select(Customer)).all()}
    assert len(owners) == 10
    assert owners["Massive Dynamic"] == "frank@example.com"
    assert owners["Stark Industries"] == "carol@example.com"
    assert (statuses["Initech"], statuses["Wayne Enterprises"]) == ("prospect", "former")

    # 4. the dry run: Dave is not on Slack yet, so not reachable
    r = gradebot("remind", "--dry-run", "--at", "2027-01-04T18:00Z", "--workspace", "slack:T1")
    assert r.exit_code == 0, r.output
    assert "Not reachable yet" in r.output
    dave_line = next(line for line in r.output.splitlines() if "Dave Doe" in line)
    assert "no Slack user with this email yet" in dave_line

    # the admin's digest of the quarter just ended says so too
    with session_scope(team) as s:
        ws = people_db.find_workspace(s, "slack", "T1")
        digest = Sweeper(team, []).build_digest(s, ws, "2026-Q4")  # type: ignore[arg-type]
    assert digest is not None
    i = digest.lines.index("Not reachable yet (reminders cannot reach them):")
    assert digest.lines[i + 1:] == ["• Dave Doe (dave@example.com): no Slack user with this "
                                    "email yet (looked up at each sweep) — 2 customers due"]

    # 5. Dave joins Slack; the quarter's first sweep looks him up and reaches everyone
    slack.add_user("U0DAVE", "dave@example.com", "dave", tz="America/Los_Angeles")
    slack.reset()
    with session_scope(team) as s:
        ws = people_db.find_workspace(s, "slack", "T1")
        assert ws is not None

    async def sweep() -> Any:
        client = make_client_for(context.settings())
        try:
            return await Sweeper(team, [SlackNotifier(client, db=team)]).sweep(QUARTER_START)
        finally:
            if client.session is not None:
                await client.session.close()

    report = asyncio.run(sweep())
    assert report.errors == []
    assert report.sent == 5, report
    parents = [c for c in slack.of("chat.postMessage") if not c.args.get("thread_ts")]
    by_channel = {c.args["channel"]: c for c in parents}
    assert sorted(by_channel) == ["D0ALICE", "D0BOB", "D0CAROL", "D0DAVE", "D0FRANK"]
    due = {"D0ALICE": {"Acme Corp", "Initech", "Hooli"}, "D0BOB": {"Globex",
                                                                    "Globex Corporation"},
           "D0CAROL": {"Stark Industries"}, "D0DAVE": {"Umbrella", "Soylent"},
           "D0FRANK": {"Massive Dynamic"}}
    for channel, names in due.items():
        ts = by_channel[channel].result["ts"]  # type: ignore[index]
        listed = [c for c in slack.of("chat.postMessage") if c.args.get("thread_ts") == ts]
        shown = "\n".join(str(b) for c in listed for b in c.args.get("blocks") or [])
        for name in names:
            assert f"{name} · never graded" in shown, (channel, name)
        others = {n for ns in due.values() for n in ns} - names
        assert not any(f"'{n} · " in shown for n in others), channel
        assert by_channel[channel].args["text"].endswith(f"{len(names)} customer"
                                                         f"{'s' if len(names) > 1 else ''} due")
    # Wayne Enterprises is former and has no owner: nobody is reminded about it
    assert people_of(team)["dave@example.com"].external_id == "U0DAVE"
    with session_scope(team) as s:
        assert len(s.exec(select(Person)).all()) == 5  # matched, never duplicated
        assert len(s.exec(select(Workspace)).all()) == 1


def test_workspace_and_directory_problems_are_one_line_and_lose_nothing(
        team: Engine, slack: FakeSlackAPI, tmp_path: Path) -> None:
    people_csv = write(tmp_path / "people.csv", "name,email\nAlice,alice.nguyen@example.com\n")
    slack.missing_scopes.add("users:read.email")
    r = gradebot("import", "people", str(people_csv), "--workspace", "slack")
    assert r.exit_code == 0, r.output
    assert "✓ Imported 1 of 1 row" in r.output
    assert "add the users:read.email scope" in r.output  # said, and the import kept
    assert people_of(team)["alice.nguyen@example.com"].external_id.startswith("email:")
    (tmp_path / ".env").write_text(f"DATABASE_URL=sqlite:///{tmp_path / 'team.db'}\n",
                                   encoding="utf-8")
    r = gradebot("import", "people", str(people_csv), "--workspace", "slack")
    assert r.exit_code == 2
    assert "--workspace slack: set SLACK_BOT_TOKEN" in r.output
    r = gradebot("import", "people", str(people_csv), "--workspace", "teams")
    assert "--workspace teams: set TENANT_ID" in r.output
