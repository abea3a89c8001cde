"""What channels learn about a person and store: a profile, a DM channel, a Teams
conversation reference; and the people imported by email still waiting for a platform id.

Each function is one short transaction of its own, tried once more on a dropped connection
(each writes the same values again: safe to redo). Channels call these (through
``Services`` or directly with the database engine), never ``storage``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from storage import people as people_db
from storage.engine import once_more_if_dropped, session_scope
from storage.models import Person, Platform, Workspace


def learn_profile(
    db: Engine,
    workspace_id: int,
    user_id: str,
    name: str,
    *,
    email: str | None = None,
    timezone: str | None = None,
) -> Person | None:
    """Store what the platform's profile says (display name, email, time zone); an imported
    person with the same email becomes this user. None when the workspace is gone."""

    def store() -> Person | None:
        with session_scope(db) as s:
            ws = s.get(Workspace, workspace_id)
            if ws is None:
                return None
            return people_db.get_or_create_person(
                s, ws, user_id, name, email=email, timezone=timezone
            )

    return once_more_if_dropped(store)


def pending_emails(db: Engine, workspace_id: int) -> list[tuple[int, str]]:
    """(person id, email) of people imported by email and not seen on the platform yet."""

    def read() -> list[tuple[int, str]]:
        with session_scope(db) as s:
            rows = s.exec(
                select(Person.id, Person.email).where(
                    Person.workspace_id == workspace_id,
                    col(Person.external_id).startswith(people_db.PENDING_PREFIX),
                )
            ).all()
            return [(pid, email) for pid, email in rows if pid is not None and email]

    return once_more_if_dropped(read)


def remember_dm(db: Engine, person_id: int, channel: str) -> None:
    """The person's DM channel with the bot (Slack), so it is opened once."""

    def store() -> None:
        with session_scope(db) as s:
            p = s.get(Person, person_id)
            if p is not None:
                p.dm_channel = channel
                s.add(p)
                s.commit()

    once_more_if_dropped(store)


def remember_conversation_ref(db: Engine, person_id: int, ref: dict[str, str]) -> bool:
    """Store a Teams conversation reference on the person when it changed; True when it
    was written."""

    def store() -> bool:
        with session_scope(db) as s:
            p = s.get(Person, person_id)
            if p is None or (p.conversation_ref or {}) == ref:
                return False
            p.conversation_ref = dict(ref)
            s.add(p)
            s.commit()
            return True

    return once_more_if_dropped(store)


def latest_conversation_ref(db: Engine, platform: str = Platform.TEAMS) -> dict[str, Any] | None:
    """The newest person's stored conversation reference with a service URL (for posts
    that name a channel but no person)."""

    def read() -> dict[str, Any] | None:
        with session_scope(db) as s:
            rows = s.exec(
                select(Person)
                .join(Workspace, col(Workspace.id) == col(Person.workspace_id))
                .where(Workspace.platform == platform)
                .order_by(col(Person.id).desc())
            ).all()
            for p in rows:
                ref = p.conversation_ref or {}
                if ref.get("conversation_id") and ref.get("service_url"):
                    return dict(ref)
        return None

    return once_more_if_dropped(read)
