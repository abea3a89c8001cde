"""Look-ups (bot/lookups.py): a customer's card, a book sorted by grade, a portfolio; and who
may see what."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine

from bot.engine import Actor, Conversation
from bot.lookups import (
    BookView,
    CustomerCard,
    Denied,
    NotFoundCard,
    PortfolioView,
    book_view,
    customer_card,
    portfolio_view,
)
from scoring import Cadence, Good, Worksheet
from storage.engine import make_engine, session_scope
from storage.models import Role
from tests.conftest import copy_migrated
from tests.engine.helpers import START, Chat, Clock, People, grade_quickly, person


@dataclass
class Office:
    """The office's database, made once per module (four gradings through the engine took
    ~0.5 s of CPU per test); each test gets a copy of the file, at the moment it was made."""

    path: Path
    people: dict[str, Actor]
    moment: datetime


@pytest.fixture(scope="module")
def office_template(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path,
                    worksheet: Worksheet) -> Office:
    """bob (Slack id U123, managed by mia) has a book graded on 2026-05-12 and, for Acme,
    re-graded on 2026-07-21 (today): Acme A, Gamma B, Beta D, Delta never graded."""
    path = tmp_path_factory.mktemp("office") / "office.db"
    db = make_engine(copy_migrated(migrated_sqlite, path))
    try:
        with time_machine.travel(START, tick=True) as traveller:
            clock = Clock(traveller)
            conv = Conversation(db, worksheet, clock=clock)
            people = People(db)
            mia = people.add("mia", Role.MANAGER)
            bob = people.add("bob", manager=mia, external_id="U123")
            carl = people.add("carl")
            ada = people.add("ada", Role.ADMIN)
            chat = Chat(conv, bob)
            grade_quickly(chat, "Acme", "43442")   # A 81
            grade_quickly(chat, "Beta", "12211")   # D 26.2
            grade_quickly(chat, "Gamma", "33332")  # B 65.4
            chat.start("Delta")
            chat.pick("Create Delta")
            chat.say("cancel")
            clock.advance(days=70)
            grade_quickly(chat, "Acme", "53551")   # A 100
            with session_scope(db) as s:
                assert conv.today(s, bob.person_id) == date(2026, 7, 21)
            moment = clock()
    finally:
        db.dispose()
    return Office(path, {"mia": mia, "bob": bob, "carl": carl, "ada": ada}, moment)


@pytest.fixture
def db_url(office_template: Office, tmp_path: Path) -> str:
    """This test's copy of the office."""
    return copy_migrated(office_template.path, tmp_path / "office.db")


@pytest.fixture
def clock(office_template: Office) -> Iterator[Clock]:
    """The engine's clock, from the moment the office was made."""
    with time_machine.travel(office_template.moment, tick=True) as traveller:
        yield Clock(traveller)


@pytest.fixture
def office(office_template: Office, db: object, clock: Clock) -> dict[str, Actor]:
    return office_template.people


def noon(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 12, tzinfo=UTC)


def _look(db, actor, fn, *args, **kw):
    with session_scope(db) as s:
        return fn(s, person(db, actor), *args, **kw)


# ---------------------------------------------------------------------- customer card
def test_card_of_a_graded_customer(db, office):
    card = _look(db, office["bob"], customer_card, "  acme ")
    assert isinstance(card, CustomerCard)
    assert (card.name, card.owner, card.letter, card.total) == ("Acme", "bob", "A", 100.0)
    assert (card.recommendation, card.profile, card.cadence) == (
        "invest_more", "good_for_you", "quarterly")
    # a grade covers the whole sheet: the goods the pulse does not ask are unanswered
    assert card.dimensions == {"others": None, "skills": None, "value": 100.0, "fit": 100.0,
                               "outcomes": 100.0}
    # the second pulse re-answered all five questions of the first: nothing carried
    assert card.sheet is None
    assert card.carried_by == "Good for you, 100"
    # coverage (value 2 * 2/4 + fit 1.5 * 1/4 + outcomes 1.5 * 4/5) / 7 = 36.8%
    assert (card.provisional, card.coverage) == (True, 0.368)
    assert card.explanation == [
        "Carried by Good for you, 100.",
        "Lifted by Pays now: 5 — Excellent and growing (+20.0); Cost to serve: About right "
        "(+15.0); Outcomes delivered: 5 — Transformational (+7.5).",
        "Provisional: 37% of the worksheet answered (5 of 14 questions)."]
    assert card.headline == ("A · 100/100 (provisional, 37% answered) · invest more · "
                             "↑ +19.0 since A (81)")
    assert (card.previous_letter, card.previous_total) == ("A", 81.0)
    assert card.trend == "↑ +19.0 since A (81)"
    assert card.graded_by == "bob"
    assert card.graded_at.date() == date(2026, 7, 21)
    assert card.due_on == date(2027, 1, 1)  # an A is re-graded yearly


