"""Where to reach a Teams user proactively: the conversation reference on ``Person``.

Teams gives a bot no way to open a 1:1 chat from a user id alone without extra permissions, so
every activity from a user's personal chat refreshes ``Person.conversation_ref``: the
conversation id, the service URL to post to, and the bot's own id in that conversation.
Reminders, follow-ups and alerts are sent there (see ``bot.teams.notify``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from bot import people


def conversation_ref(*, conversation_id: str, service_url: str, bot_id: str,
                     bot_name: str = "", tenant_id: str = "", user_id: str = "") -> dict[str, str]:
    return {"conversation_id": conversation_id, "service_url": service_url.rstrip("/") + "/",
            "bot_id": bot_id, "bot_name": bot_name, "tenant_id": tenant_id,
            "user_id": user_id, "channel_id": "msteams"}


def remember(db: Engine, person_id: int, ref: dict[str, str]) -> bool:
    """Store ``ref`` on the person when it changed; True when it was written."""
    return people.remember_conversation_ref(db, person_id, ref)


def usable(ref: dict[str, Any] | None) -> bool:
    return bool(ref and ref.get("conversation_id") and ref.get("service_url"))


def latest_service_url(db: Engine) -> str | None:
    """A service URL Teams used recently (for posts that name a channel but no person)."""
    ref = people.latest_conversation_ref(db)
    return str(ref["service_url"]) if ref is not None and usable(ref) else None
