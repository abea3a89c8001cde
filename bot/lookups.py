"""Look-ups as plain data (a customer's card, a book, a portfolio), rendered per channel.

Permissions live here, once: reps see their own book, managers their team's, admins all.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.display import marks
from bot.engine.inputs import user_key
from bot.engine.options import pick
from bot.engine.prompts import Option
from bot.trust import BLIND_NOTE, card_trust
from bot.zones import zone_of
from scoring import BookEntry, Good, Portfolio, RegradePolicy, Worksheet, build_portfolio
from scoring.sheet import stored_note
from scoring.worksheet import GradingRules
from storage import customers as customers_db
from storage import grades as grades_db
from storage import opinions as opinions_db
from storage import people as people_db
from storage.models import Customer, Grade, Person, Role, Workspace
from storage.types import utcnow
from storage.visibility import can_override, can_see, can_see_person

LETTER_ORDER = {"A": 0, "B": 1, "C": 2, "D": 3}


@dataclass(frozen=True)
class CustomerCard:
    customer_id: int
    name: str
    owner: str | None
    status: str
    letter: str | None = None
    total: float | None = None
    recommendation: str | None = None
    profile: str | None = None
    dimensions: dict[str, float | None] = field(default_factory=dict)
    explanation: list[str] = field(default_factory=list)
    previous_letter: str | None = None
    previous_total: float | None = None
    graded_by: str | None = None
    graded_at: datetime | None = None
    cadence: str | None = None
    due_on: date | None = None  # None and graded: not scheduled; None and ungraded: due now
    summary: str | None = None
    coverage: float | None = None
    provisional: bool = False  # a letter from part of the worksheet (see coverage)
    carried_by: str | None = None  # "Good for others, 95": the good the grade rests on
    sheet: str | None = None  # "5 answers from this pulse, 9 carried from the annual of …"
    previous_profile: str | None = None
    graded_on: date | None = None  # the grade's day in the viewer's calendar
    stale: bool = False  # older than the worksheet's validity (GradingRules.is_stale)
    stale_after_days: int = GradingRules().stale_after_days
    # beside the grade of record: an override (with the model's grade), second opinions and
    # whether they disagree (bot.trust.card_trust); plain lines every channel shows
    trust: tuple[str, ...] = ()
    disagrees: bool = False
    can_override: bool = False  # the viewer may overrule it (an "Override…" button)

    @property
    def regrade(self) -> Option:
        """The card's own "Re-grade" button (every channel offers the same)."""
        return Option(value=pick(self.customer_id), label="Re-grade", style="primary")

    @property
    def outcome_menu(self) -> Option:
        """The card's "Record outcome" menu: whoever may see the card may record what
        happened (``bot.engine.outcomes``)."""
        from bot.engine.outcomes import outcome_menu

        return outcome_menu(self.customer_id)

    @property
    def headline(self) -> str:
        """"B · 72/100 · maintain · ↑ +4.0 since C (68)", with "(provisional, 80% answered)"
        or "(stale)" after the score (``bot.display.marks``; plain text, renderers escape)."""
        rec = (self.recommendation or "").replace("_", " ")
        mark = marks(self.provisional, self.coverage, self.stale)
        return f"{self.letter} · {self.total:g}/100{mark} · {rec}" + (
            f" · {self.trend}" if self.trend else "")

    @property
    def trend(self) -> str | None:
        if self.previous_total is None or self.total is None:
            return None
        d = self.total - self.previous_total
        if d == 0 and self.previous_letter == self.letter \
                and self.previous_profile == self.profile:
            return f"no change since {self.previous_letter} ({self.previous_total:g})"
        arrow = "↑" if d > 0 else "↓" if d < 0 else "→"
        return f"{arrow} {d:+.1f} since {self.previous_letter} ({self.previous_total:g})"


@dataclass(frozen=True)
class NotFoundCard:
    query: str
    suggestions: list[str]

    regrade = None  # nothing to re-grade (the same attribute as ``CustomerCard.regrade``)

    @property
    def message(self) -> str:
        text = f"No customer called {self.query}."
        if self.suggestions:
            text += " Did you mean: " + ", ".join(self.suggestions) + "?"
        return text


