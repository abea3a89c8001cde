"""Engine prompts and look-ups → Slack Block Kit.

Escaping rule: Slack's formatting reference says ``&``, ``<`` and ``>`` are control
characters in *every* text object (``plain_text`` included) and must be sent as HTML entities
when they are not meant as markup. So every text object built here goes through ``plain()``
or ``escape()`` — one function, ``escape`` — and a customer named ``<!channel> <@U123>``
shows exactly that and pings no one. What users typed only ever goes into ``plain_text``
objects (never mrkdwn, where ``*x*`` would still format). The top-level ``text``
(notifications, screen readers) is passed through ``escape`` too. Blocks are built with
``slack_sdk.models`` which validates Block Kit's limits when serialised; texts are clipped so
that they fit those limits once escaped.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.blocks import Option as SelectOption

from bot import display
from bot.display import Facts, Listing, Part, Row, Tone
from bot.engine import Kind, Option, Prompt
from bot.engine.help import HelpLine
from bot.engine.help import as_text as help_text
from bot.engine.options import OpenOverride, encode
from bot.lookups import BookView, CustomerCard, Denied, NotFoundCard, PortfolioView
from bot.trust import Refused, TextView

MAX_BLOCKS = 50
SECTION_MAX = 3000
HEADER_MAX = 150
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
ACTIONS_MAX = 25
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
SELECT_OPTIONS_MAX = 100


def escape(text: str) -> str:
    """Escape for Slack's mrkdwn/`text` fields: &, < and > are the control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fit(text: str, limit: int) -> str:
    """``text`` escaped, clipped so that the escaped form stays within ``limit`` (an entity
    is never cut in half)."""
    out = escape(text)
    cut = min(len(text), limit)
    while len(out) > limit:
        cut -= max(1, (len(out) - limit) // 5)
        out = escape(text[:cut - 1] + "…")
    return out


def plain(text: str, limit: int = SECTION_MAX) -> PlainTextObject:
    """A plain_text object: escaped (see the module docstring) and within ``limit``."""
    return PlainTextObject(text=fit(text or " ", limit), emoji=True)


def section(text: str) -> SectionBlock:
    return SectionBlock(text=plain(text))


def context(*texts: str) -> ContextBlock:
    return ContextBlock(elements=[plain(t, 2000) for t in texts if t][:10] or [plain(" ")])


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=plain(text, HEADER_MAX))


def button(opt: Option, action_id: str) -> ButtonElement:
    style = opt.style if opt.style in ("primary", "danger") else None
    return ButtonElement(text=plain(opt.label, BUTTON_TEXT_MAX), action_id=action_id,
                         value=opt.value[:BUTTON_VALUE_MAX], style=style)


def menu(opt: Option, action_id: str) -> StaticSelectElement:
    """An option with a menu as a select ("Change an answer…"): the chosen item's value
    comes back as the action's ``selected_option``."""
    return StaticSelectElement(
        placeholder=plain(opt.label + "…", BUTTON_TEXT_MAX), action_id=action_id,
        options=[SelectOption(value=o.value[:OPTION_VALUE_MAX],
                              text=plain(o.label, OPTION_TEXT_MAX))
                 for o in opt.menu[:SELECT_OPTIONS_MAX]])


def buttons(options: list[Option], prefix: str, block_id: str | None = None) -> list[Block]:
    """Options as action blocks (25 elements per block; action ids unique per message):
    buttons, or selects for options with a menu."""
    out: list[Block] = []
    for start in range(0, len(options), ACTIONS_MAX):
        chunk = options[start:start + ACTIONS_MAX]
        out.append(ActionsBlock(
            block_id=f"{block_id}-{start}" if block_id else None,
            elements=[(menu if o.menu else button)(o, f"{prefix}:{start + i}")
                      for i, o in enumerate(chunk)]))
    return out


def to_dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    """Serialise (and so validate) blocks; never more than Slack's 50 per message."""
    if len(blocks) > MAX_BLOCKS:
        blocks = [*blocks[: MAX_BLOCKS - 1], context("…more not shown.")]
    return [b.to_dict() for b in blocks]


