"""App Home: what is due (with Grade buttons), recent grades, the balance at a glance."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block, DividerBlock, SectionBlock
from slack_sdk.models.views import View

from bot.engine import options as opts
from bot.engine.prompts import Option
from bot.lookups import BookView, PortfolioView, grade_option
from bot.services import Person, Services
from bot.slack import blocks as bk
from scoring import Good

MAX_DUE = 20


def home_view(sv: Services, person: Person) -> dict[str, Any]:
    book, pv = sv.home(person)
    blocks: list[Block] = [bk.header(f"gradebot — {person.display_name}")]
    entries = book.entries if isinstance(book, BookView) else []
    due = [e for e in entries if isinstance(book, BookView) and book.is_overdue(e)]
    blocks.append(bk.header(f"Due for grading ({len(due)})"))
    if not due:
        blocks.append(bk.section("Nothing is due. Nice work."))
    over = book.overrides if isinstance(book, BookView) else {}
    for e in due[:MAX_DUE]:
        label = f"{e.name} — " + (f"{e.grade_text}, due" if e.grade_text else "never graded")
        label += f" · {over[e.customer_id]}" if e.customer_id in over else ""
        blocks.append(SectionBlock(text=bk.plain(label), accessory=bk.button(
            grade_option(e, "primary"), f"grade:{e.customer_id}")))
    if len(due) > MAX_DUE:
        blocks.append(bk.context(f"…and {len(due) - MAX_DUE} more: /grades overdue"))
    blocks.append(DividerBlock())
    recent = sorted(((e.graded_on, e) for e in entries if e.graded_on is not None),
                    key=lambda dated: dated[0], reverse=True)[:5]
    blocks.append(bk.header("Recent grades"))
    blocks.append(bk.section("\n".join(
        f"{e.grade_text} · {e.name} · {on.isoformat()}"
        + (f" · {over[e.customer_id]}" if e.customer_id in over else "") for on, e in recent)
        if recent else "No grades yet. Try /grade <customer>."))
    blocks.append(DividerBlock())
    if isinstance(pv, PortfolioView):
        p = pv.portfolio
        blocks.append(bk.header("Balance of the three goods"))
        blocks.append(bk.section("\n".join(
            f"{g.label}: {p.shares[g]:.0f}% (target {p.target.share(g):.0f}%)"
            for g in (Good.US, Good.SKILLS, Good.OTHERS))))
        for w in p.warnings[:5]:
            blocks.append(bk.context(f"⚠️ {w.message}"))
    if sv.is_admin(person):
        blocks.append(DividerBlock())
        blocks += bk.buttons([Option(value=opts.encode(opts.OpenSettings()),
                                     label="Settings (admins)")], "settings")
        from bot.slack.imports import home_button  # people and customers from a CSV

        blocks.append(home_button())
    return View(type="home", blocks=blocks[:100]).to_dict()
