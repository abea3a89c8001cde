"""The sweep's part for overrides: end those whose date has passed, and tell the setter and
the customer's owner a week before an override ends and once it has ended (``bot.trust``
decides who is told what; this sends it through the platform's ``Notifier``).

Every notice goes through the reminder delivery state machine (``storage.deliveries``, see
docs/reminders.md): one row per (person, notice, override), claimed before sending, marked
done once sent. So two sweeps or replicas tell each person once, a failed send (the
platform's error, a timeout) releases the claim and the next sweep retries it (up to
``max_attempts``, then the row is ``failed``), and a sweep that died mid-send leaves a
lease the next one takes over.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from bot.notify import Notifier, Recipient
from bot.trust import OverrideNotice, due_override_notices
from storage import deliveries as dl
from storage.engine import session_scope
from storage.models import DeliveryStatus, ReminderDelivery, Workspace

log = logging.getLogger("gradebot.reminders")


async def sweep_overrides(
    db: Engine,
    ws: Workspace,
    notifier: Notifier,
    now: datetime,
    report: Any,
    *,
    claimer: str = "sweep",
    lease: timedelta = dl.LEASE,
    max_attempts: int = dl.MAX_ATTEMPTS,
) -> int:
    """Send what is due for ``ws``; returns how many notices went out."""

    def due() -> list[OverrideNotice]:
        with session_scope(db) as s:
            notices = due_override_notices(s, ws.id, now)
            rows = dl.existing_deliveries(s, ws.id, {n.period for n in notices})
            return [
                n
                for n in notices
                if dl.claimable(rows.get((n.person.id, n.kind, n.period)), now, max_attempts)
            ]

    def claim(n: OverrideNotice) -> ReminderDelivery | None:
        with session_scope(db) as s:
            return dl.claim_delivery(
                s,
                workspace_id=ws.id,
                person_id=n.person.id,
                cadence=n.kind,
                period=n.period,
                claimer=claimer,
                now=now,
                lease=lease,
                max_attempts=max_attempts,
            )

    def done(d: ReminderDelivery) -> None:
        with session_scope(db) as s:
            dl.mark_delivered(s, d, now=now)

    def failed(d: ReminderDelivery, exc: BaseException) -> None:
        with session_scope(db) as s:
            dl.mark_failed_attempt(
                s, d, f"{type(exc).__name__}: {exc}", max_attempts=max_attempts, now=now
            )

    sent = 0
    settings = ws.get_settings()
    for n in await asyncio.to_thread(due):
        d = await asyncio.to_thread(claim, n)
        if d is None:  # another sweep holds it, or sent it meanwhile
            report.skipped += 1
            continue
        try:
            await notifier.send_alert(Recipient.of(n.person, settings), n.text, [])
        except Exception as exc:
            log.error(
                "override notice %s %s to person %s failed (attempt %s; retried next sweep): %s",
                n.kind,
                n.period,
                n.person.id,
                d.attempts,
                exc,
                exc_info=exc,
            )
            report.error(f"override notice {n.kind} {n.period} person={n.person.id}", exc)
            await asyncio.to_thread(failed, d, exc)
            if d.status == DeliveryStatus.FAILED:
                report.gave_up += 1
            else:
                report.failed_attempts += 1
            continue
        await asyncio.to_thread(done, d)
        sent += 1
    report.alerts += sent
    return sent
