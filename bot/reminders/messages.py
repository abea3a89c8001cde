"""What reminders say: channel-neutral ``bot.notify`` messages built from plans and rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo

from bot.engine import options as opts
from bot.engine.prompts import Option, plural
from bot.notify import DueItem, ReminderMessage
from scoring import Cadence
from scoring.cadence import period_label
from scoring.opinions import OverrideTerms, as_shown
from scoring.worksheet import GradingRules
from storage.grades import DueCustomer
from storage.types import utcnow

SNOOZE_DAY = 1
SNOOZE_WEEK = 7


def subject(cadence: Cadence | str, period: str) -> str:
    c = Cadence(cadence)
    if c is Cadence.QUARTERLY:
        return f"{period_label(period)} re-grading"
    if c is Cadence.ANNUAL:
        return f"{period} annual grading"
    return f"Strategic review {period}"


_INTRO = {
    Cadence.QUARTERLY: "A new quarter: time for the quick pulse (a few questions each) on the "
                       "customers below. Tap Grade to start one; the thread will nudge you "
                       "about whatever is left.",
    Cadence.ANNUAL: "It's annual grading time: the full worksheet for the customers below. "
                    "Tap Grade to start one.",
    Cadence.STRATEGIC: "Strategic review day: decide which customers to invest in and which to "
                       "let go (type /grade strategic to walk your whole book). These are due "
                       "for grading first.",
}


def items(customers: Sequence[DueCustomer], now: datetime | None = None,
          rules: GradingRules | None = None, tz: tzinfo = UTC,
          overrides: Mapping[int, OverrideTerms] | None = None) -> list[DueItem]:
    """The due customers as reminder lines; a grade older than the worksheet's validity
    (``rules``, default the shipped one's) on ``now`` (default the clock) is marked stale.
    Dates are days in ``tz``, the rep's zone (as their customer card counts them; UTC when
    the caller has no person). ``overrides`` (the terms in force, by customer id) are shown
    over the model's letter, the model's beside it (``scoring.opinions.as_shown``)."""
    rules = rules or GradingRules()
    today = (now or utcnow()).astimezone(tz).date()
    out: list[DueItem] = []
    for c in customers:
        day = c.graded_at.astimezone(tz).date() if c.graded_at else None
        out.append(DueItem(c.customer_id, c.name, c.letter, day.isoformat() if day else None,
                           rules.is_stale(day, today)))
    return as_shown(out, overrides or {})


def controls(delivery_id: int) -> list[Option]:
    return [Option(value=f"rem|snooze|{delivery_id}|{SNOOZE_DAY}", label="Snooze 1 day"),
            Option(value=f"rem|snooze|{delivery_id}|{SNOOZE_WEEK}", label="Snooze 1 week"),
            Option(value=f"rem|away|{delivery_id}", label="Out of office")]


def reminder(delivery_id: int, cadence: Cadence | str, period: str,
             customers: Sequence[DueCustomer], *, now: datetime | None = None,
             rules: GradingRules | None = None, tz: tzinfo = UTC,
             overrides: Mapping[int, OverrideTerms] | None = None) -> ReminderMessage:
    """The first message of a reminder; ``now``, ``rules`` (the worksheet's ``grading``)
    and ``tz`` decide which due lines say their grade is stale (see ``items``)."""
    n = len(customers)
    return ReminderMessage(delivery_id=delivery_id,
                           title=f"{subject(cadence, period)}: {plural(n)} due",
                           intro=_INTRO[Cadence(cadence)],
                           items=items(customers, now, rules, tz, overrides),
                           controls=controls(delivery_id))


def followup(delivery_id: int, cadence: Cadence | str, period: str,
             customers: Sequence[DueCustomer], *, last: bool = False,
             now: datetime | None = None, rules: GradingRules | None = None,
             tz: tzinfo = UTC,
             overrides: Mapping[int, OverrideTerms] | None = None) -> ReminderMessage:
    n = len(customers)
    intro = ("A last nudge: these are still waiting for a grade. No more reminders this "
             "period; the Grade buttons keep working." if last else
             "A gentle nudge: these are still waiting for a grade.")
    return ReminderMessage(delivery_id=delivery_id,
                           title=f"Reminder — {subject(cadence, period)}: {plural(n)} still due",
                           intro=intro, items=items(customers, now, rules, tz, overrides),
                           controls=controls(delivery_id))


def closed(cadence: Cadence | str, period: str) -> str:
    return f"{subject(cadence, period)}: All graded ✓"


def grade_option(customer_id: int) -> Option:
    """The same value the engine understands everywhere: start grading this customer."""
    return Option(value=opts.pick(customer_id), label="Grade", style="primary")
