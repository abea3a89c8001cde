"""Which reminders are due: for a workspace and a moment ``now`` (aware UTC), the
(person, cadence, period) deliveries that a sweep should claim and send.

Calendar rules (each in the rep's own timezone: ``Person.timezone``, else the workspace's,
else UTC):

* quarterly pulse — the first business day (Mon–Fri) of each quarter at ``reminder_hour``;
  period ``2027-Q1``;
* annual grading — the first business day of ``annual_month`` at ``reminder_hour``;
  period ``2027``;
* strategic review — each admin-set date in ``strategic_dates`` at ``reminder_hour``;
  period = the ISO date.

A reminder stays *live* from its time until its period ends (a strategic one for
``STRATEGIC_WINDOW`` or until the next strategic date), so one missed during downtime is sent
by the next sweep — once, because the delivery row is unique. A rep is reminded only when
``due_customers`` lists customers of theirs for that cadence and they are not away.

Everything above the ``# storage`` line is pure; ``plan_workspace`` reads what it needs in a
handful of queries whatever the number of reps (people, existing deliveries, and one
``due_customers`` query per time zone among the reps).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.zones import person_zone
from scoring import Cadence, RegradePolicy
from scoring.cadence import next_period_start, period_key, period_label, period_start
from storage import people as people_db
from storage import reminders as reads
from storage.deliveries import MAX_ATTEMPTS, claimable, existing_deliveries
from storage.grades import DueCustomer, due_customers, policy_for
from storage.models import Person, Workspace, WorkspaceSettings

log = logging.getLogger("gradebot.reminders")

STRATEGIC_WINDOW = timedelta(days=14)


# ---------------------------------------------------------------------- pure calendar logic
def first_business_day(year: int, month: int) -> date:
    """The first Monday–Friday of the month (public holidays are not known here)."""
    d = date(year, month, 1)
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


def local_at(d: date, hour: int, tz: ZoneInfo) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=tz)


@dataclass(frozen=True, slots=True)
class Occasion:
    """A reminder moment that has come and whose period is still running."""

    cadence: Cadence
    period: str
    at: datetime  # aware, in the rep's timezone


def occasions(now: datetime, tz: ZoneInfo, st: WorkspaceSettings) -> list[Occasion]:
    """The occasions live at ``now`` for someone in ``tz`` (fired, and period not over)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(tz).date()
    out: list[Occasion] = []
    qs = period_start(today, Cadence.QUARTERLY)
    fire = local_at(first_business_day(qs.year, qs.month), st.reminder_hour, tz)
    if fire <= now:
        out.append(Occasion(Cadence.QUARTERLY, period_key(today, Cadence.QUARTERLY), fire))
    fire = local_at(first_business_day(today.year, st.annual_month), st.reminder_hour, tz)
    if fire <= now:
        out.append(Occasion(Cadence.ANNUAL, period_key(today, Cadence.ANNUAL), fire))
    for d in sorted(set(st.strategic_dates), reverse=True):
        fire = local_at(d, st.reminder_hour, tz)
        if fire <= now:  # the latest strategic date that has come; older ones are superseded
            if now - fire < STRATEGIC_WINDOW:
                out.append(Occasion(Cadence.STRATEGIC, d.isoformat(), fire))
            break
    return out


def period_is_current(cadence: Cadence | str, period: str, today: date,
                      strategic_dates: Iterable[date] = ()) -> bool:
    """Whether a delivery's period is still the running one on ``today`` (local)."""
    c = Cadence(cadence)
    if c is not Cadence.STRATEGIC:
        return period_key(today, c) == period
    started = date.fromisoformat(period)
    later = [d for d in strategic_dates if started < d <= today]
    return not later and today < started + STRATEGIC_WINDOW


def for_cadence(customers: Iterable[DueCustomer], cadence: Cadence,
                policy: RegradePolicy) -> list[DueCustomer]:
    """The due customers a reminder of ``cadence`` lists.

    quarterly: customers whose letter calls for quarterly re-grading, and never-graded ones
    (they should not wait up to a year); annual: graded customers on the annual cadence;
    strategic: everything due (the review covers the whole book)."""
    if cadence is Cadence.STRATEGIC:
        return list(customers)
    if cadence is Cadence.QUARTERLY:
        return [c for c in customers
                if c.letter is None or policy.cadence_for(c.letter) is Cadence.QUARTERLY]
    return [c for c in customers
            if c.letter is not None and policy.cadence_for(c.letter) is Cadence.ANNUAL]


def period_bounds(cadence: Cadence | str, period: str) -> tuple[date, date]:
    """[start, end) of a period key, as dates."""
    c = Cadence(cadence)
    if c is Cadence.QUARTERLY:
        y, q = int(period[:4]), int(period[6:])
        start = date(y, 3 * (q - 1) + 1, 1)
        return start, next_period_start(start, c)
    if c is Cadence.ANNUAL:
        return date(int(period), 1, 1), date(int(period) + 1, 1, 1)
    d = date.fromisoformat(period)
    return d, d + STRATEGIC_WINDOW


