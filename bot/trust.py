"""Second opinions and overrides where grades are shown, and the override commands.

Channel-neutral like ``bot.lookups``: each function reads (or, for an override, writes in
one transaction of storage's) and returns plain data — lines of plain text the channels
style and escape. What the customer card shows beside its grade of record (other grades,
the disagreement flag, an override with the model's grade beside it), the manager's
optimism view, the digest's open disagreements, and ``/customer Acme override …``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from scoring import Recommendation
from scoring.opinions import (
    WARN_DAYS,
    Overridden,
    disagreement,
    latest_end,
    optimism,
    overridden,
)
from storage import opinions as opinions_db
from storage import overrides as overrides_db
from storage import people as people_db
from storage.errors import Conflict, InvalidInput
from storage.models import Customer, Grade, Person, Workspace
from storage.visibility import can_override, can_see_optimism

BLIND_NOTE = (
    "You were asked for a second opinion on {name}: its grades stay hidden from you "
    "until you save yours."
)


# ---------------------------------------------------------------------------- the card
@dataclass(frozen=True)
class TrustLines:
    """What a customer card shows beside the grade of record."""

    override: tuple[str, ...] = ()  # "Overridden: …", "Model's grade: …"
    opinions: tuple[str, ...] = ()  # "Second opinion by Dana (2026-12-02): C 55 — …"
    disagrees: bool = False

    @property
    def lines(self) -> list[str]:
        flag = ["⚠️ Second opinions disagree with the grade of record."] if self.disagrees else []
        return [*self.override, *flag, *self.opinions]


def person_name(s: Session, person_id: int | None) -> str:
    p = s.get(Person, person_id) if person_id else None
    return p.display_name if p else "someone"


def override_view(s: Session, customer_id: int, grade: Grade | None, now: datetime) -> Overridden:
    """The model's grade with the override in force over it (if any)."""
    o = overrides_db.active_override(s, customer_id, now)
    terms = o.terms(person_name(s, o.set_by_id)) if o is not None else None
    return overridden(
        grade.letter if grade else None, grade.recommendation if grade else None, terms
    )


def card_trust(
    s: Session,
    customer: Customer,
    grade: Grade | None,
    tz: ZoneInfo,
    now: datetime,
    names: Mapping[str, str] | None = None,
) -> TrustLines:
    """The override (with the model's grade beside it) and the second opinions given beside
    the current grade of record, with the disagreement flag."""
    view = override_view(s, customer.id, grade, now)
    until = view.terms.until.astimezone(tz).date() if view.terms else None
    lines: list[str] = []
    disagrees = False
    if grade is not None:
        for g in opinions_db.given_on(s, customer.id, since_grade_id=grade.id):
            d = disagreement(g.record_scores, g.scores)  # type: ignore[arg-type]
            disagrees = disagrees or d.disagrees
            verdict = f"disagrees: {d.describe(names)}" if d.disagrees else "agrees"
            lines.append(
                f"Second opinion by {g.grader} ({g.given_at.astimezone(tz).date()}): "
                f"{g.letter} {g.total:g}, "
                f"{Recommendation(g.recommendation).label} — {verdict}."
            )
    return TrustLines(tuple(view.lines(until)), tuple(lines), disagrees)


# ---------------------------------------------------------------------------- the digest
def disagreement_lines(
    s: Session,
    workspace_id: int,
    names: Mapping[str, str] | None = None,
    owner_ids: Sequence[int] | None = None,
) -> list[str]:
    """The digest's "Open disagreements" section: each customer whose current grade of
    record a second opinion disagrees with (empty when there is none)."""
    out: list[str] = []
    for g in opinions_db.current_opinions(s, workspace_id, owner_ids):
        record = g.record_scores
        if record is None:
            continue
        d = disagreement(record, g.scores)
        if d.disagrees:
            out.append(
                f"• {g.customer}: {g.record_letter} {g.record_total:g} (owner "
                f"{person_name(s, g.owner_id)}) vs {g.letter} {g.total:g} by "
                f"{g.grader} — {d.describe(names)}"
            )
    return ["Open disagreements (second opinions):", *out] if out else []


# ---------------------------------------------------------------------------- optimism
@dataclass(frozen=True)
class TextView:
    """A titled list of plain lines (channels: a header and sections, a card, print)."""

    title: str
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Refused:
    message: str


