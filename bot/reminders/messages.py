"""What reminders say: channel-neutral ``bot.notify`` messages built from plans and rows."""

from __future__ import annotations

from collections.abc import Sequence

from bot.engine.inputs import pick_option
from bot.engine.prompts import Option, plural
from bot.notify import DueItem, ReminderMessage
from scoring import Cadence
from scoring.cadence import period_label
from storage.grades import DueCustomer

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


def items(customers: Sequence[DueCustomer]) -> list[DueItem]:
    return [DueItem(c.customer_id, c.name, c.letter,
                    c.graded_at.date().isoformat() if c.graded_at else None)
            for c in customers]


def controls(delivery_id: int) -> list[Option]:
    return [Option(value=f"rem|snooze|{delivery_id}|{SNOOZE_DAY}", label="Snooze 1 day"),
            Option(value=f"rem|snooze|{delivery_id}|{SNOOZE_WEEK}", label="Snooze 1 week"),
            Option(value=f"rem|away|{delivery_id}", label="Out of office")]


def reminder(delivery_id: int, cadence: Cadence | str, period: str,
             customers: Sequence[DueCustomer]) -> ReminderMessage:
    n = len(customers)
    return ReminderMessage(delivery_id=delivery_id,
                           title=f"{subject(cadence, period)}: {plural(n)} due",
                           intro=_INTRO[Cadence(cadence)], items=items(customers),
                           controls=controls(delivery_id))


def followup(delivery_id: int, cadence: Cadence | str, period: str,
             customers: Sequence[DueCustomer], *, last: bool = False) -> ReminderMessage:
    n = len(customers)
    intro = ("A last nudge: these are still waiting for a grade. No more reminders this "
             "period; the Grade buttons keep working." if last else
             "A gentle nudge: these are still waiting for a grade.")
    return ReminderMessage(delivery_id=delivery_id,
                           title=f"Reminder — {subject(cadence, period)}: {plural(n)} still due",
                           intro=intro, items=items(customers), controls=controls(delivery_id))


def closed(cadence: Cadence | str, period: str) -> str:
    return f"{subject(cadence, period)}: All graded ✓"


def grade_option(customer_id: int) -> Option:
    """The same value the engine understands everywhere: start grading this customer."""
    return Option(value=pick_option(customer_id, None), label="Grade", style="primary")
