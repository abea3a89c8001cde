"""Workspaces and people: who is asking, in which tenant, with which role."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError
from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.errors import InvalidInput, NotFound
from storage.models import Customer, Person, ReminderDelivery, Role, Workspace, WorkspaceSettings
from storage.names import clean_text
from storage.visibility import can_see  # noqa: F401  (who sees what: one rule, there)

EMAIL_MAX = 254  # Person.email
# A person imported by email before they have used the bot has no platform user id yet: their
# ``external_id`` is this prefix and their email (or its hash when too long) until their first
# contact, when ``get_or_create_person`` gives that row their Slack/Teams id.
PENDING_PREFIX = "email:"


def pending_id(email: str) -> str:
    """The stand-in user id of someone known only by ``email`` (unique per email)."""
    e = email.strip().lower()
    key = PENDING_PREFIX + e
    if len(key) > 64:
        key = PENDING_PREFIX + "sha256:" + hashlib.sha256(e.encode()).hexdigest()[:40]
    return key


def is_pending(person: Person) -> bool:
    """Known only by email: imported, never seen on Slack or Teams (so not reachable there
    until their id is known)."""
    return person.external_id.startswith(PENDING_PREFIX)


def pending_by_email(session: Session, workspace_id: int, email: str) -> Person | None:
    return session.exec(select(Person).where(
        Person.workspace_id == workspace_id,
        Person.external_id == pending_id(email))).first()


def _adopt(session: Session, pending: Person, person: Person) -> None:
    """Fold ``pending`` (imported by email) into ``person`` (the same human, first seen on a
    platform under another row): their customers, reports, role, manager and time zone move
    over, then the stand-in row goes. Not committed: the caller commits, so this is all or
    nothing with the rest of the change."""
    pid, keep = pending.id, person.id
    session.execute(update(Customer).where(col(Customer.owner_id) == pid)
                    .values(owner_id=keep))
    session.execute(update(Person).where(col(Person.manager_id) == pid)
                    .values(manager_id=keep))
    # a stand-in was never reachable, so it has no sent reminder worth keeping
    session.execute(delete(ReminderDelivery).where(col(ReminderDelivery.person_id) == pid))
    if person.role == Role.REP and pending.role != Role.REP:
        person.role = pending.role
    if person.manager_id is None and pending.manager_id not in (None, keep):
        person.manager_id = pending.manager_id
    person.timezone = person.timezone or pending.timezone
    person.display_name = pending.display_name or person.display_name  # as imported
    session.add(person)
    session.flush()
    session.delete(pending)


def get_or_create_workspace(session: Session, platform: str, external_id: str,
                            name: str = "", timezone: str = "UTC") -> Workspace:
    """The tenant row for a platform id, created on first sight (race-safe) with
    ``timezone`` as its time zone setting."""
    stmt = select(Workspace).where(Workspace.platform == platform,
                                   Workspace.external_id == external_id)
    ws = session.exec(stmt).first()
    if ws is not None:
        return ws
    ws = Workspace(platform=platform, external_id=clean_text(external_id, "Workspace id", 64),
                   name=clean_text(name, "Workspace name", required=False),
                   settings=WorkspaceSettings(timezone=timezone).model_dump(mode="json"))
    session.add(ws)
    try:
        session.commit()
    except IntegrityError:  # another replica created it first
        session.rollback()
        return session.exec(stmt).one()
    return ws


def set_missing_time_zones(session: Session, timezone: str) -> int:
    """Give ``timezone`` to workspaces that have no time zone setting (created before a new
    workspace started in ``GRADEBOT_TIMEZONE``), so their reps' calendars keep the zone the
    bot used for them; returns how many. Explicit settings are never touched."""
    missing = [ws for ws in session.exec(select(Workspace)).all()
               if "timezone" not in (ws.settings or {})]
    for ws in missing:
        ws.settings = {**(ws.settings or {}), "timezone": timezone}
        session.add(ws)
    if missing:
        session.commit()
    return len(missing)


def find_workspace(session: Session, platform: str, external_id: str) -> Workspace | None:
    return session.exec(select(Workspace).where(Workspace.platform == platform,
                                                Workspace.external_id == external_id)).first()


def people_of(session: Session, workspace_id: int) -> Sequence[Person]:
    return session.exec(select(Person).where(Person.workspace_id == workspace_id)
                        .order_by(Person.display_name)).all()


def is_time_zone(name: str) -> bool:
    """An IANA zone this machine knows, short enough to store."""
    if not name or len(name) > 64:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def update_workspace_settings(session: Session, workspace: Workspace,
                              **changes: Any) -> WorkspaceSettings:
    """Validate and store settings changes (admins only; the caller checks the role). The
    time zone is checked here, on the way in, rather than in the model: a stored zone this
    machine does not know must not make the workspace unreadable (planning falls back)."""
    if "timezone" in changes and not is_time_zone(str(changes["timezone"])):
        raise InvalidInput(f"Invalid setting: unknown time zone "
                           f"{str(changes['timezone'])[:64]!r}")
    for letter, cadence in dict(changes.get("regrade_by_letter") or {}).items():
        # a letter is re-graded every quarter or every year; a strategic review is not a
        # re-grading cadence (nothing would ever be due, or everything at once)
        if not (isinstance(letter, str) and len(letter) == 1 and letter.isalpha()
                and letter.isupper()) or str(cadence) not in ("quarterly", "annual"):
            raise InvalidInput(f"Invalid setting regrade_by_letter: {str(letter)[:8]!r} = "
                               f"{str(cadence)[:16]!r}; use a grade letter and quarterly or "
                               "annual, e.g. A=annual.")
    merged = {**workspace.get_settings().model_dump(mode="json"), **changes}
    try:
        settings = WorkspaceSettings.model_validate(merged)
    except ValidationError as exc:  # one line: the first problem, where it is
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        raise InvalidInput(f"Invalid setting {where}: "
                           f"{first['msg'].removeprefix('Value error, ')}") from None
    workspace.settings = settings.model_dump(mode="json")
    session.add(workspace)
    session.commit()
    return settings


def get_or_create_person(session: Session, workspace: Workspace, external_id: str,
                         display_name: str = "", *, email: str | None = None,
                         timezone: str | None = None) -> Person:
    """The person for a platform user id; refreshes name/email/timezone when they change.
    A profile's email or time zone that cannot be stored (too long, not a zone this machine
    knows) is left out rather than keeping the person from using the bot.

    Someone imported by email before first contact is the same person: a new user id whose
    email matches takes over that row (their customers, role and manager stay theirs), and
    a known user whose profile email turns out to match one has it folded in (``_adopt``)."""
    stmt = select(Person).where(Person.workspace_id == workspace.id,
                                Person.external_id == external_id)
    person = session.exec(stmt).first()
    name = clean_text(display_name, "Display name", required=False) if display_name else ""
    email = email.strip() if email and len(email.strip()) <= EMAIL_MAX else None
    timezone = timezone if timezone and is_time_zone(timezone) else None
    pending = (pending_by_email(session, workspace.id, email)
               if email and not external_id.startswith(PENDING_PREFIX) else None)
    if person is None and pending is not None:
        person, pending = pending, None  # first contact of an imported person: claim it
        person.external_id = clean_text(external_id, "User id", 64)
        session.add(person)
        if person.display_name:
            name = ""  # the name the admin imported, not the platform's handle
    if person is not None:
        changed = pending is not None or person in session.dirty
        for attr, val in (("display_name", name), ("email", email), ("timezone", timezone)):
            if val and getattr(person, attr) != val:
                setattr(person, attr, val)
                changed = True
        if pending is not None and pending.id != person.id:
            _adopt(session, pending, person)
        if changed:
            session.add(person)
            try:
                session.commit()
            except IntegrityError:  # another request claimed the imported row first
                session.rollback()
                return session.exec(stmt).one()
        return person
    person = Person(workspace_id=workspace.id, external_id=clean_text(external_id, "User id", 64),
                    display_name=name or external_id, email=email, timezone=timezone)
    session.add(person)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return session.exec(stmt).one()
    return person


def find_person(session: Session, workspace_id: int, key: str) -> Person | None:
    """A person by platform id, email or display name (case-insensitive)."""
    key = key.strip().lstrip("@")
    # emails are stored as typed: compare them case-insensitively
    for cond in (Person.external_id == key, func.lower(Person.email) == key.lower()):
        p = session.exec(select(Person).where(Person.workspace_id == workspace_id, cond)).first()
        if p is not None:
            return p
    people = session.exec(select(Person).where(Person.workspace_id == workspace_id)).all()
    return next((p for p in people if p.display_name.casefold() == key.casefold()), None)


def set_role(session: Session, person: Person, role: Role | str,
             manager: Person | None = None) -> Person:
    """Checked before anything changes, so a refusal leaves the person as they were."""
    try:
        new_role = Role(role)
    except ValueError:
        raise InvalidInput(f"Unknown role {role!r}: use rep, manager or admin.") from None
    if manager is not None and manager.id == person.id:
        raise InvalidInput("A person cannot be their own manager.")
    person.role = new_role
    if manager is not None:
        person.manager_id = manager.id
    session.add(person)
    session.commit()
    return person


def set_away(session: Session, person: Person, until: datetime | None) -> None:
    person.away_until = until
    session.add(person)
    session.commit()


def team_of(session: Session, manager: Person) -> Sequence[Person]:
    """The manager's direct reports (and, for admins, everyone in the workspace)."""
    if manager.role == Role.ADMIN:
        return session.exec(select(Person).where(Person.workspace_id == manager.workspace_id)).all()
    return session.exec(select(Person).where(Person.manager_id == manager.id)).all()



def get_person(session: Session, person_id: int) -> Person:
    p = session.get(Person, person_id)
    if p is None:
        raise NotFound(f"No person {person_id}.")
    return p
