"""App Home: what is due (with Grade buttons), recent grades, the balance at a glance."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block, DividerBlock
from slack_sdk.models.views import View

from bot import display
from bot.engine import options as opts
from bot.engine.prompts import Option
from bot.lookups import BookView, PortfolioView
from bot.services import Person, Services
from bot.slack import blocks as bk


def home_view(sv: Services, person: Person) -> dict[str, Any]:
    book, pv = sv.home(person)
    blocks: list[Block] = [bk.header(f"gradebot — {person.display_name}")]
    # one's own book and portfolio are never refused (only someone else's, or a team's)
    assert isinstance(book, BookView)
    assert isinstance(pv, PortfolioView)
    title, rows, rest = display.home_due(book)
    recent = display.recent_lines(book)
    blocks.append(bk.header(title))
    if not rows:
        blocks.append(bk.section(display.NOTHING_DUE))
    blocks += [bk.row_block(r, opts.pick(r.customer_id), "primary") for r in rows]
    if rest is not None:
        blocks += bk.styled(rest)
    blocks.append(DividerBlock())
    blocks.append(bk.header("Recent grades"))
    blocks.append(bk.section("\n".join(recent) if recent else display.NO_GRADES))
    blocks.append(DividerBlock())
    blocks.append(bk.header("Balance of the three goods"))
    blocks += bk.styled(display.balance_facts(pv, detail=False))
    blocks += bk.styled_all(display.home_warnings(pv))
    if sv.is_admin(person):
        blocks.append(DividerBlock())
        blocks += bk.buttons([Option(value=opts.encode(opts.OpenSettings()),
                                     label="Settings (admins)")], "settings")
        from bot.slack.imports import home_button  # people and customers from a CSV

        blocks.append(home_button())
    return View(type="home", blocks=blocks[:100]).to_dict()
