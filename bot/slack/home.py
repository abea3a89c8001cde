"""App Home: what is due (with Grade buttons), recent grades, the balance at a glance."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block, DividerBlock, SectionBlock
from slack_sdk.models.views import View

from bot.engine.inputs import pick_option
from bot.engine.prompts import Option
from bot.lookups import BookView, PortfolioView, book_view, portfolio_view
from bot.services import Services
from bot.slack import blocks as bk
from scoring import Good
from storage.models import Person, Role

MAX_DUE = 20


def home_view(sv: Services, person: Person) -> dict[str, Any]:
    now = sv.clock()
    with sv.session() as s:
        book = book_view(s, person, "", now)
        pv = portfolio_view(s, person, sv.worksheet, now)
    blocks: list[Block] = [bk.header(f"gradebot — {person.display_name}")]
    # one's own book and portfolio: never refused (Denied is for someone else's)
    assert isinstance(book, BookView) and isinstance(pv, PortfolioView)  # noqa: PT018
    entries = book.entries
    due = [e for e in entries if book.is_overdue(e)]
    blocks.append(bk.header(f"Due for grading ({len(due)})"))
    if not due:
        blocks.append(bk.section("Nothing is due. Nice work."))
    for e in due[:MAX_DUE]:
        label = f"{e.name} — " + (f"{e.grade_text}, due" if e.grade_text else "never graded")
        blocks.append(SectionBlock(text=bk.plain(label), accessory=bk.button(
            Option(value=pick_option(e.customer_id, None), label="Grade", style="primary"),
            f"grade:{e.customer_id}")))
    if len(due) > MAX_DUE:
        blocks.append(bk.context(f"…and {len(due) - MAX_DUE} more: /grades overdue"))
    blocks.append(DividerBlock())
    recent = sorted(((e.graded_on, e) for e in entries if e.graded_on is not None),
                    key=lambda dated: dated[0], reverse=True)[:5]
    blocks.append(bk.header("Recent grades"))
    blocks.append(bk.section("\n".join(
        f"{e.grade_text} · {e.name} · {on.isoformat()}" for on, e in recent)
        if recent else "No grades yet. Try /grade <customer>."))
    blocks.append(DividerBlock())
    p = pv.portfolio
    blocks.append(bk.header("Balance of the three goods"))
    blocks.append(bk.section("\n".join(
        f"{g.label}: {p.shares[g]:.0f}% (target {p.target.share(g):.0f}%)"
        for g in (Good.US, Good.SKILLS, Good.OTHERS))))
    for w in p.warnings[:5]:
        blocks.append(bk.context(f"⚠️ {w.message}"))
    if person.role == Role.ADMIN:
        blocks.append(DividerBlock())
        blocks += bk.buttons([Option(value="settings", label="Settings (admins)")], "settings")
        from bot.slack.imports import home_button  # people and customers from a CSV

        blocks.append(home_button())
    return View(type="home", blocks=blocks[:100]).to_dict()
