"""One reminder sweep: the database decides what is due and who sends it.

Every process (each replica of the bot, or ``gradebot remind --now``) may sweep at any time;
a sweep never relies on memory from the last one. For each workspace whose platform has a
``Notifier``:

1. ``Notifier.prepare`` (Slack looks up people imported by email);
2. close finished threads: a sent reminder whose rep has graded everything gets its parent
   updated to "All graded ✓" (``claim_close``: SENT → DONE, once across processes);
3. new reminders: ``plan_workspace`` → ``claim_delivery`` (a unique row per workspace,
   person, cadence and period, held by a 5-minute lease) → ``Notifier.send_reminder`` →
   ``mark_sent`` with the thread and the first follow-up time. A send error is logged,
   recorded on the row (``mark_failed_attempt``) and retried by the next sweep; after
   ``max_attempts`` the row is marked failed;
4. the manager digest of the quarter just ended, once (``record_event`` claim);
5. grade-drop alerts to owners, once per grade (``record_event`` claim).

Then follow-ups (``followups_due`` → ``claim_followup``, one per due time across replicas →
re-compute what is still due → reply in the same thread, or close it).

A process that dies between claiming and sending leaves a ``claimed`` row whose lease runs
out; a later sweep (any process) re-claims it and sends, counting the attempt. Rows that
exhausted their attempts that way are marked failed (``give_up_abandoned``).

Every state transition is in ``storage.deliveries`` (docs/reminders.md draws the machine);
the other reads are in ``storage.reminders``. This module decides and sends; it writes no
SQL, and knows the platforms only through the ``Notifier`` protocol.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from bot.notify import DigestMessage, Notifier, PartiallySent, Recipient, ThreadRef
from bot.observability import REMINDERS
from bot.reminders import messages
from bot.reminders.overrides import sweep_overrides
from bot.reminders.plan import (
    Planned,
    due_by_person,
    first_business_day,
    for_cadence,
    is_away,
    local_at,
    not_reachable,
    period_bounds,
    period_is_current,
    plan_workspace,
)
from bot.reminders.renewals import sweep_renewals
from bot.trust import disagreement_lines
from bot.zones import person_zone, zone
from scoring import Cadence
from scoring.cadence import period_key, period_label, period_start
from scoring.opinions import OverrideTerms
from scoring.worksheet import GradingRules
from storage import deliveries as dl
from storage import reminders as reads
from storage.engine import session_scope
from storage.events import prune_events, record_event
from storage.grades import DueCustomer, due_customers, policy_for
from storage.models import DeliveryStatus, Person, ReminderDelivery, Workspace
from storage.overrides import terms_in_force
from storage.reminders import DROP_SCOPE, DropAlert
from storage.types import utcnow

T = TypeVar("T")

log = logging.getLogger("gradebot.reminders")

PRUNE_EVERY = timedelta(hours=6)  # how often a process forgets old event ids


def default_claimer() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class SweepReport:
    sent: int = 0
    completed: int = 0         # partially sent threads finished on a retry
    skipped: int = 0           # claimed by another process first
    failed_attempts: int = 0
    gave_up: int = 0
    followups: int = 0
    closed: int = 0
    expired: int = 0           # threads of a period that ended, closed quietly
    digests: int = 0
    alerts: int = 0
    pruned: int = 0            # old event ids forgotten
    renewals: int = 0          # "Did Acme renew?" questions asked (bot.reminders.renewals)
    errors: list[str] = field(default_factory=list)

    def error(self, what: str, exc: BaseException) -> None:
        self.errors.append(f"{what}: {type(exc).__name__}: {exc}"[:300])

    def summary(self) -> str:
        return (f"{self.sent} sent, {self.completed} completed, {self.followups} follow-ups, "
                f"{self.closed} closed, {self.digests} digests, {self.alerts} alerts, "
                f"{self.renewals} renewal questions, "
                f"{self.skipped} claimed elsewhere, {self.failed_attempts} failed attempts "
                f"(retried next sweep), {self.gave_up} given up")


class Sweeper:
    """Runs sweeps against ``db`` with one notifier per platform."""

    def __init__(self, db: Engine, notifiers: Iterable[Notifier], *,
                 clock: Callable[[], datetime] = utcnow, claimer: str | None = None,
                 lease: timedelta = dl.LEASE, max_attempts: int = dl.MAX_ATTEMPTS,
                 concurrency: int = 4, rules: GradingRules | None = None,
                 dimension_names: Mapping[str, str] | None = None) -> None:
        self.db = db
        # the worksheet's grading rules: a due line says "stale" exactly when the card does
        self.rules = rules or GradingRules()
        # the worksheet's names for stored dimension ids, for the digest's disagreements
        self.dimension_names = dict(dimension_names or {})
        self.notifiers = {n.platform: n for n in notifiers}
        self.clock = clock
        self.claimer = (claimer or default_claimer())[:64]
        self.lease = lease
        self.max_attempts = max_attempts
        self.concurrency = max(1, concurrency)
        self.pruned_at: datetime | None = None

    def _db(self, fn: Callable[[Session], T]) -> T:
        """``fn`` in a session of its own (run in a worker thread: ``asyncio.to_thread``)."""
        with session_scope(self.db) as s:
            return fn(s)

    # ------------------------------------------------------------------ the sweep
    async def sweep(self, now: datetime | None = None) -> SweepReport:
        now = (now or self.clock()).astimezone(UTC)
        report = SweepReport()
        try:
            workspaces = await asyncio.to_thread(self._workspaces)
        except Exception as exc:
            log.exception("reminder sweep: cannot read workspaces")
            report.error("workspaces", exc)
            return report
        for ws in workspaces:
            notifier = self.notifiers[ws.platform]
            for step in (self._close_completed, self._reminders, self._digest, self._alerts,
                         self._overrides, self._renewals):
                try:
                    await step(ws, notifier, now, report)
                except Exception as exc:
                    log.exception("reminder sweep: %s failed for workspace %s",
                                  step.__name__, ws.id)
                    report.error(f"{step.__name__} ws={ws.id}", exc)
        try:
            await self._followups(now, report)
        except Exception as exc:
            log.exception("reminder sweep: follow-ups failed")
            report.error("followups", exc)
        try:
            report.gave_up += await asyncio.to_thread(self._db, lambda s: dl.give_up_abandoned(
                s, now, self.max_attempts))
        except Exception as exc:
            log.exception("reminder sweep: marking abandoned claims failed")
            report.error("give_up", exc)
        if self.pruned_at is None or now - self.pruned_at >= PRUNE_EVERY:
            try:
                report.pruned = await asyncio.to_thread(self._prune, now)
                self.pruned_at = now
            except Exception as exc:
                log.exception("reminder sweep: pruning old event ids failed")
                report.error("prune", exc)
        if report.sent or report.followups or report.closed or report.errors or report.alerts \
                or report.renewals:
            log.info("reminder sweep at %s: %s", now.isoformat(timespec="minutes"),
                     report.summary())
        return report

    def _prune(self, now: datetime) -> int:
        """Forget old event ids and claims (storage.events.RETENTION), at start-up and every
        few hours after: every Slack event adds a row."""
        with session_scope(self.db) as s:
            return prune_events(s, now=now)

    def _workspaces(self) -> list[Workspace]:
        return self._db(lambda s: reads.workspaces(s, self.notifiers))

    # ------------------------------------------------------------------ new reminders
    async def _reminders(self, ws: Workspace, notifier: Notifier, now: datetime,
                         report: SweepReport) -> None:
        await self._prepare(ws, notifier, now)
        plans = await asyncio.to_thread(self._plan, ws, now)
        if not plans:
            return
        gate = asyncio.Semaphore(self.concurrency)
        st = ws.get_settings()
        first_followup = (now + timedelta(days=st.followup_days) if st.max_followups
                          else None)

        async def one(p: Planned) -> None:
            async with gate:
                try:
                    await self._deliver(p, ws, notifier, now, first_followup, report)
                except Exception as exc:  # bookkeeping failed (database): next sweep retries
                    log.exception("reminder for person %s (%s %s) failed", p.person_id,
                                  p.cadence, p.period)
                    report.error(f"deliver person={p.person_id}", exc)

        await asyncio.gather(*(one(p) for p in plans))

    async def _prepare(self, ws: Workspace, notifier: Notifier, now: datetime) -> None:
        """People imported by email get their platform id first (Slack: by email), so the
        first wave reaches a team imported before anyone used the bot. A failed look-up is
        logged and planning goes on: those people are simply not reachable yet."""
        try:
            await notifier.prepare(ws.id, now)
        except Exception as exc:
            log.warning("reminder sweep: looking up imported people failed for workspace "
                        "%s: %s", ws.id, exc)

    def _plan(self, ws: Workspace, now: datetime) -> list[Planned]:
        with session_scope(self.db) as s:
            return plan_workspace(s, ws, now, max_attempts=self.max_attempts)

    def _claim(self, p: Planned, ws: Workspace, now: datetime
               ) -> tuple[ReminderDelivery, Recipient, dict[int, OverrideTerms]] | None:
        with session_scope(self.db) as s:
            d = dl.claim_delivery(s, workspace_id=p.workspace_id, person_id=p.person_id,
                                  cadence=p.cadence.value, period=p.period,
                                  claimer=self.claimer, now=now, lease=self.lease,
                                  max_attempts=self.max_attempts)
            if d is None:
                return None
            person = s.get(Person, p.person_id)
            assert person is not None
            over = terms_in_force(s, [c.customer_id for c in p.customers], now)
            return d, Recipient.of(person, ws.get_settings()), over

    async def _deliver(self, p: Planned, ws: Workspace, notifier: Notifier, now: datetime,
                       first_followup: datetime | None, report: SweepReport) -> None:
        claimed = await asyncio.to_thread(self._claim, p, ws, now)
        if claimed is None:
            report.skipped += 1
            return
        d, person, over = claimed
        msg = messages.reminder(d.id, p.cadence, p.period, p.customers, now=now,
                                rules=self.rules, tz=zone(p.timezone), overrides=over)
        resumed = bool(d.channel and d.thread_ts)
        try:
            if resumed:  # an earlier attempt posted the parent: finish that thread
                where = ThreadRef(d.channel, d.thread_ts)  # type: ignore[arg-type]
                await notifier.send_followup(person, where, msg)
            else:
                where = await notifier.send_reminder(person, msg)
        except PartiallySent as exc:
            d.channel, d.thread_ts = exc.where.channel, exc.where.thread_ts
            await self._failed(d, exc, now, report)
            return
        except Exception as exc:
            await self._failed(d, exc, now, report)
            return
        await asyncio.to_thread(self._mark_sent, d, where, len(p.customers), first_followup,
                                now)
        REMINDERS.labels("sent").inc()
        if resumed:
            report.completed += 1
        else:
            report.sent += 1

    def _mark_sent(self, d: ReminderDelivery, where: ThreadRef, n: int, next_at: datetime | None,
                   now: datetime) -> None:
        with session_scope(self.db) as s:
            dl.mark_sent(s, d, channel=where.channel, thread_ts=where.thread_ts,
                         customers_due=n, next_followup_at=next_at, now=now)

    async def _failed(self, d: ReminderDelivery, exc: BaseException, now: datetime,
                      report: SweepReport) -> None:
        log.error("sending reminder %s (person %s, %s %s, attempt %s) failed: %s", d.id,
                  d.person_id, d.cadence, d.period, d.attempts, exc, exc_info=exc)
        report.error(f"send delivery={d.id}", exc)
        REMINDERS.labels("failed").inc()

        def save() -> None:
            with session_scope(self.db) as s:
                dl.mark_failed_attempt(s, d, f"{type(exc).__name__}: {exc}",
                                       max_attempts=self.max_attempts, now=now)

        await asyncio.to_thread(save)
        if d.status == DeliveryStatus.FAILED:
            report.gave_up += 1
        else:
            report.failed_attempts += 1

    # ------------------------------------------------------------------ closing threads
    def _sent_threads(self, ws: Workspace, now: datetime
                      ) -> list[tuple[ReminderDelivery, Recipient, list[DueCustomer] | None]]:
        """Sent deliveries with what is still due for them (None: the period is over)."""
        with session_scope(self.db) as s:
            rows = dl.sent_deliveries(s, ws.id)
            if not rows:
                return []
            st = ws.get_settings()
            policy = policy_for(st.regrade_by_letter)
            people = list({p.id: p for _, p in rows}.values())
            due = due_by_person(s, ws, people, now)
            out: list[tuple[ReminderDelivery, Recipient, list[DueCustomer] | None]] = []
            for d, p in rows:
                to = Recipient.of(p, st)
                today = now.astimezone(person_zone(p, st)).date()
                if not period_is_current(d.cadence, d.period, today, st.strategic_dates):
                    out.append((d, to, None))
                else:
                    out.append((d, to, for_cadence(due.get(p.id, []), Cadence(d.cadence),
                                                   policy)))
            return out

    def _claim_close(self, d: ReminderDelivery, now: datetime) -> bool:
        return self._db(lambda s: dl.claim_close(s, d.id, now))

    def _reopen(self, d: ReminderDelivery, now: datetime) -> None:
        """A close that could not be posted: back to sent, retried by the next sweep."""
        self._db(lambda s: dl.reopen(s, d.id, now))

    async def _close_completed(self, ws: Workspace, notifier: Notifier, now: datetime,
                               report: SweepReport) -> None:
        for d, to, remaining in await asyncio.to_thread(self._sent_threads, ws, now):
            if remaining:
                continue
            if not await asyncio.to_thread(self._claim_close, d, now):
                continue
            if remaining is None:  # the period ended: stop following up, quietly
                report.expired += 1
                continue
            where = ThreadRef(d.channel, d.thread_ts)  # type: ignore[arg-type]
            try:
                await notifier.close_reminder(to, where, messages.closed(d.cadence, d.period))
                report.closed += 1
            except Exception as exc:
                log.error("closing reminder %s failed (retried next sweep): %s", d.id, exc,
                          exc_info=exc)
                report.error(f"close delivery={d.id}", exc)
                await asyncio.to_thread(self._reopen, d, now)

    # ------------------------------------------------------------------ follow-ups
    def _followup_rows(self, now: datetime
                       ) -> list[tuple[ReminderDelivery, Person, Workspace]]:
        return self._db(lambda s: dl.followups_due_with(s, now, self.notifiers))

    async def _followups(self, now: datetime, report: SweepReport) -> None:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(d: ReminderDelivery, person: Person, ws: Workspace) -> None:
            async with gate:
                try:
                    await self._followup(d, person, ws, now, report)
                except Exception as exc:
                    log.exception("follow-up of reminder %s failed", d.id)
                    report.error(f"followup delivery={d.id}", exc)

        rows = await asyncio.to_thread(self._followup_rows, now)
        await asyncio.gather(*(one(*row) for row in rows))

    async def _followup(self, d: ReminderDelivery, person: Person, ws: Workspace,
                        now: datetime, report: SweepReport) -> None:
        notifier = self.notifiers[ws.platform]
        st = ws.get_settings()
        tz = person_zone(person, st)
        today = now.astimezone(tz).date()

        run = self._db
        to = Recipient.of(person, st)
        if not period_is_current(d.cadence, d.period, today, st.strategic_dates):
            if await asyncio.to_thread(self._claim_close, d, now):
                report.expired += 1
            return
        if is_away(person, now):
            await asyncio.to_thread(run, lambda s: dl.snooze(s, d, person.away_until))  # type: ignore[arg-type]
            return
        # the last follow-up allowed leaves no next one (a snooze still sets one)
        last = d.followups + 1 >= st.max_followups
        next_at = None if last else now + timedelta(days=st.followup_days)
        if not await asyncio.to_thread(run, lambda s: dl.claim_followup(
                s, d, now=now, next_at=next_at)):
            return  # another process took this follow-up
        policy = policy_for(st.regrade_by_letter)
        remaining = for_cadence(await asyncio.to_thread(run, lambda s: due_customers(
            s, ws.id, today, policy, owner_ids=[person.id], tz=tz).get(person.id, [])),
            Cadence(d.cadence), policy)
        where = ThreadRef(d.channel, d.thread_ts)  # type: ignore[arg-type]
        try:
            if not remaining:
                await notifier.close_reminder(to, where, messages.closed(d.cadence, d.period))
                await asyncio.to_thread(run, lambda s: dl.mark_done(s, d))
                report.closed += 1
            else:
                over = await asyncio.to_thread(run, lambda s: terms_in_force(
                    s, [c.customer_id for c in remaining], now))
                await notifier.send_followup(to, where, messages.followup(
                    d.id, d.cadence, d.period, remaining, last=last, now=now,
                    rules=self.rules, tz=tz, overrides=over))
                report.followups += 1
        except Exception as exc:
            log.error("follow-up of reminder %s failed (retried next sweep): %s", d.id, exc,
                      exc_info=exc)
            report.error(f"followup delivery={d.id}", exc)
            await asyncio.to_thread(run, lambda s: dl.release_followup(
                s, d.id, claimed_next_at=next_at, now=now))

    # ------------------------------------------------------------------ digests
    @staticmethod
    def digest_period(ws: Workspace, now: datetime) -> str | None:
        """The quarter whose digest is due: the one just ended, from the first business day
        of the next quarter at ``reminder_hour`` (workspace timezone) on."""
        st = ws.get_settings()
        if not st.digest_channel:
            return None
        tz = zone(st.timezone)
        qs = period_start(now.astimezone(tz).date(), Cadence.QUARTERLY)
        if local_at(first_business_day(qs.year, qs.month), st.reminder_hour, tz) > now:
            return None
        return period_key(qs - timedelta(days=1), Cadence.QUARTERLY)

    def _digest_claimed(self, ws: Workspace, period: str) -> bool:
        return self._db(lambda s: reads.claimed(s, reads.digest_scope(ws.id), period))

    def build_digest(self, s: Session, ws: Workspace, period: str,
                     now: datetime | None = None) -> DigestMessage | None:
        """Completion per rep, letter drops and exit recommendations of one quarter (its
        days in the workspace's time zone); exits as shown on ``now`` (overrides applied)."""
        st = ws.get_settings()
        policy = policy_for(st.regrade_by_letter)
        tz = zone(st.timezone)
        start, end = period_bounds(Cadence.QUARTERLY, period)
        t0 = datetime(start.year, start.month, start.day, tzinfo=tz)
        t1 = datetime(end.year, end.month, end.day, tzinfo=tz)
        wid: int = ws.id
        names = reads.people_names(s, wid)
        graded = reads.graded_per_owner(s, wid, t0, t1)
        still = {o: len(v) for o, v in
                 due_customers(s, wid, end - timedelta(days=1), policy, tz=tz).items()}
        lines: list[str] = []
        owners = sorted(set(graded) | set(still), key=lambda o: names.get(o, "").casefold())
        if owners:
            lines.append("Completion per rep (graded / due this period):")
            for o in owners:
                g, left = graded.get(o, 0), still.get(o, 0)
                pct = round(100 * g / (g + left)) if g + left else 100
                lines.append(f"• {names.get(o, '?')}: {g} / {g + left} ({pct}%)")
        drops = reads.letter_drops(s, wid, t0, t1)
        if drops:
            lines.append("Dropped a letter or more:")
            lines += [f"• {x.customer}: {x.previous_letter} → {x.letter} ({x.previous_total:g}"
                      f" → {x.total:g}{', provisional' if x.provisional else ''})"
                      for x in drops]
        exits = reads.exit_picks(s, wid, now)
        if exits:
            lines.append("Recommended exit:")
            lines += [f"• {x.customer} ({x.letter}, {x.total:g}/100"
                      f"{', provisional' if x.provisional else ''}"
                      f"{f'; {x.override.note}' if x.override else ''}) — owner "
                      f"{names.get(x.owner_id, '—') if x.owner_id is not None else '—'}"
                      for x in exits]
        unreachable = not_reachable(s, ws, t1)
        if unreachable:
            lines.append("Not reachable yet (reminders cannot reach them):")
            lines += [f"• {u.person_name}{f' ({u.email})' if u.email else ''}: {u.why} — "
                      f"{u.due} customer{'s' if u.due != 1 else ''} due" for u in unreachable]
        lines += disagreement_lines(s, ws.id, self.dimension_names)  # (bot.trust)
        if not lines:
            return None
        return DigestMessage(title=f"{period_label(period)} grading digest", lines=lines)

    def _claim_digest(self, ws: Workspace, period: str, now: datetime | None = None
                      ) -> DigestMessage | None:
        with session_scope(self.db) as s:
            msg = self.build_digest(s, ws, period, now)
            if msg is None or not record_event(s, reads.digest_scope(ws.id), period, "digest"):
                return None
            return msg

    def _unclaim(self, scope: str, event_id: str) -> None:
        self._db(lambda s: reads.unclaim(s, scope, event_id))

    async def _digest(self, ws: Workspace, notifier: Notifier, now: datetime,
                      report: SweepReport) -> None:
        period = self.digest_period(ws, now)
        if period is None or await asyncio.to_thread(self._digest_claimed, ws, period):
            return
        msg = await asyncio.to_thread(self._claim_digest, ws, period, now)
        if msg is None:
            return
        channel = ws.get_settings().digest_channel
        try:
            await notifier.send_digest(channel, msg)  # type: ignore[arg-type]
            report.digests += 1
        except Exception as exc:
            log.error("digest %s for workspace %s failed (retried next sweep): %s", period,
                      ws.id, exc, exc_info=exc)
            report.error(f"digest ws={ws.id}", exc)
            await asyncio.to_thread(self._unclaim, reads.digest_scope(ws.id), period)

    async def _overrides(self, ws: Workspace, notifier: Notifier, now: datetime,
                         report: SweepReport) -> None:
        """Overrides ending in a week (setter and owner told) or ended (bot.reminders.overrides)."""
        await sweep_overrides(self.db, ws, notifier, now, report, claimer=self.claimer,
                              lease=self.lease, max_attempts=self.max_attempts)

    async def _renewals(self, ws: Workspace, notifier: Notifier, now: datetime,
                        report: SweepReport) -> None:
        """"Did Acme renew?" to owners whose renewal date passed (bot.reminders.renewals)."""
        await sweep_renewals(self.db, ws, notifier, now, report, claimer=self.claimer,
                             lease=self.lease, max_attempts=self.max_attempts)

    # ------------------------------------------------------------------ drop alerts
    def _drops(self, ws: Workspace, now: datetime) -> list[tuple[DropAlert, Recipient]]:
        with session_scope(self.db) as s:
            out = []
            for a in reads.drop_candidates(s, ws.id, now):
                owner = s.get(Person, a.owner_id)
                claimed = owner is not None and record_event(
                    s, DROP_SCOPE, str(a.grade_id), "alert", at=now)
                if claimed:
                    out.append((a, Recipient.of(owner, ws.get_settings())))  # type: ignore[arg-type]
            return out

    async def _alerts(self, ws: Workspace, notifier: Notifier, now: datetime,
                      report: SweepReport) -> None:
        for a, owner in await asyncio.to_thread(self._drops, ws, now):
            rec = a.recommendation.replace("_", " ")
            text = (f"Heads-up: {a.customer} was re-graded by {a.grader} and dropped from "
                    f"{a.previous_letter} to {a.letter} ({a.previous_total:g} → {a.total:g}/100;"
                    f" recommendation: {rec}). Grade it yourself if you see it differently.")
            try:
                await notifier.send_alert(owner, text, [messages.grade_option(a.customer_id)])
                report.alerts += 1
            except Exception as exc:
                log.error("drop alert for grade %s failed (retried next sweep): %s",
                          a.grade_id, exc, exc_info=exc)
                report.error(f"alert grade={a.grade_id}", exc)
                await asyncio.to_thread(self._unclaim, DROP_SCOPE, str(a.grade_id))
