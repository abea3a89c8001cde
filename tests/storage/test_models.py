"""Every table round-trips every column; timestamps are aware UTC on every backend."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import StatementError
from sqlmodel import Session, SQLModel, col, select

from storage.engine import session_scope
from storage.models import (
    Answer,
    Customer,
    Decision,
    Grade,
    GradingSession,
    Outcome,
    Person,
    ProcessedEvent,
    ReminderDelivery,
    Workspace,
    WorkspaceSettings,
)
from storage.opinions import OpinionGrade, SecondOpinion
from storage.overrides import GradeOverride

T0 = datetime(2026, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)
PARIS_WINTER = timezone(timedelta(hours=1))


def rows(t: datetime) -> list[SQLModel]:
    """One row of every table, every column set to something other than its default."""
    ws = Workspace(id=7, platform="slack", external_id="T0ACME", name="Acme Sales 🚀",
                   settings=WorkspaceSettings(timezone="Europe/Paris", annual_month=3,
                                              reminder_channel="C01").model_dump(mode="json"),
                   created_at=t)
    boss = Person(id=11, workspace_id=7, external_id="U0BOSS", display_name="Bea Boss",
                  email="bea@example.com", timezone="Europe/Paris", role="manager",
                  manager_id=None, dm_channel="D0BOSS",
                  conversation_ref={"service_url": "https://smba.example/", "id": "19:x"},
                  away_until=t + timedelta(days=3), created_at=t)
    rep = Person(id=12, workspace_id=7, external_id="U0REP", display_name="Rémi Rep",
                 email="remi@example.com", timezone="America/New_York", role="rep",
                 manager_id=11, dm_channel="D0REP", conversation_ref=None, away_until=None,
                 created_at=t + timedelta(seconds=1))
    cust = Customer(id=21, workspace_id=7, name="Ünïcode & Co", normalized_name="unicode & co",
                    owner_id=12, segment="Enterprise", status="prospect", external_ref="CRM-1",
                    archived=True, latest_grade_id=None, latest_letter="B",
                    latest_graded_at=t + timedelta(days=2), renewal_on=date(2027, 2, 28),
                    created_at=t, updated_at=t + timedelta(minutes=1))
    gs = GradingSession(id=31, workspace_id=7, person_id=12, customer_id=21, kind="grade",
                        cadence="annual", worksheet_id="default", worksheet_version=3,
                        position=4, status="review", platform="slack", channel="D0REP",
                        thread_ts="1712345678.000100", refs={"q_mission": "1712345679.000200"},
                        state={"pending": {"q": "fit", "value": 3}}, version=5, created_at=t,
                        updated_at=t + timedelta(hours=1))
    ans = Answer(id=41, session_id=31, question_id="mission", raw_text="very — 5/5",
                 value={"scale": 5}, source="llm", confidence=0.875, person_id=12,
                 input_key="slack:Ev1", created_at=t, superseded_at=t + timedelta(minutes=2))
    gr = Grade(id=51, workspace_id=7, customer_id=21, session_id=31, previous_grade_id=None,
               grader_id=12, cadence="annual", period="2026", worksheet_id="default",
               worksheet_version=3, total=72.125, letter="B", recommendation="maintain",
               profile="good_at_it", coverage=0.75, dimensions={"fit": 60.5, "value": None},
               goods={"good_at_it": 80.0}, explanation=["Mission ↑ +5.0", "Fit ↓ −2.5"],
               answers={"mission": 5, "segment": "yes"}, summary="Solid, שלום, مرحبا",
               created_at=t)
    dec = Decision(id=61, workspace_id=7, customer_id=21, person_id=11, session_id=31,
                   decision="invest_less", period="2026-03-14", note="Too costly to serve",
                   created_at=t)
    rd = ReminderDelivery(id=71, workspace_id=7, person_id=12, cadence="quarterly",
                          period="2026-Q1", status="sent", attempts=2, claimed_by="host:123",
                          lease_until=t + timedelta(minutes=5), channel="D0REP",
                          thread_ts="1712345680.000300", customers_due=9, followups=1,
                          next_followup_at=t + timedelta(days=3),
                          snoozed_until=t + timedelta(days=1), last_error="timeout",
                          sent_at=t, created_at=t, updated_at=t + timedelta(seconds=5))
    ev = ProcessedEvent(id=81, scope="slack:T0ACME", event_id="Ev0123", kind="message",
                        created_at=t)
    out = Outcome(id=91, workspace_id=7, customer_id=21, kind="defaulted_or_paid_late",
                  happened_on=date(2026, 2, 28), recorded_by_id=11, source="card",
                  note="Paid 60 days late — 支付", created_at=t)
    op = SecondOpinion(id=94, workspace_id=7, customer_id=21, asked_by_id=12, assignee_id=11,
                       status="given", session_id=31, created_at=t,
                       answered_at=t + timedelta(days=1))
    og = OpinionGrade(id=92, workspace_id=7, customer_id=21, opinion_id=94, grader_id=11,
                      record_grade_id=51, cadence="annual", worksheet_id="default",
                      worksheet_version=3, total=41.5, letter="C", recommendation="invest_less",
                      profile="good_for_you", coverage=0.875, provisional=True,
                      dimensions={"fit": 30.0, "value": None}, explanation=["Fit ↓ −9"],
                      answers={"mission": 2}, created_at=t + timedelta(days=1))
    ov = GradeOverride(id=93, workspace_id=7, customer_id=21, letter="A",
                       recommendation="invest_more", reason="Board seat — 董事会",
                       expires_at=t + timedelta(days=90), set_by_id=11, created_at=t,
                       ended_at=t + timedelta(days=9), end_reason="removed", ended_by_id=11,
                       warned_at=t + timedelta(days=8))
    return [ws, boss, rep, cust, gs, ans, gr, dec, rd, ev, out, op, og, ov]


def test_every_table_round_trips_every_column(engine: Engine) -> None:
    originals = rows(T0)
    assert {type(r).__table__.name for r in originals} == set(  # type: ignore[attr-defined]
        SQLModel.metadata.tables)
    expected = [r.model_dump() for r in originals]
    with session_scope(engine) as s:
        for r in originals:
            s.add(r)
            s.flush()
        s.get(Customer, 21).latest_grade_id = 51  # type: ignore[union-attr]
        s.commit()
    expected[3]["latest_grade_id"] = 51
    with Session(engine) as s:  # a fresh session: values come from the database
        for exp, orig in zip(expected, originals, strict=True):
            got = s.get(type(orig), exp["id"])
            assert got is not None
            table = type(orig).__table__  # type: ignore[attr-defined]
            for column in table.columns:
                value = getattr(got, column.name)
                assert value == exp[column.name], (table.name, column.name)
                if isinstance(value, datetime):
                    assert value.tzinfo is not None
                    assert value.utcoffset() == timedelta(0)
    with Session(engine) as s:
        ws = s.get(Workspace, 7)
        assert ws is not None
        assert ws.get_settings().timezone == "Europe/Paris"
        assert ws.get_settings().annual_month == 3


def test_offset_timestamps_come_back_as_the_same_instant_in_utc(
        session: Session, workspace: Workspace, engine: Engine) -> None:
    ten_paris = datetime(2026, 1, 15, 10, 0, tzinfo=PARIS_WINTER)
    p = Person(workspace_id=workspace.id, external_id="U1", display_name="Tz",  # type: ignore
               away_until=ten_paris)
    session.add(p)
    session.commit()
    with Session(engine) as fresh:
        got = fresh.get(Person, p.id)
        assert got is not None
        assert got.away_until is not None
        assert got.away_until.tzinfo is not None
        assert got.away_until.utcoffset() == timedelta(0)
        assert got.away_until == ten_paris
        assert (got.away_until.hour, got.away_until.minute) == (9, 0)
        # comparisons in SQL see the instant, not the text that was typed
        assert fresh.exec(select(Person).where(
            col(Person.away_until) < datetime(2026, 1, 15, 9, 30, tzinfo=UTC))).first()
        assert fresh.exec(select(Person).where(
            col(Person.away_until) < datetime(2026, 1, 15, 8, 30, tzinfo=UTC))).first() is None


def test_naive_datetimes_are_refused(session: Session, workspace: Workspace,
                                     engine: Engine) -> None:
    session.add(Person(workspace_id=workspace.id, external_id="U2",  # type: ignore[arg-type]
                       away_until=datetime(2026, 1, 15, 10, 0)))
    with pytest.raises(StatementError, match="naive datetime"):
        session.commit()
    session.rollback()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM person")).scalar_one() == 0


def test_defaults_are_aware_utc_now(session: Session, workspace: Workspace) -> None:
    before = datetime.now(UTC)
    assert workspace.created_at.tzinfo is not None
    assert before - timedelta(minutes=1) < workspace.created_at <= before
    fresh = session.get(Workspace, workspace.id, populate_existing=True)
    assert fresh is not None
    assert fresh.created_at.utcoffset() == timedelta(0)


def test_sqlite_timestamps_written_by_hand_are_read_as_utc(sqlite_url: str) -> None:
    """Rows written by raw SQL (a data fix, CURRENT_TIMESTAMP) read back aware UTC, whether
    the text has microseconds, no time, or an offset of its own."""
    from storage.engine import make_engine, upgrade

    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    cases = {
        "2026-01-15 09:00:00.250000": datetime(2026, 1, 15, 9, 0, 0, 250000, tzinfo=UTC),
        "2026-01-15 09:00:00": datetime(2026, 1, 15, 9, 0, tzinfo=UTC),
        "2026-01-15T10:00:00+01:00": datetime(2026, 1, 15, 9, 0, tzinfo=UTC),
        "2026-01-15": datetime(2026, 1, 15, tzinfo=UTC),
    }
    try:
        with engine.begin() as conn:
            for i, stamp in enumerate(cases):
                conn.execute(text("INSERT INTO workspace (platform, external_id, name, settings,"
                                  " created_at) VALUES ('cli', :e, '', '{}', :t)"),
                             {"e": f"w{i}", "t": stamp})
            conn.execute(text("INSERT INTO workspace (platform, external_id, name, settings, "
                              "created_at) VALUES ('cli', 'now', '', '{}', CURRENT_TIMESTAMP)"))
        with Session(engine) as s:
            got = {w.external_id: w.created_at for w in s.exec(select(Workspace))}
        for i, expected in enumerate(cases.values()):
            assert got[f"w{i}"] == expected
            assert got[f"w{i}"].utcoffset() == timedelta(0)
        assert abs(got["now"] - datetime.now(UTC)) < timedelta(minutes=5)
    finally:
        engine.dispose()


def test_postgres_sessions_run_in_utc_whatever_the_database_says(db_url: str) -> None:
    """The bot's PostgreSQL connections set their zone to UTC (so psycopg hands back UTC
    datetimes without a conversion per row); a database whose default is New York changes
    neither what is stored nor what is read — nor does a session switched to another zone."""
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no session time zone")
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    from storage.engine import make_engine, upgrade
    from storage.grades import due_customers
    from tests.storage.helpers import customer, grade

    upgrade(db_url)
    name = make_url(db_url).database
    plain = create_engine(db_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    ours = make_engine(db_url, pool_size=1, max_overflow=0)
    try:
        with plain.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" SET timezone TO \'America/New_York\''))
        with plain.connect() as conn:  # (new sessions pick the database default up)
            assert conn.execute(text("SHOW TIME ZONE")).scalar_one() == "America/New_York"
            conn.execute(text(
                "INSERT INTO workspace (id, platform, external_id, name, settings, created_at) "
                "VALUES (1, 'cli', 'local', 'Local', '{}', '2026-01-15 10:00:00+01')"))
        for _ in range(2):  # the same pooled connection, after a rollback on its return
            with ours.connect() as conn:
                assert conn.execute(text("SHOW TIME ZONE")).scalar_one() == "UTC"
        with Session(ours) as s:
            ws = s.get(Workspace, 1)
            assert ws is not None
            assert ws.created_at == datetime(2026, 1, 15, 9, tzinfo=UTC)
            assert ws.created_at.tzinfo is UTC
            rep = Person(workspace_id=1, external_id="U1", display_name="Rep")
            s.add(rep)
            s.commit()
            graded = customer(s, ws, "Graded Co", rep)
            grade(s, graded, "B", datetime(2025, 12, 31, 23, 30, tzinfo=UTC))
            # a session someone switched to another zone still reads aware UTC instants
            s.connection().execute(text("SET TIME ZONE 'Asia/Kolkata'"))
            due = due_customers(s, 1, datetime(2026, 5, 12).date())
            assert [(d.name, d.graded_at) for d in due[rep.id]] == [  # type: ignore[index]
                ("Graded Co", datetime(2025, 12, 31, 23, 30, tzinfo=UTC))]
            assert due[rep.id][0].graded_at.tzinfo is UTC  # type: ignore[index,union-attr]
    finally:
        ours.dispose()
        plain.dispose()
