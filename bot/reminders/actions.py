"""Snooze and out-of-office: what the reminder buttons do, for every platform.

Button values (see ``bot.notify``): ``rem|snooze|<delivery id>|<days>`` and
``rem|away|<delivery id>``. Only the rep a reminder was sent to may act on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from bot.reminders.plan import local_at
from bot.zones import person_zone
from storage import deliveries as dl
from storage import people as people_db
from storage.engine import session_scope
from storage.errors import InvalidInput
from storage.models import DeliveryStatus, Person, ReminderDelivery, Workspace

MAX_SNOOZE_DAYS = 30
MAX_AWAY_DAYS = 366


class Refused(InvalidInput):
    """A reminder button or out-of-office date refused, with the sentence to show the rep.
    A channel catches this one (it imports nothing from ``storage``)."""


@dataclass(frozen=True)
class ReminderAction:
    kind: str               # "snooze" | "away"
    delivery_id: int
    days: int = 0


def parse(value: str) -> ReminderAction:
    parts = value.split("|")
    try:
        if len(parts) == 4 and parts[:2] == ["rem", "snooze"]:
            days = int(parts[3])
            if 1 <= days <= MAX_SNOOZE_DAYS:
                return ReminderAction("snooze", int(parts[2]), days)
        if len(parts) == 3 and parts[:2] == ["rem", "away"]:
            return ReminderAction("away", int(parts[2]))
    except ValueError:
        pass
    raise Refused("That reminder button is not one I know.")


@dataclass(frozen=True)
class Outcome:
    text: str
    channel: str | None
    thread_ts: str | None


def _own_delivery(s: Session, person_id: int, delivery_id: int) -> ReminderDelivery:
    d = s.get(ReminderDelivery, delivery_id)
    if d is None or d.person_id != person_id:
        raise Refused("That reminder is not yours.")
    return d


def _when(dt: datetime, person: Person, ws: Workspace) -> str:
    local = dt.astimezone(person_zone(person, ws.get_settings()))
    return local.strftime("%a %-d %b, %H:%M")


def snooze(db: Engine, person_id: int, delivery_id: int, days: int,
           now: datetime) -> Outcome:
    """No follow-up for ``days`` days."""
    with session_scope(db) as s:
        person = people_db.get_person(s, person_id)
        ws = s.get(Workspace, person.workspace_id)
        assert ws is not None
        d = _own_delivery(s, person_id, delivery_id)
        if d.status == DeliveryStatus.DONE:
            return Outcome("Everything in this reminder is already graded — nothing to snooze.",
                           d.channel, d.thread_ts)
        until = now + timedelta(days=days)
        dl.snooze(s, d, until)
        return Outcome(f"Snoozed: I'll nudge you again after {_when(until, person, ws)}.",
                       d.channel, d.thread_ts)


def check_own(db: Engine, person_id: int, delivery_id: int) -> None:
    """Refuse (InvalidInput) a reminder button that is not this person's."""
    with session_scope(db) as s:
        _own_delivery(s, person_id, delivery_id)


def away_default(db: Engine, person_id: int, now: datetime) -> date:
    """The date a date picker suggests: a week from the rep's today."""
    with session_scope(db) as s:
        person = people_db.get_person(s, person_id)
        ws = s.get(Workspace, person.workspace_id)
        assert ws is not None
        return now.astimezone(person_zone(person, ws.get_settings())).date() + timedelta(7)


def set_out_of_office(db: Engine, person_id: int, back_on: date, now: datetime,
                      delivery_id: int | None = None) -> Outcome:
    """Away until ``back_on`` (reminders resume that day at the reminder hour, local)."""
    with session_scope(db) as s:
        person = people_db.get_person(s, person_id)
        ws = s.get(Workspace, person.workspace_id)
        assert ws is not None
        st = ws.get_settings()
        tz = person_zone(person, st)
        today = now.astimezone(tz).date()
        # whose reminder it is, before anything else (a forged id changes nothing)
        d = _own_delivery(s, person_id, delivery_id) if delivery_id is not None else None
        if back_on <= today:
            raise Refused("Pick a day after today.")
        if back_on > today + timedelta(days=MAX_AWAY_DAYS):
            raise Refused("Pick a day within the next year.")
        until = local_at(back_on, st.reminder_hour, tz)
        people_db.set_away(s, person, until)
        channel = thread = None
        if d is not None:
            channel, thread = d.channel, d.thread_ts
            if d.status == DeliveryStatus.SENT:
                dl.snooze(s, d, until, rearm=False)
        return Outcome(f"Out of office until {back_on.strftime('%a %-d %b')}: no reminders "
                       "or follow-ups until then.", channel, thread)