# ---------------------------------------------------------------------- prompts
def render_prompt(p: Prompt) -> tuple[str, list[dict[str, Any]]]:
    """(notification text, blocks) for one prompt."""
    if p.kind is Kind.REVIEW and p.review is not None:
        return render_review(p)
    # (a saved grade's title heads the review card it turns into, not the result message)
    blocks: list[Block] = [header(p.title)] if p.title and p.kind is not Kind.SAVED else []
    lead = display.icon(p.kind)
    if p.kind is Kind.QUESTION and p.progress is not None:
        blocks.append(context(f"Question {p.progress.text}"))
    blocks.append(section(lead + p.text))
    if p.detail:
        blocks.append(context(p.detail))
    # a fresh block id per rendering: a message asked again in place (back, change) gets
    # new ones, so a tap on it is told apart from a double click on its earlier version
    nonce = secrets.token_hex(4)
    if p.choices:
        blocks += buttons(p.choices, "choice", f"choice-{nonce}")
    if p.actions:
        blocks += buttons(p.actions, "cmd", f"cmd-{nonce}")
    return escape(clip(lead + p.text, 3000)), to_dicts(blocks)


def render_answered(p: Prompt, answer: str, change: Option | None, mark: str = "✅ "
                    ) -> list[dict[str, Any]]:
    """A question once answered (or left for another): buttons gone, the recorded answer
    (or that there is none) shown."""
    blocks: list[Block] = []
    if p.progress is not None:
        blocks.append(context(f"Question {p.progress.text}"))
    blocks.append(section(p.text))
    blocks.append(context(f"{mark}{answer}"))
    if change is not None:
        blocks += buttons([change], "cmd")
    return to_dicts(blocks)


def styled(part: Part) -> list[Block]:
    """One display part as blocks: a title a header, a footnote a context, facts as section
    fields (10 per section), a listing one section; everything else a section."""
    if isinstance(part, Facts):
        return [SectionBlock(fields=[plain(f.text, 2000) for f in part.facts][:10])]
    if isinstance(part, Listing):
        return [section("\n".join(part.lines))]
    if part.tone is Tone.TITLE:
        return [header(part.text)]
    if part.tone is Tone.SUBTLE:
        return [context(part.text)]
    return [section(part.text)]


def styled_all(parts: Sequence[Part]) -> list[Block]:
    return [b for part in parts for b in styled(part)]


def render_review(p: Prompt) -> tuple[str, list[dict[str, Any]]]:
    r = p.review
    assert r is not None
    # the engine's title says what the card is ("Review before saving — not saved yet", or
    # once saved, the same card: "Saved ✓"); the grade's own headline follows
    blocks: list[Block] = [header(p.title or r.headline),
                           *([section(r.headline)] if p.title else []), section(p.text)]
    blocks += styled_all(display.review_parts(r))
    blocks += buttons(p.actions, "cmd")
    return escape(clip(p.text, 3000)), to_dicts(blocks)


# ---------------------------------------------------------------------- look-ups
def refusal(view: Denied | NotFoundCard) -> tuple[str, list[dict[str, Any]]]:
    return escape(view.message), to_dicts([section(view.message)])


def row_block(row: Row, value: str | None, style: str | None = None) -> Block:
    """A customer's line, with a Grade button when there is a ``value`` to send."""
    if value is None:
        return section(row.text)
    return SectionBlock(text=plain(row.text), accessory=button(
        Option(value=value, label="Grade", style=style), f"grade:{row.customer_id}"))


