"""Recording an outcome with a tap: the customer card's "Record outcome" menu and the renewal
question "Did Acme renew?" (``bot.reminders.renewals``), for every channel.

A channel hands over the value exactly as it was on the menu or button (a
``RecordOutcome``, ``bot.engine.options``) and, from the card, what the date input beside it
says (``YYYY-MM-DD``, as a Slack datepicker and a Teams ``Input.Date`` both send it; empty:
today in the workspace's time zone). This module decides: who may record (whoever may see
the customer: its owner, their manager, an admin — ``storage.visibility``), the day, and
records through ``storage.outcomes`` in one transaction together with closing the customer's
open renewal question. An outcome is a fact about a day, stored once, so a double click or a
redelivered tap records once and the second says "Already recorded". Everything that is not
a valid, current value is refused in words (``OutcomeReply.done`` is False).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session

from bot import display
from bot.engine.options import (
    NOT_YET,
    OUTCOME_KINDS,
    BadOption,
    RecordOutcome,
    command,
    decode,
    encode,
)
from bot.engine.prompts import Option
from bot.zones import zone
from storage import outcomes as outcomes_db
from storage import renewals as renewals_db
from storage.errors import InvalidInput
from storage.models import Customer, OutcomeSource, Person, Workspace, WorkspaceSettings
from storage.visibility import can_record_outcome

NOT_YET_DAYS = 14  # "not yet" under a renewal question: asked again two weeks later
STALE = "That button is no longer valid: open the customer's card again."


@dataclass(frozen=True)
class OutcomeReply:
    """What to tell the one who tapped. ``done``: the tap did what it asked (recorded now or
    already, or "not yet" noted), so its buttons can go; False: refused, keep them."""

    text: str
    done: bool = True


def refused(text: str) -> OutcomeReply:
    return OutcomeReply(text, done=False)


def _day(raw: str | None, today: date) -> date | None:
    """The day the date input gave (ISO), or today when it was left alone."""
    text = (raw or "").strip()
    if not text:
        return today
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def ask_again_at(s: Session, person: Person, day: date) -> datetime:
    """When a deferred renewal question is due: ``day`` at the workspace's reminder hour,
    as the reply promised ("again on 2026-12-16"), whatever time of day "not yet" was
    tapped (a stored ``now + 14 days`` left a question tapped at 11:45 unasked by the
    sweep at 11:00 on the promised day)."""
    ws = s.get(Workspace, person.workspace_id)
    st = ws.get_settings() if ws else WorkspaceSettings()
    return datetime.combine(day, time(st.reminder_hour), tzinfo=zone(st.timezone)).astimezone(UTC)


def workspace_today(s: Session, person: Person, now: datetime) -> date:
    """Today in the workspace's time zone (the default day of an outcome, as in the CLI)."""
    ws = s.get(Workspace, person.workspace_id)
    return now.astimezone(zone(ws.get_settings().timezone if ws else None)).date()


def record_click(
    s: Session, person: Person, value: str, day: str | None, now: datetime
) -> OutcomeReply:
    """Record what ``value`` (a menu item or a renewal-question button) says happened, on
    ``day`` (the card's date input) or today; "not yet" defers the question."""
    try:
        chosen = decode(value)
    except BadOption as exc:
        return refused(f"{STALE} ({exc})")
    if not isinstance(chosen, RecordOutcome):
        return refused(STALE)
    c = s.get(Customer, chosen.customer_id)
    if c is None or c.workspace_id != person.workspace_id:
        return refused("That customer no longer exists.")
    owner = s.get(Person, c.owner_id) if c.owner_id else None
    if not can_record_outcome(person, owner):
        who = owner.display_name if owner else "someone else"
        return refused(
            f"{c.name} is in {who}'s book: only they, their manager or an admin can record "
            "what happened to it."
        )
    today = workspace_today(s, person, now)
    if chosen.kind == NOT_YET:
        assert chosen.ask is not None  # (the codec refuses "not yet" without a question)
        again = today + timedelta(days=NOT_YET_DAYS)
        if not renewals_db.defer_ask(
            s, chosen.ask, person.id, ask_again_at(s, person, again), now
        ):
            return refused(f"That question about {c.name} is answered already.")
        return OutcomeReply(display.renewal_later(c.name, again))
    happened = _day(day, today)
    if happened is None:
        return refused("Pick the day it happened (YYYY-MM-DD).")
    source = OutcomeSource.QUESTION if chosen.ask is not None else OutcomeSource.CARD
    decides = chosen.kind in {k.value for k in outcomes_db.DECISIONS}
    try:
        if decides:  # committed with the outcome: the question is answered by it
            renewals_db.close_asks(s, c.id, now)
        rec = outcomes_db.record_outcome(
            s, c, chosen.kind, happened, source=source, today=today, recorded_by=person
        )
        if not rec.created:  # recorded already (a double click): still answers the question
            if decides:
                renewals_db.close_asks(s, c.id, now)
            s.commit()
    except InvalidInput as exc:
        s.rollback()
        return refused(str(exc))
    return OutcomeReply(display.outcome_recorded(c.name, chosen.kind, happened, rec.created))


# ---------------------------------------------------------------------- what is offered
def outcome_menu(customer_id: int) -> Option:
    """The customer card's "Record outcome" menu: one item per kind (channels with menus
    show a select / choice set and send the picked item's value; the menu's own value is
    "help", for a channel that sends it without a pick)."""
    return Option(
        value=command("help"),
        label=display.RECORD_OUTCOME,
        menu=[
            Option(value=encode(RecordOutcome(customer_id, k)), label=display.OUTCOME_LABELS[k])
            for k in OUTCOME_KINDS
        ],
    )


def renewal_options(customer_id: int, ask: int) -> list[Option]:
    """The renewal question's buttons: renewed, expanded, churned, not yet."""
    out = [
        Option(
            value=encode(RecordOutcome(customer_id, k, ask)),
            label=display.OUTCOME_LABELS[k],
            style="primary" if k == "renewed" else None,
        )
        for k in display.RENEWAL_CHOICES
    ]
    out.append(
        Option(
            value=encode(RecordOutcome(customer_id, NOT_YET, ask)),
            label=display.not_yet_label(NOT_YET_DAYS),
        )
    )
    return out