@dataclass(frozen=True)
class Denied:
    message: str

    regrade = None  # nothing to re-grade (the same attribute as ``CustomerCard.regrade``)


def grade_option(e: BookEntry, style: str | None = None) -> Option:
    """A book line's "Grade" button (look-ups, App Home, reminders)."""
    return Option(value=pick(e.customer_id), label="Grade", style=style)


def grade_value(e: BookEntry) -> str:
    """The value of a book line's "Grade" button, for renderers that take a value."""
    return grade_option(e).value


@dataclass(frozen=True)
class BookView:
    owner: str
    entries: list[BookEntry]
    today: date
    only_overdue: bool = False

    @property
    def overrides(self) -> dict[int, str]:
        """Customer id → "overridden: B, maintain (model: C, invest less)" for each line
        whose grade is an override's (``storage.overrides.shown`` set it on the entry)."""
        return {e.customer_id: e.override.note for e in self.entries if e.override}

    def is_overdue(self, e: BookEntry) -> bool:
        return (e.letter is None) or (e.due_on is not None and e.due_on <= self.today)


@dataclass(frozen=True)
class PortfolioView:
    owner: str
    portfolio: Portfolio
    stale_after_days: int = GradingRules().stale_after_days


def policy_of(ws: Workspace) -> RegradePolicy:
    return grades_db.policy_for(ws.get_settings().regrade_by_letter)


def with_staleness(entries: list[BookEntry], rules: GradingRules, today: date
                   ) -> list[BookEntry]:
    """A book's entries, each marked stale or not on ``today`` (the one rule: scoring's
    ``GradingRules.is_stale``)."""
    return [replace(e, stale=True) if rules.is_stale(e.graded_on, today) else e
            for e in entries]


def find_visible(s: Session, viewer: Person, name: str) -> Customer | NotFoundCard | Denied:
    """The customer called ``name`` if the viewer may see it (the one check)."""
    match = customers_db.find_customer(s, viewer.workspace_id, name, viewer=viewer)
    c = match.exact
    if c is None:
        return NotFoundCard(name.strip(), [x.name for x in match.suggestions])
    owner = s.get(Person, c.owner_id) if c.owner_id else None
    if not can_see(viewer, owner):
        who = owner.display_name if owner else "someone else"
        return Denied(f"{c.name} is in {who}'s book: ask them or their manager.")
    return c


def customer_card(s: Session, viewer: Person, name: str, *, now: datetime | None = None,
                  rules: GradingRules | None = None, names: dict[str, str] | None = None
                  ) -> CustomerCard | NotFoundCard | Denied:
    """``/customer``; ``now`` (default: the clock) and the worksheet's ``rules`` (default:
    the shipped validity) decide whether its grade is stale."""
    c = find_visible(s, viewer, name)
    if isinstance(c, NotFoundCard | Denied):
        return c
    owner = s.get(Person, c.owner_id) if c.owner_id else None
    if opinions_db.is_blind_to(s, viewer.id, c.id):
        return Denied(BLIND_NOTE.format(name=c.name))
    card = card_of(s, c, owner, zone_of(s, viewer), now=now, rules=rules, names=names)
    return replace(card, can_override=can_override(viewer, owner))


def card_of(s: Session, c: Customer, owner: Person | None, tz: ZoneInfo, *,
            now: datetime | None = None, rules: GradingRules | None = None,
            names: dict[str, str] | None = None) -> CustomerCard:
    g = grades_db.latest_grade(s, c)
    base = dict(customer_id=c.id, name=c.name, owner=owner.display_name if owner else None,
                status=c.status)
    trust = card_trust(s, c, g, tz, now or utcnow(), names)
    if g is None:
        return CustomerCard(**base, trust=tuple(trust.lines))  # type: ignore[arg-type]
    prev = s.get(Grade, g.previous_grade_id) if g.previous_grade_id else None
    grader = s.get(Person, g.grader_id) if g.grader_id else None
    ws = s.get(Workspace, c.workspace_id)
    policy = policy_of(ws) if ws else RegradePolicy()
    rules = rules or GradingRules()
    graded_on = g.created_at.astimezone(tz).date()
    return CustomerCard(
        **base, letter=g.letter, total=g.total, recommendation=g.recommendation,  # type: ignore[arg-type]
        profile=g.profile, dimensions=dict(g.dimensions), explanation=list(g.explanation),
        previous_letter=prev.letter if prev else None,
        previous_total=prev.total if prev else None,
        graded_by=grader.display_name if grader else None, graded_at=g.created_at,
        cadence=g.cadence, due_on=policy.due_date(graded_on, g.letter),
        summary=g.summary, coverage=g.coverage, provisional=bool(g.provisional),
        carried_by=_carried_by(g), sheet=_sheet(g, tz),
        previous_profile=prev.profile if prev else None, graded_on=graded_on,
        stale=rules.is_stale(graded_on, (now or utcnow()).astimezone(tz).date()),
        stale_after_days=rules.stale_after_days,
        trust=tuple(trust.lines), disagrees=trust.disagrees)


