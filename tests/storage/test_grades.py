"""Grades and books: latest grade, history, the previous-grade pointer, rep and team books with
due dates, and the reminder planner's ``due_customers`` in one statement."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from scoring import Cadence, RegradePolicy, load_worksheet
from scoring import grade as score
from storage import customers as customers_db
from storage import people as people_db
from storage.grades import (
    UngradedError,
    due_customers,
    grade_history,
    grade_row,
    latest_grade,
    latest_grade_by_name,
    policy_for,
    rep_book,
    save_grade,
    team_book,
)
from storage.models import Customer, CustomerStatus, Grade, Person, Role, Workspace
from tests.storage.helpers import count_statements, customer, grade, person, utc

TODAY = date(2026, 5, 12)  # Q2 2026


def test_latest_grade_history_and_previous_pointer(session: Session, workspace: Workspace,
                                                   rep: Person) -> None:
    c = customer(session, workspace, "Acme", rep)
    assert latest_grade(session, c) is None
    g1 = grade(session, c, "C", utc(2025, 6, 1, 12))
    g2 = grade(session, c, "B", utc(2025, 11, 3, 12), cadence="quarterly", period="2025-Q4")
    g3 = grade(session, c, "A", utc(2026, 2, 1, 12))
    assert (g1.previous_grade_id, g2.previous_grade_id, g3.previous_grade_id) == (
        None, g1.id, g2.id)
    fresh = session.get(Customer, c.id, populate_existing=True)
    assert fresh is not None
    assert fresh.latest_grade_id == g3.id
    # the copies planning reads move with the pointer
    assert (fresh.latest_letter, fresh.latest_graded_at) == ("A", utc(2026, 2, 1, 12))
    latest = latest_grade(session, fresh)
    assert latest is not None
    assert latest.id == g3.id
    assert latest.letter == "A"
    assert [g.id for g in grade_history(session, c.id)] == [g3.id, g2.id, g1.id]  # type: ignore
    assert [g.id for g in grade_history(session, c.id, limit=2)] == [g3.id, g2.id]  # type: ignore


def test_grade_row_from_a_scored_grade(session: Session, workspace: Workspace,
                                       rep: Person) -> None:
    c = customer(session, workspace, "Scored Co", rep)
    first = grade(session, c, "D", utc(2026, 1, 5))
    answers = {"pays_now": 5, "outcomes_value": 4, "renewal": 5, "service_level": "right",
               "payment_risk": "low", "mission": 1, "segment_fit": 4, "refers": "already",
               "hire_later": 4}
    scored = score(load_worksheet(), answers, Cadence.QUARTERLY)
    assert scored.provisional
    sources = {"fresh": 5, "carried": {"mission": {"at": "2026-01-05T10:00:00+00:00",
                                                   "cadence": "annual", "grade_id": first.id}}}
    row = grade_row(scored, workspace_id=workspace.id, customer=c,  # type: ignore[arg-type]
                    grader_id=rep.id, period="2026-Q2", answers=answers, summary="x" * 2000,
                    sources=sources)
    saved = save_grade(session, row, c)
    again = session.get(type(saved), saved.id, populate_existing=True)
    assert again is not None
    assert again.previous_grade_id == first.id
    assert (again.letter, again.total, again.recommendation) == (
        scored.letter, scored.total, scored.recommendation.value)
    assert again.profile == "good_for_you"
    assert (again.carrier, again.provisional, again.sources) == ("good_for_you", True, sources)
    assert again.cadence == "quarterly"
    assert again.dimensions == {d.id: d.score for d in scored.dimensions}
    assert again.answers == answers
    assert again.explanation == scored.explanation()
    assert again.summary is not None
    assert len(again.summary) == 1000
    assert c.latest_grade_id == saved.id
    assert (c.latest_letter, c.latest_graded_at) == (saved.letter, saved.created_at)


def test_a_grade_without_a_letter_is_never_stored(session: Session, workspace: Workspace,
                                                   rep: Person) -> None:
    c = customer(session, workspace, "Draft Co", rep)
    scored = score(load_worksheet(), {"pays_now": 5}, Cadence.QUARTERLY)
    assert scored.letter is None
    with pytest.raises(UngradedError, match=r"Not enough answers to grade yet \(1 of 14"):
        grade_row(scored, workspace_id=workspace.id, customer=c,  # type: ignore[arg-type]
                  grader_id=rep.id, period="2026-Q2", answers={"pays_now": 5})
    assert c.latest_grade_id is None


def test_latest_grade_by_name(session: Session, workspace: Workspace, rep: Person) -> None:
    c = customer(session, workspace, "Zoë Café", rep)
    ungraded = customer(session, workspace, "Nobody Graded", rep)
    ws = workspace.id
    assert latest_grade_by_name(session, ws, "unknown") is None  # type: ignore[arg-type]
    none_yet = latest_grade_by_name(session, ws, "nobody graded")  # type: ignore[arg-type]
    assert none_yet is not None
    assert none_yet.customer_id == ungraded.id
    assert none_yet.grade_id is None
    assert none_yet.letter is None
    grade(session, c, "C", utc(2025, 1, 1))
    g = grade(session, c, "A", utc(2026, 1, 2, 9, 30))
    hit = latest_grade_by_name(session, ws, "ZOE  cafe")  # type: ignore[arg-type]
    assert hit is not None
    assert (hit.customer_id, hit.name, hit.owner_id, hit.grade_id, hit.letter, hit.total) == (
        c.id, "Zoë Café", rep.id, g.id, "A", 85.0)
    assert hit.created_at == utc(2026, 1, 2, 9, 30)
    other = people_db.get_or_create_workspace(session, "slack", "T0OTHER")
    assert latest_grade_by_name(session, other.id, "Zoë Café") is None  # type: ignore[arg-type]


def test_rep_book_with_grades_previous_grades_and_due_dates(
        session: Session, workspace: Workspace, rep: Person, engine: Engine) -> None:
    a = customer(session, workspace, "Alpha", rep)
    b = customer(session, workspace, "Bravo", rep)
    customer(session, workspace, "Charlie", rep)  # never graded
    gone = customer(session, workspace, "Delta", rep, status=CustomerStatus.FORMER)
    hidden = customer(session, workspace, "Echo", rep)
    customers_db.archive_customer(session, hidden)
    grade(session, a, "C", utc(2025, 12, 1))
    grade(session, a, "A", utc(2026, 2, 10))
    grade(session, b, "B", utc(2026, 2, 15))
    grade(session, gone, "D", utc(2026, 1, 1))
    with count_statements(engine) as counter:
        entries = rep_book(session, rep.id)  # type: ignore[arg-type]
    # the book, and the overrides in force over it (storage.overrides.shown): no N+1
    assert counter.count == 2
    by_name = {e.name: e for e in entries}
    assert [e.name for e in entries] == ["Alpha", "Bravo", "Charlie"]
    alpha = by_name["Alpha"]
    assert (alpha.letter, alpha.total, alpha.previous_letter, alpha.previous_total) == (
        "A", 85.0, "C", 55.0)
    assert alpha.profile is not None
    assert alpha.profile.value == "good_for_you"
    assert alpha.graded_on == date(2026, 2, 10)
    assert alpha.due_on == date(2027, 1, 1)  # A: re-graded yearly
    bravo = by_name["Bravo"]
    assert bravo.previous_letter is None
    assert bravo.due_on == date(2026, 4, 1)
    charlie = by_name["Charlie"]
    assert charlie.letter is None
    assert charlie.graded_on is None
    assert charlie.due_on is None
    # a policy from workspace settings changes the due dates
    yearly = policy_for({"B": "annual"})
    assert {e.name: e.due_on for e in rep_book(session, rep.id, yearly)}[  # type: ignore
        "Bravo"] == date(2027, 1, 1)


@pytest.fixture
def org(session: Session, workspace: Workspace) -> dict[str, Person]:
    boss = person(session, workspace, "boss", role=Role.MANAGER)
    other_boss = person(session, workspace, "otherboss", role=Role.MANAGER)
    out = {
        "boss": boss, "other_boss": other_boss,
        "ann": person(session, workspace, "ann", manager=boss),
        "bob": person(session, workspace, "bob", manager=boss),
        "cat": person(session, workspace, "cat", manager=other_boss),
        "admin": person(session, workspace, "admin", role=Role.ADMIN),
    }
    for who in ("ann", "bob", "cat"):
        for i in range(2):
            customer(session, workspace, f"{who} customer {i}", out[who])
    return out


def test_team_book_shows_only_the_managers_reports(session: Session, org: dict[str, Person],
                                                   engine: Engine) -> None:
    with count_statements(engine) as counter:
        team = team_book(session, org["boss"])
    assert counter.count == 3  # the team, then every book at once, then its overrides
    assert set(team) == {org["ann"].id, org["bob"].id}
    assert [e.name for e in team[org["ann"].id]] == ["ann customer 0", "ann customer 1"]
    assert all(not n.name.startswith("cat") for es in team.values() for n in es)
    assert people_db.can_see(org["boss"], org["ann"])
    assert not people_db.can_see(org["boss"], org["cat"])
    assert not people_db.can_see(org["ann"], org["bob"])
    assert team_book(session, org["ann"]) == {}  # a rep manages no one


def test_admin_sees_everyone(session: Session, org: dict[str, Person], rep: Person) -> None:
    team = team_book(session, org["admin"])
    assert set(team) == {p.id for p in [*org.values(), rep]}
    assert sum(len(es) for es in team.values()) == 6
    assert people_db.can_see(org["admin"], org["cat"])


def test_due_customers_in_one_statement(session: Session, workspace: Workspace, rep: Person,
                                        engine: Engine) -> None:
    other_rep = person(session, workspace, "other")
    cs = {n: customer(session, workspace, n, rep) for n in (
        "never graded", "A last year", "A this year", "A new year's eve", "A new year's day",
        "B last quarter", "B this quarter", "D this quarter")}
    cs["former"] = customer(session, workspace, "former", rep, status=CustomerStatus.FORMER)
    cs["prospect"] = customer(session, workspace, "prospect", rep,
                              status=CustomerStatus.PROSPECT)
    cs["archived"] = customer(session, workspace, "archived", rep)
    cs["unowned"] = customer(session, workspace, "unowned", None)
    cs["theirs"] = customer(session, workspace, "theirs", other_rep)
    customers_db.archive_customer(session, cs["archived"])
    elsewhere = people_db.get_or_create_workspace(session, "slack", "T0OTHER")
    stranger = person(session, elsewhere, "stranger")
    customer(session, elsewhere, "elsewhere", stranger)
    grade(session, cs["A last year"], "A", utc(2025, 6, 30))
    grade(session, cs["A this year"], "A", utc(2026, 1, 20))
    grade(session, cs["A new year's eve"], "A", utc(2025, 12, 31, 23, 59, 59))
    grade(session, cs["A new year's day"], "A", utc(2026, 1, 1, 0, 0))
    grade(session, cs["B last quarter"], "B", utc(2026, 3, 31, 23, 0))
    grade(session, cs["B this quarter"], "B", utc(2026, 4, 1, 0, 0))
    grade(session, cs["D this quarter"], "D", utc(2026, 5, 1))
    grade(session, cs["former"], "D", utc(2025, 1, 1))

    with count_statements(engine) as counter:
        due = due_customers(session, workspace.id, TODAY)  # type: ignore[arg-type]
    assert counter.count == 1  # one query for the whole workspace: no N+1
    assert set(due) == {rep.id, other_rep.id}
    assert [d.name for d in due[rep.id]] == [
        "A last year", "A new year's eve", "B last quarter", "never graded", "prospect"]
    assert [d.name for d in due[other_rep.id]] == ["theirs"]
    last_year = next(d for d in due[rep.id] if d.name == "A last year")
    assert last_year.letter == "A"
    assert last_year.graded_at == utc(2025, 6, 30)

    # the planner agrees with the due dates the book shows
    policy = RegradePolicy()
    due_ids = {d.customer_id for d in due[rep.id]}
    for e in rep_book(session, rep.id):  # type: ignore[arg-type]
        assert policy.is_due(e.graded_on, e.letter, TODAY) == (e.customer_id in due_ids), e.name

    only = due_customers(session, workspace.id, TODAY, owner_ids=[other_rep.id])  # type: ignore
    assert set(only) == {other_rep.id}
    everyone_yearly = due_customers(session, workspace.id, TODAY,  # type: ignore[arg-type]
                                    policy=policy_for({"A": "annual", "B": "annual",
                                                       "D": "annual"}))
    assert "B last quarter" not in [d.name for d in everyone_yearly[rep.id]]


def test_due_customers_scales_without_more_statements(session: Session, workspace: Workspace,
                                                      engine: Engine) -> None:
    reps = [person(session, workspace, f"rep{i}") for i in range(6)]
    for i in range(60):
        c = customer(session, workspace, f"cust {i:02d}", reps[i % 6], commit=False)
        session.flush()
        if i % 3:
            grade(session, c, "B" if i % 2 else "A", datetime(2025, 1 + i % 12, 1,
                                                                  tzinfo=utc(2026, 1, 1).tzinfo))
    session.commit()
    with count_statements(engine) as counter:
        due = due_customers(session, workspace.id, TODAY)  # type: ignore[arg-type]
    assert counter.count == 1
    assert sum(len(v) for v in due.values()) == 60  # every one graded before 2026, or never


def test_look_ups_see_changes_not_yet_committed(session: Session, workspace: Workspace,
                                                rep: Person) -> None:
    """The Core queries flush the session first, as ORM queries do."""
    c = customer(session, workspace, "Pending Co", rep, commit=False)
    assert c.id is None
    hit = latest_grade_by_name(session, workspace.id, "pending co")  # type: ignore[arg-type]
    assert hit is not None
    assert hit.customer_id == c.id
    due = due_customers(session, workspace.id, TODAY)  # type: ignore[arg-type]
    assert [d.name for d in due[rep.id]] == ["Pending Co"]
    session.rollback()
    assert latest_grade_by_name(session, workspace.id, "pending co") is None  # type: ignore


def test_periods_and_grading_dates_are_read_in_the_given_time_zone(
        session: Session, workspace: Workspace, rep: Person) -> None:
    """Two quarterly grades either side of midnight UTC on New Year's Eve: in Los Angeles
    both were given in Q4 (so both are due again in Q1), in Tokyo both in Q1 (none due), in
    UTC one in each."""
    la, tokyo = ZoneInfo("America/Los_Angeles"), ZoneInfo("Asia/Tokyo")
    late = customer(session, workspace, "Late Evening Inc", rep)
    grade(session, late, "B", utc(2027, 1, 1, 2), cadence="quarterly")
    early = customer(session, workspace, "New Year KK", rep)
    grade(session, early, "B", utc(2026, 12, 31, 23), cadence="quarterly")  # 1 Jan 08:00 JST

    def due_names(today: date, tz: ZoneInfo | None) -> list[str]:
        kw = {"tz": tz} if tz else {}
        due = due_customers(session, workspace.id, today, **kw)  # type: ignore[arg-type]
        return [d.name for d in due.get(rep.id, [])]  # type: ignore[arg-type]

    assert due_names(date(2027, 1, 4), None) == ["New Year KK"]        # UTC: the default
    assert due_names(date(2027, 1, 4), la) == ["Late Evening Inc", "New Year KK"]
    assert due_names(date(2027, 1, 4), tokyo) == []
    book = {e.name: e for e in rep_book(session, rep.id, tz=la)}  # type: ignore[arg-type]
    assert book["Late Evening Inc"].graded_on == date(2026, 12, 31)
    assert book["Late Evening Inc"].due_on == date(2027, 1, 1)
    book = {e.name: e for e in rep_book(session, rep.id)}  # type: ignore[arg-type]
    assert book["Late Evening Inc"].graded_on == date(2027, 1, 1)


def test_a_saved_grade_cannot_be_changed(session: Session, workspace: Workspace,
                                         rep: Person) -> None:
    c = customer(session, workspace, "Fixed Co", rep)
    g = grade(session, c, "B", utc(2026, 5, 1))
    g.letter = "A"
    with pytest.raises(TypeError, match=r"grade \d+ is immutable; refused changing letter"):
        session.commit()
    session.rollback()
    assert session.get(Grade, g.id, populate_existing=True).letter == "B"  # type: ignore
    session.refresh(c)
    assert c.latest_letter == "B"