def optimism_view(s: Session, viewer: Person) -> TextView | Refused:
    """``/portfolio optimism``: per rep of the viewer's team (admins: everyone), how their
    grades of record compare with the second opinions given on them, per quarter."""
    if not can_see_optimism(viewer):
        return Refused("The optimism view is for managers and admins.")
    reps = [p for p in people_db.team_of(s, viewer) if can_see_optimism(viewer, p)]
    by_rep = optimism(opinions_db.opinion_pairs(s, viewer.workspace_id, [p.id for p in reps]))
    lines: list[str] = []
    for p in sorted(reps, key=lambda r: r.display_name.casefold()):
        o = by_rep.get(p.id)
        if o is None:
            continue
        lines.append(f"{p.display_name} — {o.overall.text.removeprefix('overall: ')}")
        lines += [f"    {q.text}" for q in o.periods]
    if not lines:
        lines = [
            "No second opinions given on your team's grades yet. Ask for one with "
            "/grade <customer> second-opinion @someone."
        ]
    return TextView(
        "Optimism: grades of record against second opinions (+ points: the rep grades higher)",
        lines,
    )


# ---------------------------------------------------------------------------- overrides
_UNTIL = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FOR = re.compile(r"^(\d{1,3})\s*(d|day|days|w|week|weeks|m|month|months)$")
_RECS = {
    "invest_more": "invest_more",
    "invest-more": "invest_more",
    "more": "invest_more",
    "maintain": "maintain",
    "invest_less": "invest_less",
    "invest-less": "invest_less",
    "less": "invest_less",
    "exit": "exit",
}
OVERRIDE_HELP = (
    "Override a grade: /customer <customer> override [A-D] [invest-more|maintain|"
    "invest-less|exit] until YYYY-MM-DD (or for 3 months) because <reason>. "
    "Also: /customer <customer> override remove, /customer <customer> overrides "
    "(the history)."
)


@dataclass(frozen=True)
class OverrideAsk:
    """``override B maintain until 2027-03-01 because …`` read into parts (None: absent)."""

    letter: str | None
    recommendation: str | None
    until: date | None
    reason: str
    problems: tuple[str, ...] = ()


