"""Second opinions and overrides in storage, on every backend: a request and its grading
open together, the opinion's grade never becomes the grade of record, overrides keep their
history, expire and warn exactly once; the permission rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from storage import opinions as opinions_db
from storage import overrides as overrides_db
from storage.csvio import export_grades
from storage.errors import InvalidInput
from storage.grades import grade_history, latest_grade, rep_book, stored_grades
from storage.models import Grade, GradingSession, Person, Role, SessionStatus, Workspace
from storage.sessions import ActiveSessionExists, start_session
from storage.visibility import can_ask_opinion, can_give_opinion, can_override, can_see_optimism
from tests.storage.helpers import customer, grade, person, utc

NOW = utc(2026, 12, 2, 9)


def _ask(session: Session, c, asker: Person, assignee: Person):  # type: ignore[no-untyped-def]
    return opinions_db.ask(
        session,
        customer=c,
        asked_by=asker,
        assignee=assignee,
        cadence="annual",
        worksheet_id="default",
        worksheet_version=1,
        platform="cli",
        state={"customer": c.name},
    )


def _opinion_row(
    c,
    grader: Person,
    letter: str,
    total: float,  # type: ignore[no-untyped-def]
    dims: dict[str, float],
) -> Grade:
    return Grade(
        workspace_id=c.workspace_id,
        customer_id=c.id,
        grader_id=grader.id,
        cadence="annual",
        period="2026",
        worksheet_id="default",
        worksheet_version=1,
        total=total,
        letter=letter,
        recommendation="maintain",
        coverage=1.0,
        dimensions=dims,
        goods={},
        explanation=["e"],
        answers={"q": 1},
    )


def test_a_given_opinion_never_becomes_the_grade_of_record(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    dana = person(session, workspace, "dana")
    c = customer(session, workspace, "Acme", rep)
    record = grade(session, c, "A", utc(2026, 11, 1))
    req, gs = _ask(session, c, rep, dana)
    assert (req.status, gs.person_id, gs.kind, gs.state["opinion_id"]) == (
        "open",
        dana.id,
        "opinion",
        req.id,
    )
    assert opinions_db.is_blind_to(session, dana.id, c.id)  # type: ignore[arg-type]
    og = opinions_db.give(session, req, gs, _opinion_row(c, dana, "C", 55, {"fit": 40.0}), c)
    session.refresh(c)
    assert c.latest_grade_id == record.id
    assert c.latest_letter == "A"
    assert latest_grade(session, c).id == record.id  # type: ignore[union-attr]
    assert [g.id for g in grade_history(session, c.id)] == [record.id]  # type: ignore[arg-type]
    assert [g.letter for g in stored_grades(session, workspace.id)] == ["A"]
    assert [e.letter for e in rep_book(session, rep.id)] == ["A"]  # type: ignore[arg-type]
    assert session.exec(select(Grade)).all() == [record]
    assert og.record_grade_id == record.id
    assert session.get(GradingSession, gs.id).status == SessionStatus.SAVED  # type: ignore[union-attr]
    assert req.status == "given"
    assert req.answered_at is not None
    assert not opinions_db.is_blind_to(session, dana.id, c.id)  # type: ignore[arg-type]
    given = opinions_db.current_opinions(session, workspace.id)
    assert [(g.customer, g.letter, g.record_letter, g.grader) for g in given] == [
        ("Acme", "C", "A", "Dana")
    ]
    # a new grade of record supersedes the opinions given beside the old one
    grade(session, c, "B", utc(2026, 12, 1))
    assert opinions_db.current_opinions(session, workspace.id) == []
    assert len(opinions_db.given_on(session, c.id)) == 1  # type: ignore[arg-type]


def test_the_export_holds_only_grades_of_record(
    session: Session, workspace: Workspace, rep: Person, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    dana = person(session, workspace, "dana")
    c = customer(session, workspace, "Acme", rep)
    grade(session, c, "A", utc(2026, 11, 1))
    req, gs = _ask(session, c, rep, dana)
    opinions_db.give(session, req, gs, _opinion_row(c, dana, "D", 20, {}), c)
    out = tmp_path / "grades.csv"
    with out.open("w", newline="") as f:
        assert export_grades(session, workspace.id, f) == 1
    assert ",D," not in out.read_text()


def test_one_open_request_per_customer_and_assignee(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    dana = person(session, workspace, "dana")
    c = customer(session, workspace, "Acme", rep)
    req, _ = _ask(session, c, rep, dana)
    with pytest.raises(opinions_db.OpinionExists) as exc:
        _ask(session, c, rep, dana)
    assert exc.value.existing.id == req.id
    assert len(opinions_db.requests_of(session, c.id)) == 1  # type: ignore[arg-type]


def test_asking_someone_already_grading_the_customer_writes_nothing(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    boss = person(session, workspace, "boss", role=Role.MANAGER)
    c = customer(session, workspace, "Acme", rep)
    start_session(
        session,
        workspace_id=workspace.id,
        person_id=boss.id,
        customer_id=c.id,  # type: ignore[arg-type]
        cadence="annual",
        worksheet_id="default",
        worksheet_version=1,
        platform="cli",
    )
    with pytest.raises(ActiveSessionExists):
        _ask(session, c, rep, boss)
    assert opinions_db.requests_of(session, c.id) == []  # type: ignore[arg-type]
    assert len(session.exec(select(GradingSession)).all()) == 1


def test_giving_a_cancelled_request_is_refused(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    dana = person(session, workspace, "dana")
    c = customer(session, workspace, "Acme", rep)
    req, gs = _ask(session, c, rep, dana)
    opinions_db.cancel(session, req)
    session.commit()
    with pytest.raises(opinions_db.Conflict):
        opinions_db.give(session, req, gs, _opinion_row(c, dana, "B", 70, {}), c)
    assert session.exec(select(opinions_db.OpinionGrade)).all() == []


def test_opinion_pairs_are_per_rep_of_the_grade_of_record(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    dana = person(session, workspace, "dana")
    other = person(session, workspace, "otto")
    for name, letter, total in (("Acme", "A", 85.0), ("Beta", "B", 70.0)):
        c = customer(session, workspace, name, rep)
        grade(session, c, letter, utc(2026, 10, 1))
        req, gs = _ask(session, c, rep, dana)
        opinions_db.give(session, req, gs, _opinion_row(c, dana, "C", total - 20, {}), c)
    pairs = opinions_db.opinion_pairs(session, workspace.id, [rep.id, other.id])  # type: ignore[list-item]
    assert sorted((p.rep_id, p.record_total - p.other_total) for p in pairs) == [
        (rep.id, 20.0),
        (rep.id, 20.0),
    ]


# ---------------------------------------------------------------------------- overrides
def test_override_history_replace_remove_and_one_in_force(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    boss = person(session, workspace, "boss", role=Role.MANAGER)
    c = customer(session, workspace, "Acme", rep)
    first = overrides_db.set_override(
        session,
        c,
        boss,
        letter="b",
        recommendation=None,
        reason="Signed a 3-year deal",
        now=NOW,
        expires_at=NOW + timedelta(days=90),
    )
    assert first.letter == "B"
    second = overrides_db.set_override(
        session,
        c,
        boss,
        letter=None,
        recommendation="invest_more",
        reason="Strategic logo",
        now=NOW + timedelta(hours=1),
        expires_at=NOW + timedelta(days=30),
    )
    assert overrides_db.active_override(session, c.id, NOW + timedelta(hours=2)).id == second.id  # type: ignore[arg-type, union-attr]
    hist = overrides_db.history(session, c.id)  # type: ignore[arg-type]
    assert [(h.id, h.end_reason) for h in hist] == [(second.id, None), (first.id, "replaced")]
    assert overrides_db.remove_override(session, c, boss, NOW + timedelta(hours=3))
    assert overrides_db.active_override(session, c.id, NOW + timedelta(hours=4)) is None  # type: ignore[arg-type]
    assert not overrides_db.remove_override(session, c, boss, NOW + timedelta(hours=5))
    assert [h.end_reason for h in overrides_db.history(session, c.id)] == [  # type: ignore[arg-type]
        "removed",
        "replaced",
    ]


@pytest.mark.parametrize(
    ("letter", "rec", "reason", "days", "says"),
    [
        ("B", None, "  ", 30, "A reason is required."),
        (None, None, "why", 30, "Say what to override"),
        ("E", None, "why", 30, "not a letter"),
        (None, "grow", "why", 30, "recommendation must be"),
        ("B", None, "why", 0, "after today"),
        ("B", None, "why", 367, "at most 12 months"),
        ("B", None, "why\u202e", 30, "control character"),
        ("B", None, "x" * 501, 30, "too long"),
    ],
)
def test_a_refused_override_says_why_and_changes_nothing(
    session: Session,
    workspace: Workspace,
    rep: Person,
    letter: str | None,
    rec: str | None,
    reason: str,
    days: int,
    says: str,
) -> None:
    boss = person(session, workspace, "boss", role=Role.MANAGER)
    c = customer(session, workspace, "Acme", rep)
    with pytest.raises(InvalidInput, match=says):
        overrides_db.set_override(
            session,
            c,
            boss,
            letter=letter,
            recommendation=rec,
            reason=reason,
            now=NOW,
            expires_at=NOW + timedelta(days=days),
        )
    assert overrides_db.history(session, c.id) == []  # type: ignore[arg-type]


def test_a_year_is_the_longest_override(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    boss = person(session, workspace, "boss", role=Role.MANAGER)
    c = customer(session, workspace, "Acme", rep)
    o = overrides_db.set_override(
        session,
        c,
        boss,
        letter="A",
        recommendation=None,
        reason="r",
        now=NOW,
        expires_at=utc(2027, 12, 2, 23),
    )
    assert o.expires_at == utc(2027, 12, 2, 23)


def test_expiry_and_who_is_due_a_notice_when(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    boss = person(session, workspace, "boss", role=Role.MANAGER)
    c = customer(session, workspace, "Acme", rep)
    o = overrides_db.set_override(
        session,
        c,
        boss,
        letter="A",
        recommendation=None,
        reason="r",
        now=NOW,
        expires_at=NOW + timedelta(days=10),
    )
    def soon(at):  # type: ignore[no-untyped-def]
        return [x.id for x in overrides_db.ending_soon(session, workspace.id, at)]

    assert soon(NOW + timedelta(days=2)) == []
    assert soon(NOW + timedelta(days=3, hours=1)) == [o.id]  # within the week before
    assert soon(NOW + timedelta(days=10, seconds=1)) == []  # over: no more "ends on"
    # past its end it is not in force, before and after the sweep marks it
    later = NOW + timedelta(days=10, seconds=1)
    assert overrides_db.active_override(session, c.id, later) is None  # type: ignore[arg-type]
    assert overrides_db.active_overrides(session, [c.id], NOW) == {c.id: o}  # type: ignore[list-item]
    assert overrides_db.recently_expired(session, workspace.id, later) == []  # not marked yet
    assert [e.id for e in overrides_db.expire_due(session, later)] == [o.id]
    assert overrides_db.expire_due(session, later) == []
    assert [e.id for e in overrides_db.recently_expired(session, workspace.id, later)] == [o.id]
    assert overrides_db.recently_expired(session, workspace.id, later + timedelta(days=8)) == []
    (ended,) = overrides_db.history(session, c.id)  # type: ignore[arg-type]
    assert (ended.end_reason, ended.ended_at) == ("expired", o.expires_at)


def test_an_override_is_the_grade_counted_and_shown_until_it_ends(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    """The book, the portfolio, the digest's exit list and the export all read the grade
    of record through ``overrides.shown``: a model C/exit overridden to A/invest more is an
    A nobody is told to exit — until the override ends, when the model's grade is back."""
    import csv
    import io

    from scoring import build_portfolio, load_worksheet
    from storage.reminders import exit_picks

    boss = person(session, workspace, "Mia", role=Role.MANAGER)
    acme = customer(session, workspace, "Acme", rep)
    beta = customer(session, workspace, "Beta", rep)
    grade(session, acme, "C", utc(2026, 11, 1), recommendation="exit")
    grade(session, beta, "B", utc(2026, 11, 1), recommendation="maintain")
    target = load_worksheet().target_balance
    ends = NOW + timedelta(days=30)
    overrides_db.set_override(session, acme, boss, letter="A", recommendation="invest_more",
                              reason="Board seat", now=NOW, expires_at=ends)
    overrides_db.set_override(session, beta, boss, letter=None, recommendation="exit",
                              reason="Fraud case", now=NOW, expires_at=ends)

    def letters(at):  # type: ignore[no-untyped-def]
        return {e.name: (e.letter, e.recommendation) for e in rep_book(session, rep.id, now=at)}

    during = NOW + timedelta(days=1)
    assert letters(during) == {"Acme": ("A", "invest_more"), "Beta": ("B", "exit")}
    acme_line = {e.name: e for e in rep_book(session, rep.id, now=during)}["Acme"]
    assert acme_line.override is not None
    assert acme_line.override.note == "overridden: A, invest more (model: C, exit)"
    p = build_portfolio(rep_book(session, rep.id, now=during), target, during.date())
    assert (p.distribution["A"], p.distribution["C"]) == (1, 0)
    assert [e.name for e in p.exits] == ["Beta"]
    assert [x.customer for x in exit_picks(session, workspace.id, during)] == ["Beta"]
    (beta_pick,) = exit_picks(session, workspace.id, during)
    assert beta_pick.override is not None
    assert beta_pick.override.model_words == "B, maintain"
    out = io.StringIO()
    export_grades(session, workspace.id, out, now=during)
    rows = {r["customer"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert (rows["Acme"]["letter"], rows["Acme"]["override_letter"]) == ("C", "A")
    assert rows["Acme"]["override_recommendation"] == "invest_more"
    assert (rows["Acme"]["override_by"], rows["Acme"]["override_reason"]) == ("Mia", "Board seat")
    assert rows["Beta"]["override_until"] == ends.date().isoformat()
    # past its end (before any sweep marks it ended): the model's grade everywhere again
    after = ends + timedelta(seconds=1)
    assert letters(after) == {"Acme": ("C", "exit"), "Beta": ("B", "maintain")}
    p = build_portfolio(rep_book(session, rep.id, now=after), target, after.date())
    assert (p.distribution["A"], p.distribution["C"]) == (0, 1)
    assert [x.customer for x in exit_picks(session, workspace.id, after)] == ["Acme"]
    assert exit_picks(session, workspace.id, after)[0].override is None


def test_a_new_grade_keeps_the_override_and_an_ungraded_customer_stays_ungraded(
    session: Session, workspace: Workspace, rep: Person
) -> None:
    boss = person(session, workspace, "Mia", role=Role.MANAGER)
    acme = customer(session, workspace, "Acme", rep)
    overrides_db.set_override(session, acme, boss, letter="A", recommendation=None,
                              reason="r", now=NOW, expires_at=NOW + timedelta(days=30))
    (line,) = rep_book(session, rep.id, now=NOW)
    assert (line.letter, line.override) == (None, None)  # nothing graded: nothing overridden
    grade(session, acme, "D", NOW + timedelta(hours=1))
    (line,) = rep_book(session, rep.id, now=NOW + timedelta(hours=2))
    assert (line.letter, line.recommendation) == ("A", "maintain")  # only the letter set
    assert line.override is not None
    assert line.override.model_letter == "D"


# ---------------------------------------------------------------------------- permissions
def test_who_may_ask_give_override_and_see_optimism(session: Session, workspace: Workspace) -> None:
    boss = person(session, workspace, "boss", role=Role.MANAGER)
    other_boss = person(session, workspace, "otherboss", role=Role.MANAGER)
    admin = person(session, workspace, "root", role=Role.ADMIN)
    rita = person(session, workspace, "rita", manager=boss)
    sam = person(session, workspace, "sam")
    assert can_ask_opinion(rita, rita)
    assert can_ask_opinion(boss, rita)
    assert can_ask_opinion(admin, rita)
    assert not can_ask_opinion(sam, rita)
    assert not can_ask_opinion(other_boss, rita)
    assert not can_ask_opinion(rita, None)
    assert can_give_opinion(sam, rita)
    assert can_give_opinion(boss, rita)
    assert not can_give_opinion(rita, rita)
    assert can_override(boss, rita)
    assert can_override(admin, rita)
    assert not can_override(rita, rita)
    assert not can_override(sam, rita)
    assert not can_override(other_boss, rita)
    assert not can_override(boss, boss)
    assert not can_override(admin, admin)
    assert can_see_optimism(boss, rita)
    assert can_see_optimism(admin, rita)
    assert not can_see_optimism(rita, rita)
    assert not can_see_optimism(other_boss, rita)