def render_card(card: CustomerCard | NotFoundCard | Denied, regrade_value: str | None = None,
                dimension_names: Mapping[str, str] | None = None
                ) -> tuple[str, list[dict[str, Any]]]:
    """A customer's card; ``dimension_names`` maps the stored dimension ids to their names."""
    if isinstance(card, Denied | NotFoundCard):
        return refusal(card)
    blocks: list[Block] = [header(card.name),
                           *styled_all(display.card_parts(card, dict(dimension_names or {})))]
    if regrade_value:
        blocks += buttons([Option(value=regrade_value, label="Re-grade", style="primary")],
                          "grade")
    if card.can_override:
        blocks += buttons([Option(value=encode(OpenOverride(card.customer_id)),
                                  label="Override…")], "override")
    blocks.append(outcome_block(card))
    summary = f"{card.name}: {card.letter or 'not graded'}"
    return escape(summary), to_dicts(blocks)


OUTCOME_ACTION = "outcome"  # the card's "Record outcome" select
OUTCOME_DAY_ACTION = "outcomeday"  # the datepicker beside it (read when the select is used)


def outcome_block(card: CustomerCard) -> Block:
    """The card's "Record outcome" select with a datepicker beside it (left alone: today)."""
    return ActionsBlock(
        block_id=f"outcome-{secrets.token_hex(4)}",
        elements=[menu(card.outcome_menu, f"{OUTCOME_ACTION}:0"),
                  DatePickerElement(action_id=OUTCOME_DAY_ACTION,
                                    placeholder=plain(display.OUTCOME_DAY, 150))])


def picked_day(body: Mapping[str, Any]) -> str:
    """What the card's datepicker says at the moment of a click (Slack sends the state of
    a message's inputs with every block action): ``YYYY-MM-DD``, or "" when left alone."""
    values = (body.get("state") or {}).get("values") or {}
    for block in values.values():
        picked = (block or {}).get(OUTCOME_DAY_ACTION) or {}
        if picked.get("selected_date"):
            return str(picked["selected_date"])
    return ""


def render_text_view(view: TextView | Refused | Denied | NotFoundCard
                     ) -> tuple[str, list[dict[str, Any]]]:
    """A titled list of lines (an override set, its history, the optimism view), or the
    refusal in its place."""
    if isinstance(view, Refused | Denied | NotFoundCard):
        return escape(view.message), to_dicts([section(view.message)])
    blocks: list[Block] = [header(view.title)]
    text = ""
    for line in view.lines[:45]:  # (50 blocks at most)
        if len(text) + len(line) > 2800:
            blocks.append(section(text))
            text = ""
        text += ("\n" if text else "") + line
    if text:
        blocks.append(section(text))
    return escape(view.title), to_dicts(blocks)


def render_book(view: BookView | Denied, grade_value: Any = None,
                limit: int = display.BOOK_ROWS_SLACK) -> tuple[str, list[dict[str, Any]]]:
    if isinstance(view, Denied):
        return refusal(view)
    title = display.book_title(view)
    rows, rest = display.book_rows(view, limit, "/grades overdue")
    by_id = {e.customer_id: e for e in view.entries}
    blocks: list[Block] = [header(title), *([] if rows else [section(display.NOTHING)])]
    blocks += [row_block(r, grade_value(by_id[r.customer_id]) if grade_value else None)
               for r in rows]
    if rest is not None:
        blocks += styled(rest)
    return escape(title), to_dicts(blocks)


def render_portfolio(view: PortfolioView) -> tuple[str, list[dict[str, Any]]]:
    blocks: list[Block] = [header(display.portfolio_title(view)),
                           *styled_all(display.portfolio_parts(view))]
    return escape(display.portfolio_title(view)), to_dicts(blocks)


def help_blocks(lines: Sequence[HelpLine], lead: str = "") -> tuple[str, list[dict[str, Any]]]:
    """Help lines (``bot.engine.help``, with Slack's "/"): each usage in bold, what it does
    below it; ``lead`` first (the DM's greeting)."""
    body = "\n".join(f"*{escape(h.usage)}*\n{escape(h.what)}" for h in lines)
    blocks: list[Block] = [section(lead)] if lead else []
    blocks += [SectionBlock(text=MarkdownTextObject(text=clip(body, SECTION_MAX))),
               DividerBlock()]
    text = "\n".join(t for t in (lead, help_text(list(lines))) if t)
    return escape(text), to_dicts(blocks)
