"""The sweep's part for renewal dates: ask a customer's owner "Did Acme renew?" once its
renewal date has passed with no decision recorded (``storage.outcomes.renewals_due``), in
their DM / personal chat, with buttons renewed / expanded / churned / not yet
(``bot.engine.outcomes.renewal_options``; a tap is handled like the card's outcome menu).

Once across sweeps, replicas and reruns: each question is a row of the delivery state machine
(``storage.renewals``, ``storage.deliveries``) claimed before it is sent — a failed send
releases the claim (``mark_failed_attempt``) and the next sweep sends it again, up to the
reminders' attempts. "Not yet" sets when to ask again; that re-ask is claimed once per due
time (``claim_followup``) and released if it cannot be sent. A question whose customer got
a decision some other way (the CLI, an import, the card) is closed without asking again.

A question goes out from the workspace's reminder hour on the day after the renewal date
(in the workspace's time zone), never to someone out of office or not reachable yet; it
depends on the platforms only through the ``Notifier`` protocol.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from bot import display
from bot.engine.outcomes import renewal_options
from bot.notify import Notifier, Recipient
from bot.reminders.plan import is_away, why_unreachable
from bot.zones import zone
from storage import deliveries as dl
from storage import renewals as renewals_db
from storage.engine import session_scope
from storage.models import Person, ReminderDelivery, Workspace, WorkspaceSettings

log = logging.getLogger("gradebot.reminders")


@dataclass(frozen=True)
class Ask:
    """One question to send now: a new one (``again`` False) or a "not yet" asked again."""

    delivery: ReminderDelivery
    to: Recipient
    customer_id: int
    customer: str
    renewal_on: date
    again: bool = False


def asked_through(st: WorkspaceSettings, now: datetime) -> date:
    """Renewal dates before this day are asked about now: today from the workspace's
    reminder hour on, else yesterday (no question at midnight)."""
    local = now.astimezone(zone(st.timezone))
    return local.date() if local.hour >= st.reminder_hour else local.date() - timedelta(days=1)


def _reachable(p: Person, ws: Workspace, now: datetime) -> bool:
    return not is_away(p, now) and why_unreachable(p, ws.platform) is None


def claim_asks(
    db: Engine,
    ws: Workspace,
    now: datetime,
    *,
    claimer: str,
    lease: timedelta = dl.LEASE,
    max_attempts: int = dl.MAX_ATTEMPTS,
) -> list[Ask]:
    """Claim every question due in ``ws`` now (``storage.renewals.claim_asks``), each with
    where to send it."""
    st = ws.get_settings()
    with session_scope(db) as s:
        claimed = renewals_db.claim_asks(
            s, ws.id, asked_through(st, now), now,
            reachable=lambda p: _reachable(p, ws, now),
            claimer=claimer, lease=lease, max_attempts=max_attempts,
        )  # (each claim commits: the owners are read again, so inside the session)
        return [Ask(c.delivery, Recipient.of(c.owner, st), c.customer_id, c.customer,
                    c.renewal_on, again=c.again) for c in claimed]


async def sweep_renewals(
    db: Engine,
    ws: Workspace,
    notifier: Notifier,
    now: datetime,
    report: Any,
    *,
    claimer: str,
    lease: timedelta = dl.LEASE,
    max_attempts: int = dl.MAX_ATTEMPTS,
) -> int:
    """Ask what is due in ``ws``; returns how many questions went out."""
    asks = await asyncio.to_thread(
        claim_asks, db, ws, now, claimer=claimer, lease=lease, max_attempts=max_attempts
    )
    sent = 0
    for a in asks:
        text = display.renewal_question(a.customer, a.renewal_on)
        try:
            await notifier.send_alert(a.to, text, renewal_options(a.customer_id, a.delivery.id))
        except Exception as exc:
            log.error(
                "renewal question %s (customer %s) failed (retried next sweep): %s",
                a.delivery.id,
                a.customer_id,
                exc,
                exc_info=exc,
            )
            report.error(f"renewal delivery={a.delivery.id}", exc)
            await asyncio.to_thread(_release, db, a, now, max_attempts, exc)
            continue
        if not a.again:
            await asyncio.to_thread(_sent, db, a.delivery, now)
        sent += 1
    report.renewals += sent
    return sent


def _sent(db: Engine, d: ReminderDelivery, now: datetime) -> None:
    with session_scope(db) as s:
        dl.mark_sent(
            s, d, channel=None, thread_ts=None, customers_due=1, next_followup_at=None, now=now
        )


def _release(db: Engine, a: Ask, now: datetime, max_attempts: int, exc: BaseException) -> None:
    """Give the claim back so the next sweep asks again."""
    with session_scope(db) as s:
        if a.again:
            dl.release_followup(s, a.delivery.id, claimed_next_at=None, now=now)
        else:
            dl.mark_failed_attempt(
                s, a.delivery, f"{type(exc).__name__}: {exc}", max_attempts=max_attempts, now=now
            )
