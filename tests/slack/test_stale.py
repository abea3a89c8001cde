"""A grade older than the worksheet's validity shows as stale in every Slack surface: the
customer card, the book, the portfolio, the App Home and a reminder's due list."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.reminders import messages
from bot.slack.notify import SlackNotifier
from storage.grades import due_customers
from storage.types import utcnow
from tests.slack.conftest import STRONG, Rep, seed_grade, texts, wait_until
from tests.slack.test_home import _open_home
from tests.storage.helpers import age_grade

STALE = "(provisional, 37% answered; stale)"  # a pulse alone covers 37 % of the sheet


def _answer(rep: Rep, n: int) -> str:
    got = wait_until(lambda: rep.responses()[n:], what="a response_url answer")[0].args
    return texts(got["blocks"])


def _book(rep: Rep) -> None:
    seed_grade(rep.sv, "U1", "Old Co", STRONG)
    seed_grade(rep.sv, "U1", "New Co", STRONG)
    days = rep.sv.worksheet.grading.stale_after_days
    assert days == 456
    age_grade(rep.sv.db, "Old Co", days + 1)
    age_grade(rep.sv.db, "New Co", days)  # on the last day it stands: not stale yet


def test_stale_on_the_card_the_book_and_the_portfolio(rep: Rep) -> None:
    _book(rep)
    rep.command("/customer", "old co")
    card = _answer(rep, 0)
    assert f"A · 100/100 {STALE} · invest more" in card
    assert "⚠️ Stale: graded " in card
    assert "more than 456 days ago. Re-grade before relying on it." in card
    rep.command("/customer", "new co")
    fresh = _answer(rep, 1)
    assert "stale" not in fresh.lower()

    rep.command("/grades")
    book = _answer(rep, 2).splitlines()
    old = next(line for line in book if "Old Co" in line)
    new = next(line for line in book if "New Co" in line)
    assert old.startswith(f"A 100 {STALE} · Old Co")
    assert "stale" not in new

    rep.command("/portfolio")
    portfolio = _answer(rep, 3)
    assert "⚠️ Stale grades (older than 456 days): Old Co" in portfolio
    assert "New Co" not in portfolio.split("Stale grades", 1)[1].splitlines()[0]


def test_stale_in_the_app_home(rep: Rep) -> None:
    _book(rep)
    seen = texts(_open_home(rep)["blocks"])
    assert f"A 100 {STALE} · Old Co" in seen  # due (a year has turned) and stale
    recent = [line for line in seen.splitlines() if "New Co ·" in line]
    assert recent
    assert all("stale" not in line for line in recent)


async def test_stale_in_a_reminders_due_list(rep: Rep) -> None:
    _book(rep)
    now = utcnow()
    actor, person = rep.sv.actor("slack", "T1", "U1")
    with rep.sv.session() as s:
        due = due_customers(s, actor.workspace_id, now.date()).get(actor.person_id, [])
    msg = messages.reminder(
        3, "annual", str(now.year), due, now=now, rules=rep.sv.worksheet.grading
    )
    client = AsyncWebClient(token="xoxb-test", base_url=rep.api.base_url)
    where = await SlackNotifier(client, rep.sv.db).send_reminder(person, msg)
    listing = [
        c for c in rep.api.of("chat.postMessage") if c.args.get("thread_ts") == where.thread_ts
    ]
    shown = "\n".join(texts(c.args["blocks"]) for c in listing)
    assert "Old Co · A (stale) · last graded " in shown
    assert "New Co · A · last graded " in shown