def is_away(person: Person, now: datetime) -> bool:
    return person.away_until is not None and person.away_until > now


def why_unreachable(person: Person, platform: str) -> str | None:
    """Why a reminder cannot reach ``person`` yet (None: it can). Someone imported by email
    whom Slack did not know (or before a token could look them up) has no user id to DM;
    Teams cannot message anyone who has not installed the app and written to it once (no
    conversation reference)."""
    if people_db.is_pending(person):
        return ("no Slack user with this email yet (looked up at each sweep)"
                if platform == "slack" else
                "has not installed the Teams app yet" if platform == "teams" else
                "never used the bot")
    if platform == "teams" and not person.conversation_ref:
        return "has not installed the Teams app yet"
    return None


@dataclass(frozen=True, slots=True)
class Unreachable:
    """A rep with customers due whom reminders cannot reach yet (dry run, admin digest)."""

    person_id: int
    person_name: str
    email: str | None
    why: str
    due: int


@dataclass(frozen=True, slots=True)
class Planned:
    """One reminder a sweep should send now."""

    workspace_id: int
    person_id: int
    person_name: str
    timezone: str
    cadence: Cadence
    period: str
    at: datetime                      # when it was due, in the rep's timezone
    customers: tuple[DueCustomer, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return period_label(self.period)

    def why(self, limit: int = 8) -> str:
        names = [c.name for c in self.customers]
        shown = ", ".join(names[:limit]) + (f", … (+{len(names) - limit})"
                                            if len(names) > limit else "")
        n = len(names)
        return f"{n} customer{'s' if n != 1 else ''} due: {shown}"


# ---------------------------------------------------------------------- storage
def due_by_person(s: Session, ws: Workspace, people: Sequence[Person], now: datetime,
                  policy: RegradePolicy | None = None) -> dict[int, list[DueCustomer]]:
    """Each person's due customers, as of their own local date and midnight (one query per
    time zone among them)."""
    st = ws.get_settings()
    policy = policy or policy_for(st.regrade_by_letter)
    by_zone: dict[str, tuple[ZoneInfo, list[int]]] = {}
    for p in people:
        tz = person_zone(p, st)
        by_zone.setdefault(tz.key, (tz, []))[1].append(p.id)
    out: dict[int, list[DueCustomer]] = {}
    for tz, ids in by_zone.values():
        out.update(due_customers(s, ws.id, now.astimezone(tz).date(), policy, owner_ids=ids,
                                 tz=tz))
    return out


def plan_workspace(s: Session, ws: Workspace, now: datetime, *,
                   max_attempts: int = MAX_ATTEMPTS) -> list[Planned]:
    """The reminders due in ``ws`` at ``now`` that nobody has sent or is sending."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    st = ws.get_settings()
    policy = policy_for(st.regrade_by_letter)
    people = people_db.people_of(s, ws.id)
    live: dict[int, tuple[Person, list[Occasion]]] = {}
    for p in people:
        if is_away(p, now) or why_unreachable(p, ws.platform):
            continue
        occ = occasions(now, person_zone(p, st), st)
        if occ:
            live[p.id] = (p, occ)
    if not live:
        return []
    existing = existing_deliveries(
        s, ws.id, (o.period for _, occ in live.values() for o in occ))
    wanted: dict[int, tuple[Person, list[Occasion]]] = {}
    for pid, (p, occ) in live.items():
        todo = [o for o in occ if claimable(existing.get((pid, o.cadence.value, o.period)), now,
                                            max_attempts)]
        if todo:
            wanted[pid] = (p, todo)
    if not wanted:
        return []
    due = due_by_person(s, ws, [p for p, _ in wanted.values()], now, policy)
    out: list[Planned] = []
    for pid, (p, occ) in sorted(wanted.items(), key=lambda kv: kv[1][0].display_name):
        for o in occ:
            items = for_cadence(due.get(pid, []), o.cadence, policy)
            if items:
                out.append(Planned(ws.id, pid, p.display_name, str(o.at.tzinfo), o.cadence,
                                   o.period, o.at, tuple(items)))
    return out


def not_reachable(s: Session, ws: Workspace, now: datetime) -> list[Unreachable]:
    """Reps of ``ws`` who own customers that are due but whom reminders cannot reach yet."""
    people = [p for p in people_db.people_of(s, ws.id)
              if why_unreachable(p, ws.platform)]
    if not people:
        return []
    due = due_by_person(s, ws, people, now.astimezone(UTC))
    return [Unreachable(p.id, p.display_name, p.email,
                        why_unreachable(p, ws.platform) or "", len(due[p.id]))
            for p in sorted(people, key=lambda p: p.display_name.casefold())
            if due.get(p.id)]


def plan(s: Session, now: datetime, platforms: Iterable[str] | None = None,
         workspace_id: int | None = None) -> list[Planned]:
    """Every workspace's plan (optionally only some platforms or one workspace)."""
    out: list[Planned] = []
    for ws in reads.workspaces(s, platforms, workspace_id):
        out += plan_workspace(s, ws, now)
    return out
