"""A grade older than the worksheet's validity shows as stale in Teams: the customer card,
the book and the portfolio answered to activities, and a proactive reminder's due list."""

from __future__ import annotations

from bot.reminders import messages
from bot.teams.notify import TeamsNotifier
from storage.grades import due_customers
from storage.types import utcnow
from tests.storage.helpers import age_grade
from tests.teams.conftest import Env, shown
from tests.teams.test_lookups_and_reminders import STRONG, person, seed

STALE = "(provisional, 37% answered; stale)"


def _book(env: Env) -> None:
    seed(env, "Old Co", STRONG)
    seed(env, "New Co", STRONG)
    days = env.sv.worksheet.grading.stale_after_days
    age_grade(env.sv.db, "Old Co", days + 1)
    age_grade(env.sv.db, "New Co", days - 1)


def test_stale_on_the_card_the_book_and_the_portfolio(env: Env) -> None:
    _book(env)
    rep = env.rep()
    card = shown(rep.ask("customer old co"))
    assert f"A · 100/100 {STALE} · invest more" in card
    assert "Stale: graded " in card
    assert "more than 456 days ago" in card
    assert "stale" not in shown(rep.ask("customer new co")).lower()
    book = shown(rep.ask("grades")).splitlines()
    assert any(line.startswith(f"A 100 {STALE} · Old Co") for line in book), book
    assert all("stale" not in line for line in book if "New Co" in line)
    portfolio = shown(rep.ask("portfolio"))
    assert "Stale grades (older than 456 days): Old Co" in portfolio


async def test_stale_in_a_reminders_due_list(env: Env) -> None:
    _book(env)
    rep = env.rep()
    rep.say("help")  # the rep's first message stores where to reach them
    now = utcnow()
    who = person(env)
    with env.sv.session() as s:
        due = due_customers(s, who.workspace_id, now.date()).get(who.id, [])  # type: ignore[arg-type]
    msg = messages.reminder(
        3, "annual", str(now.year), due, now=now, rules=env.sv.worksheet.grading
    )
    n = len(rep.sent())
    await TeamsNotifier.from_settings(env.sv.settings, env.sv.db).send_reminder(who, msg)
    text = "\n".join(shown(s.card) for s in rep.sent()[n:])
    assert "Old Co · A (stale) · last graded " in text
    assert "New Co · A · last graded " in text