def test_card_of_an_ungraded_customer(db, office):
    card = _look(db, office["bob"], customer_card, "Delta")
    assert isinstance(card, CustomerCard)
    assert (card.name, card.owner, card.letter, card.total, card.due_on) == (
        "Delta", "bob", None, None, None)
    assert card.trend is None


@pytest.mark.parametrize(("query", "suggestions"), [
    ("Acm", ["Acme"]), ("Gama", ["Gamma"]), ("Zzz", []), ("", [])])
def test_card_of_an_unknown_customer_suggests(db, office, query, suggestions):
    card = _look(db, office["bob"], customer_card, query)
    assert card == NotFoundCard(query, suggestions)


def test_card_of_someone_elses_customer(db, office):
    assert _look(db, office["carl"], customer_card, "Acme") == Denied(
        "Acme is in bob's book: ask them or their manager.")
    for who in ("mia", "ada"):
        card = _look(db, office[who], customer_card, "Acme")
        assert isinstance(card, CustomerCard), who
        assert card.letter == "A"


# ---------------------------------------------------------------------- book
def _rows(view: BookView) -> list[tuple]:
    return [(e.name, e.letter, e.total, e.due_on, view.is_overdue(e)) for e in view.entries]


def test_book_sorted_by_grade_with_the_ungraded_last(db, office):
    view = _look(db, office["bob"], book_view, "", noon(2026, 7, 21))
    assert (view.owner, view.only_overdue) == ("bob", False)
    assert _rows(view) == [
        ("Acme", "A", 100.0, date(2027, 1, 1), False),
        ("Gamma", "B", 65.4, date(2026, 7, 1), True),
        ("Beta", "D", 26.2, date(2026, 7, 1), True),
        ("Delta", None, None, None, True),
    ]


def test_book_overdue_only(db, office):
    view = _look(db, office["bob"], book_view, "OVERDUE", noon(2026, 7, 21))
    assert view.only_overdue
    assert [e.name for e in view.entries] == ["Gamma", "Beta", "Delta"]
    # in the quarter they were graded in, only the never-graded one is due
    view = _look(db, office["bob"], book_view, "overdue", noon(2026, 6, 30))
    assert [e.name for e in view.entries] == ["Delta"]


@pytest.mark.parametrize("arg", ["<@U123|bob>", "<@U123>", "@bob", "bob", "U123",
                                 "overdue <@U123|bob>"])
def test_a_manager_asks_for_a_reports_book(db, office, arg):
    view = _look(db, office["mia"], book_view, arg, noon(2026, 7, 21))
    assert isinstance(view, BookView)
    assert view.owner == "bob"
    expected = ["Gamma", "Beta", "Delta"] if "overdue" in arg else [
        "Acme", "Gamma", "Beta", "Delta"]
    assert [e.name for e in view.entries] == expected


def test_an_admin_sees_anyones_book(db, office):
    view = _look(db, office["ada"], book_view, "<@U123|bob>", noon(2026, 7, 21))
    assert [e.name for e in view.entries] == ["Acme", "Gamma", "Beta", "Delta"]


def test_a_rep_cannot_see_another_reps_book(db, office):
    assert _look(db, office["carl"], book_view, "<@U123|bob>", noon(2026, 7, 21)) == Denied(
        "Only their manager or an admin can see someone else's grades.")
    assert _look(db, office["bob"], book_view, "@mia", noon(2026, 7, 21)) == Denied(
        "Only their manager or an admin can see someone else's grades.")
    view = _look(db, office["bob"], book_view, "@bob", noon(2026, 7, 21))  # oneself: fine
    assert len(view.entries) == 4


def test_an_unknown_person(db, office):
    assert _look(db, office["mia"], book_view, "<@U999|zed>", noon(2026, 7, 21)) == Denied(
        "I don't know <@U999|zed> here.")


