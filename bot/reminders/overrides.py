"""The sweep's part for overrides: tell the setter and the customer's owner a week before an
override ends, and end those whose date has passed (``bot.trust`` decides who is told what;
this sends it through the platform's ``Notifier``).

Exactly once across sweeps and replicas: each notice is claimed in the database before it
is sent (``storage.overrides.claim_warnings``), and given back when sending failed, so the
next sweep tries again. An expiry is marked ended by a guarded UPDATE before anyone is told;
an expiry notice that cannot be sent is logged, not retried (the card already shows the
model's grade: nothing depends on the notice).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from bot.notify import Notifier, Recipient
from bot.trust import OverrideNotice, due_override_notices
from storage import overrides as overrides_db
from storage.engine import session_scope
from storage.models import Workspace

log = logging.getLogger("gradebot.reminders")


async def sweep_overrides(
    db: Engine, ws: Workspace, notifier: Notifier, now: datetime, report: Any
) -> int:
    """Send what is due for ``ws``; returns how many notices went out."""

    def claim() -> tuple[list[OverrideNotice], list[int]]:
        with session_scope(db) as s:
            return due_override_notices(s, ws.id, now)

    notices, claimed = await asyncio.to_thread(claim)
    sent = 0
    failed = False
    for n in notices:
        try:
            await notifier.send_alert(Recipient.of(n.person), n.text, [])
            sent += 1
        except Exception as exc:
            failed = True
            log.error("override notice to person %s failed: %s", n.person.id, exc, exc_info=exc)
            report.error(f"override notice person={n.person.id}", exc)
    if failed and claimed:

        def release() -> None:
            with session_scope(db) as s:
                for oid in claimed:
                    overrides_db.release_warning(s, oid)

        await asyncio.to_thread(release)
    report.alerts += sent
    return sent