def _carried_by(g: Grade) -> str | None:
    """"Good for others, 95" from a stored grade (None before grades named their good)."""
    if not g.carrier:
        return None
    score = (g.goods or {}).get(g.carrier)
    return f"{Good(g.carrier).label}, {score:g}" if score is not None else Good(g.carrier).label


def _sheet(g: Grade, tz: ZoneInfo) -> str | None:
    """Where a stored grade's answers came from, in the reader's calendar."""
    return stored_note(g.cadence, g.sources, tz)


def book_view(s: Session, viewer: Person, arg: str, now: datetime, *,
              rules: GradingRules | None = None) -> BookView | Denied:
    """``/grades``, ``/grades overdue``, ``/grades @someone`` (managers and admins); dates,
    what is overdue and what is stale (``rules``) in the viewer's calendar."""
    words = arg.split()
    only_overdue = any(w.lower() == "overdue" for w in words)
    who = [w for w in words if w.lower() != "overdue"]
    target = viewer
    if who:
        found = people_db.find_person(s, viewer.workspace_id, user_key(who[0]))
        if found is None:
            return Denied(f"I don't know {who[0]} here.")
        if not can_see_person(viewer, found):
            return Denied("Only their manager or an admin can see someone else's grades.")
        target = found
    ws = s.get(Workspace, viewer.workspace_id)
    tz = zone_of(s, viewer)
    today = now.astimezone(tz).date()
    entries = with_staleness(grades_db.rep_book(s, target.id, policy_of(ws) if ws else None,
                                                tz, now), rules or GradingRules(), today)
    blind = opinions_db.blind_customers(s, viewer.id)
    entries = [e for e in entries if e.customer_id not in blind]  # grading them blind
    entries.sort(key=lambda e: (LETTER_ORDER.get(e.letter or "", 9), -(e.total or 0), e.name))
    view = BookView(target.display_name, entries, today, only_overdue)
    if only_overdue:
        return BookView(view.owner, [e for e in entries if view.is_overdue(e)], today, True)
    return view


TEAM_NEEDS_MANAGER = ("The team portfolio needs a manager or admin role (ask an admin to "
                      "set yours); without team it shows your own book.")


def portfolio_view(s: Session, viewer: Person, worksheet: Worksheet, now: datetime,
                   team: bool = False) -> PortfolioView | Denied:
    """The balance of a book: the viewer's own, or (``team``) their reports' — refused,
    not quietly swapped for their own book, when they manage no one."""
    if team and viewer.role not in (Role.MANAGER, Role.ADMIN):
        return Denied(TEAM_NEEDS_MANAGER)
    ws = s.get(Workspace, viewer.workspace_id)
    tz = zone_of(s, viewer)
    today = now.astimezone(tz).date()
    settings = ws.get_settings() if ws else None
    target = (settings.target_balance if settings and settings.target_balance
              else worksheet.target_balance)
    policy = policy_of(ws) if ws else None
    if team and viewer.role in (Role.MANAGER, Role.ADMIN):
        books = grades_db.team_book(s, viewer, policy, tz, now)
        entries = [e for b in books.values() for e in b]
        owner = "your team"
    else:
        entries = grades_db.rep_book(s, viewer.id, policy, tz, now)
        owner = viewer.display_name
    rules = worksheet.grading
    return PortfolioView(owner, build_portfolio(with_staleness(entries, rules, today), target,
                                                today), rules.stale_after_days)