def test_an_empty_book(db, office):
    view = _look(db, office["carl"], book_view, "", noon(2026, 7, 21))
    assert (view.owner, view.entries) == ("carl", [])


# ---------------------------------------------------------------------- portfolio
def test_portfolio_of_a_rep(db, office, worksheet):
    view = _look(db, office["bob"], portfolio_view, worksheet, noon(2026, 7, 21))
    assert isinstance(view, PortfolioView)
    p = view.portfolio
    assert (view.owner, p.customers, p.graded) == ("bob", 4, 3)
    assert p.distribution == {"A": 1, "B": 1, "C": 0, "D": 1}
    assert dict(p.shares) == {Good.US: 100.0, Good.SKILLS: 0.0, Good.OTHERS: 0.0}
    assert (p.target.share(Good.US), p.gap(Good.US)) == (60.0, 40.0)
    # others: 0% against 15% is within the 15-point tolerance
    assert [w.code for w in p.warnings] == ["over_us", "under_skills", "many_exits"]
    assert not p.in_balance
    assert [e.name for e in p.overdue] == ["Delta", "Beta", "Gamma"]
    assert [(m.name, m.previous_total, m.total, m.delta) for m in p.movers] == [
        ("Acme", 81.0, 100.0, 19.0)]
    assert [e.name for e in p.exits] == ["Beta"]


def test_portfolio_of_a_team(db, office, worksheet):
    view = _look(db, office["mia"], portfolio_view, worksheet, noon(2026, 7, 21), team=True)
    assert (view.owner, view.portfolio.customers) == ("your team", 4)
    # a rep asking for "the team" is refused (test below), never shown everyone's
    view = _look(db, office["ada"], portfolio_view, worksheet, noon(2026, 7, 21), team=True)
    assert view.portfolio.customers == 4


# ---------------------------------------------------------------------- visibility
@pytest.mark.parametrize(("who", "shown"), [("carl", []), ("bob", ["Gamma"]),
                                            ("mia", ["Gamma"]), ("ada", ["Gamma"])])
def test_did_you_mean_only_names_customers_the_person_may_see(db, office, who, shown):
    """carl (another rep) may not look bob's customers up, so he is not shown their names
    either; bob, his manager mia and the admin ada are."""
    card = _look(db, office[who], customer_card, "Gama")
    assert card == NotFoundCard("Gama", shown)


@pytest.mark.parametrize(("who", "shown"), [("carl", []), ("mia", ["Gamma"])])
def test_grading_suggestions_follow_the_same_rule(conv, office, who, shown):
    chat = Chat(conv, office[who])
    chat.start("Gama")
    prompt = chat.prompt("choose_customer")
    assert [o.label for o in prompt.choices] == [*shown, "Create Gama"]


def test_creating_a_name_taken_in_someone_elses_book_says_whose_without_its_grade(
        conv, office):
    chat = Chat(conv, office["carl"])
    for start in (lambda: chat.start("acme"), lambda: chat.start("ACME", Cadence.ANNUAL)):
        start()
        [p] = chat.last
        assert p.text == "Acme is in bob's book. Ask them or your manager to grade it."
        assert not p.choices  # (the exact line: no letter, no score)
        assert p.review is None
    # nor through a forged Create or Pick button
    from bot.engine import Choose
    from bot.engine.options import Create, encode, pick

    chat.send("[Create Acme]", Choose(encode(Create("Acme"))))
    assert chat.last[0].text == "Acme is in bob's book. Ask them or your manager to grade it."
    with session_scope(conv.db) as s:
        from storage.customers import customer_named

        acme = customer_named(s, office["bob"].workspace_id, "Acme")
    chat.send("[Pick #id]", Choose(pick(acme.id)))  # an id: not even the name
    from bot.engine.conversation import NOT_YOURS

    assert [p.text for p in chat.last] == [NOT_YOURS + " Start with the customer's name."]


def test_a_rep_asking_for_the_team_portfolio_is_told_it_needs_a_manager(db, office, worksheet):
    from bot.lookups import TEAM_NEEDS_MANAGER

    assert _look(db, office["carl"], portfolio_view, worksheet, noon(2026, 7, 21),
                 team=True) == Denied(TEAM_NEEDS_MANAGER)
    assert isinstance(_look(db, office["mia"], portfolio_view, worksheet, noon(2026, 7, 21),
                            team=True), PortfolioView)