def _months_later(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def parse_override(words: str, today: date) -> OverrideAsk:
    """Read the words after ``override``. Everything after ``because`` (or ``:``) is the
    reason, as typed."""
    m = re.search(r"\bbecause\b|:", words, flags=re.IGNORECASE)
    head, reason = (words[: m.start()], words[m.end() :]) if m else (words, "")
    tokens = head.split()
    letter = rec = None
    until: date | None = None
    problems: list[str] = []
    i = 0
    while i < len(tokens):
        t = tokens[i].lower()
        if len(t) == 1 and t.upper() in "ABCD":
            letter = t.upper()
        elif t in _RECS:
            rec = _RECS[t]
        elif t == "invest" and i + 1 < len(tokens) and tokens[i + 1].lower() in ("more", "less"):
            rec = _RECS[tokens[i + 1].lower()]
            i += 1
        elif t == "until" and i + 1 < len(tokens) and _UNTIL.match(tokens[i + 1]):
            try:
                until = date.fromisoformat(tokens[i + 1])
            except ValueError:
                problems.append(f"{tokens[i + 1]} is not a date.")
            i += 1
        elif t == "for" and i + 1 < len(tokens):
            rest = " ".join(tokens[i + 1 : i + 3]).lower()
            m = _FOR.match(rest) or _FOR.match(tokens[i + 1].lower())
            if m is None:
                problems.append("Say for how long: for 30 days, for 6 weeks, for 3 months.")
            else:
                n, unit = int(m.group(1)), m.group(2)[0]
                until = (
                    _months_later(today, n)
                    if unit == "m"
                    else today + timedelta(days=n * (7 if unit == "w" else 1))
                )
                i += 1 if _FOR.match(tokens[i + 1].lower()) else 2
        else:
            problems.append(f"I don't understand {tokens[i][:40]!r}. {OVERRIDE_HELP}")
            break
        i += 1
    if until is None and not problems:
        problems.append(
            f"Say until when (at most {latest_end(today).isoformat()}): until "
            "YYYY-MM-DD or for 3 months."
        )
    return OverrideAsk(letter, rec, until, reason.strip(), tuple(problems))


@dataclass(frozen=True)
class OverrideResult:
    """What to tell the one who typed the command, and whom else to tell what."""

    view: TextView | Refused
    notices: list[tuple[Person, str]] = field(default_factory=list)


def _end_of_day(d: date, tz: ZoneInfo) -> datetime:
    """An override runs to the end of its last day in the setter's calendar."""
    return datetime.combine(d, time(23, 59), tzinfo=tz).astimezone(UTC)


def override_command(
    s: Session, viewer: Person, customer: Customer, words: str, now: datetime, tz: ZoneInfo
) -> OverrideResult:
    """``override …`` / ``override remove`` / ``overrides`` on a customer the viewer may
    see (the caller found it)."""
    owner = s.get(Person, customer.owner_id) if customer.owner_id else None
    text = words.strip()
    verb, _, rest = text.partition(" ")
    if verb.lower() == "overrides":
        return OverrideResult(history_view(s, customer, tz))
    refused = _may_not_override(viewer, owner, customer)
    if refused is not None:
        return OverrideResult(refused)
    today = now.astimezone(tz).date()
    if rest.strip().lower() in ("remove", "off", "end"):
        if not overrides_db.remove_override(s, customer, viewer, now):
            return OverrideResult(Refused(f"{customer.name} has no override in force."))
        return OverrideResult(
            TextView(
                f"{customer.name}: override removed",
                ["The model's grade is the grade shown again."],
            ),
            _tell_owner(
                owner, viewer, f"{viewer.display_name} removed the override on {customer.name}."
            ),
        )
    if not rest.strip() or rest.strip().lower() == "help":
        return OverrideResult(Refused(OVERRIDE_HELP))
    ask = parse_override(rest, today)
    if ask.problems:
        return OverrideResult(Refused(" ".join(ask.problems)))
    return set_override_for(s, viewer, customer, ask, now, tz)


def _may_not_override(viewer: Person, owner: Person | None, customer: Customer
                      ) -> Refused | None:
    if can_override(viewer, owner):
        return None
    why = (
        "you own it: a rep can never overrule their own customers"
        if owner is not None and owner.id == viewer.id
        else "only a manager (for their team) or an admin can"
    )
    return Refused(f"You cannot override {customer.name}'s grade: {why}.")


def set_override_for(s: Session, viewer: Person, customer: Customer, ask: OverrideAsk,
                     now: datetime, tz: ZoneInfo) -> OverrideResult:
    """Set what ``ask`` says (from the command or the Slack form), if the viewer may: the
    result with the model's grade beside it, and the owner told."""
    owner = s.get(Person, customer.owner_id) if customer.owner_id else None
    refused = _may_not_override(viewer, owner, customer)
    if refused is not None:
        return OverrideResult(refused)
    if ask.until is None:
        return OverrideResult(Refused("Say until when the override lasts."))
    try:
        row = overrides_db.set_override(
            s, customer, viewer, letter=ask.letter, recommendation=ask.recommendation,
            reason=ask.reason, expires_at=_end_of_day(ask.until, tz), now=now)
    except (InvalidInput, Conflict) as exc:
        return OverrideResult(Refused(str(exc)))
    from storage.grades import latest_grade

    view = overridden(*(_model(latest_grade(s, customer))), row.terms(viewer.display_name))
    lines = view.lines(ask.until)
    lines.append(
        f"{owner.display_name if owner else 'The owner'} and you are told a week "
        "before it ends; it ends by itself."
    )
    return OverrideResult(
        TextView(f"{customer.name}: override set", lines),
        _tell_owner(
            owner,
            viewer,
            f"{viewer.display_name} overrode {customer.name}'s grade. " + " ".join(lines[:2]),
        ),
    )


@dataclass(frozen=True)
class OverrideForm:
    """What the override form opens with: whose, a default end, the latest end allowed."""

    customer: str
    until: date
    latest: date


def _overridable(s: Session, viewer: Person, customer_id: int) -> Customer | Refused:
    c = s.get(Customer, customer_id)
    if c is None or c.workspace_id != viewer.workspace_id:
        return Refused("That customer no longer exists.")
    owner = s.get(Person, c.owner_id) if c.owner_id else None
    refused = _may_not_override(viewer, owner, c)
    return refused if refused is not None else c


def override_form(s: Session, viewer: Person, customer_id: int, now: datetime,
                  tz: ZoneInfo) -> OverrideForm | Refused:
    c = _overridable(s, viewer, customer_id)
    if isinstance(c, Refused):
        return c
    today = now.astimezone(tz).date()
    return OverrideForm(c.name, _months_later(today, 3), latest_end(today))


def override_from_form(s: Session, viewer: Person, customer_id: int, raw: Mapping[str, str],
                       now: datetime, tz: ZoneInfo) -> OverrideResult:
    """The Slack form's fields (letter, recommendation, until, reason; "" when kept or
    empty), set through the same checks as the command."""
    c = _overridable(s, viewer, customer_id)
    if isinstance(c, Refused):
        return OverrideResult(c)
    try:
        until = date.fromisoformat(raw.get("until") or "")
    except ValueError:
        return OverrideResult(Refused("Pick the day the override ends."))
    rec = raw.get("recommendation") or None
    ask = OverrideAsk((raw.get("letter") or None), rec, until, raw.get("reason") or "")
    return set_override_for(s, viewer, c, ask, now, tz)


def _model(g: Grade | None) -> tuple[str | None, str | None]:
    return (g.letter, g.recommendation) if g is not None else (None, None)


def _tell_owner(owner: Person | None, viewer: Person, text: str) -> list[tuple[Person, str]]:
    return [(owner, text)] if owner is not None and owner.id != viewer.id else []


def history_view(s: Session, customer: Customer, tz: ZoneInfo) -> TextView:
    rows = overrides_db.history(s, customer.id)
    lines = []
    for o in rows:
        what = " and ".join(
            x
            for x in (
                f"letter {o.letter}" if o.letter else "",
                f"recommendation {Recommendation(o.recommendation).label}"
                if o.recommendation
                else "",
            )
            if x
        )
        end = (
            f"ended {o.ended_at.astimezone(tz).date()} ({o.end_reason})"
            if o.ended_at
            else f"in force until {o.expires_at.astimezone(tz).date()}"
        )
        lines.append(
            f"{o.created_at.astimezone(tz).date()}: {what} by "
            f"{person_name(s, o.set_by_id)} — {o.reason} — {end}"
        )
    return TextView(f"{customer.name}: overrides", lines or ["No overrides, ever."])


# ---------------------------------------------------------------------------- the sweep
@dataclass(frozen=True)
class OverrideNotice:
    """One person to tell one thing about one override; ``kind`` and ``period`` are its
    delivery row's key (``storage.overrides.WARN_NOTICE``/``END_NOTICE``, ``notice_period``)."""

    override_id: int
    kind: str
    person: Person
    text: str

    @property
    def period(self) -> str:
        return overrides_db.notice_period(self.override_id)


def due_override_notices(s: Session, workspace_id: int, now: datetime) -> list[OverrideNotice]:
    """End the overrides whose date passed, then every notice due now: a week before an
    override ends, and once it ended by its date, to its setter and the customer's owner.
    Whether each was already sent is the delivery rows' (``bot.reminders.overrides``)."""
    overrides_db.expire_due(s, now, workspace_id)
    out: list[OverrideNotice] = []
    for o in overrides_db.ending_soon(s, workspace_id, now, WARN_DAYS):
        out += _both(
            s,
            o,
            overrides_db.WARN_NOTICE,
            lambda c, tz, o=o: (
                f"The override on {c.name} ends on {o.expires_at.astimezone(tz).date()} — in "
                f"{_days_left(o.expires_at, now)}. Set it again with /customer "
                f"{c.name} override … if it should stay."
            ),
        )
    for o in overrides_db.recently_expired(s, workspace_id, now):
        out += _both(
            s,
            o,
            overrides_db.END_NOTICE,
            lambda c, tz, o=o: (
                f"The override on {c.name} ended on {o.expires_at.astimezone(tz).date()}: the "
                "model's grade is the grade shown again."
            ),
        )
    return out


def _days_left(end: datetime, now: datetime) -> str:
    n = max(1, (end - now).days)
    return f"{n} day{'s' if n != 1 else ''}"


def _both(
    s: Session,
    o: overrides_db.GradeOverride,
    kind: str,
    say: Callable[..., str],
) -> list[OverrideNotice]:
    from bot.zones import zone_of

    c = s.get(Customer, o.customer_id)
    if c is None:
        return []
    ids = dict.fromkeys(x for x in (o.set_by_id, c.owner_id) if x is not None)
    out = []
    for pid in ids:
        p = s.get(Person, pid)
        if p is not None and s.get(Workspace, p.workspace_id) is not None:
            out.append(OverrideNotice(o.id, kind, p, say(c, zone_of(s, p))))
    return out
