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
from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.blocks import Option as SelectOption

from bot.engine import Kind, Option, Prompt
from bot.engine.options import OpenOverride, encode
from bot.engine.prompts import plural
from bot.lookups import BookView, CustomerCard, Denied, NotFoundCard, PortfolioView
from bot.trust import Refused, TextView
from scoring import Good

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
_ICON = {Kind.ERROR: "⚠️ ", Kind.REASK: "🤔 ", Kind.ECHO: "✅ ", Kind.SAVED: "🎉 ",
         Kind.CONFIRM: "❓ ", Kind.INFO: "", Kind.SUMMARY: "🧭 "}


def render_prompt(p: Prompt) -> tuple[str, list[dict[str, Any]]]:
    """(notification text, blocks) for one prompt."""
    if p.kind is Kind.REVIEW and p.review is not None:
        return render_review(p)
    # (a saved grade's title heads the review card it turns into, not the result message)
    blocks: list[Block] = [header(p.title)] if p.title and p.kind is not Kind.SAVED else []
    lead = _ICON.get(p.kind, "")
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


def render_review(p: Prompt) -> tuple[str, list[dict[str, Any]]]:
    r = p.review
    assert r is not None
    # the engine's title says what the card is ("Review before saving — not saved yet", or
    # once saved, the same card: "Saved ✓"); the grade's own headline follows
    blocks: list[Block] = [header(p.title or r.headline),
                           *([section(r.headline)] if p.title else []), section(p.text)]
    if r.change:
        blocks.append(context(f"Since last grade: {r.change}"))
    blocks.append(SectionBlock(fields=[plain(f"{d.name}: " + ("–" if d.score is None else
                                                               f"{d.score:g} {bar(d.score)}"),
                                             2000)
                                       for d in r.dimensions][:10]))
    if r.summary:
        blocks.append(section(r.summary))
    if r.lifted_by:
        blocks.append(section("Lifted by: " + "; ".join(r.lifted_by)))
    if r.held_back_by:
        blocks.append(section("Held back by: " + "; ".join(r.held_back_by)))
    for cap in r.caps:
        blocks.append(context(f"⚠️ {cap}"))
    blocks += [context(line) for line in r.status_lines]
    answers = "\n".join(f"{a.number}. {a.label}: {a.answer or 'skipped'}" for a in r.answers)
    blocks.append(section(answers))
    blocks += buttons(p.actions, "cmd")
    return escape(clip(p.text, 3000)), to_dicts(blocks)


def bar(score: float | None, width: int = 10) -> str:
    n = round((score or 0) / 100 * width)
    return "█" * n + "░" * (width - n)


# ---------------------------------------------------------------------- look-ups
def render_card(card: CustomerCard | NotFoundCard | Denied, regrade_value: str | None = None,
                dimension_names: Mapping[str, str] | None = None
                ) -> tuple[str, list[dict[str, Any]]]:
    """A customer's card; ``dimension_names`` maps the stored dimension ids to their names."""
    names = dimension_names or {}
    if isinstance(card, Denied):
        return escape(card.message), to_dicts([section(card.message)])
    if isinstance(card, NotFoundCard):
        return escape(card.message), to_dicts([section(card.message)])
    blocks: list[Block] = [header(card.name)]
    if card.letter is None:
        blocks.append(section("Not graded yet."))
    blocks += [section(line) for line in card.trust]  # override, second opinions
    if card.letter is not None:
        blocks.append(section(card.headline))
        if card.dimensions:
            blocks.append(SectionBlock(fields=[
                plain(f"{names.get(k, k)}: " + ("–" if v is None else f"{v:g} {bar(v)}"), 2000)
                for k, v in card.dimensions.items()][:10]))
        if card.summary:
            blocks.append(section(card.summary))
        for line in card.explanation[:5]:
            blocks.append(context(line))
        graded = card.graded_at.date().isoformat() if card.graded_at else "?"
        due = card.due_on.isoformat() if card.due_on else "now"
        blocks.append(context(f"Graded {graded} by {card.graded_by or '?'} ({card.cadence})",
                              f"Next due {due}", f"Owner: {card.owner or '—'}"))
    if regrade_value:
        blocks += buttons([Option(value=regrade_value, label="Re-grade", style="primary")],
                          "grade")
    if card.can_override:
        blocks += buttons([Option(value=encode(OpenOverride(card.customer_id)),
                                  label="Override…")], "override")
    summary = f"{card.name}: {card.letter or 'not graded'}"
    return escape(summary), to_dicts(blocks)


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
                limit: int = 40) -> tuple[str, list[dict[str, Any]]]:
    if isinstance(view, Denied):
        return escape(view.message), to_dicts([section(view.message)])
    title = f"{view.owner}'s book" + (" — overdue" if view.only_overdue else "")
    blocks: list[Block] = [header(title)]
    if not view.entries:
        blocks.append(section("Nothing to show."))
    for e in view.entries[:limit]:
        line = view.line(e)
        if grade_value is not None:
            blocks.append(SectionBlock(text=plain(line), accessory=button(
                Option(value=grade_value(e), label="Grade"), f"grade:{e.customer_id}")))
        else:
            blocks.append(section(line))
    if len(view.entries) > limit:
        blocks.append(context(f"…and {len(view.entries) - limit} more. Try /grades overdue."))
    return escape(title), to_dicts(blocks)


def render_portfolio(view: PortfolioView) -> tuple[str, list[dict[str, Any]]]:
    p = view.portfolio
    blocks: list[Block] = [header(f"Portfolio — {view.owner}"),
                           section(f"{plural(p.customers)}, {p.graded} graded.")]
    lines = [f"{g.label}: {p.shares[g]:.0f}% (target {p.target.share(g):.0f}%, "
             f"{p.gap(g):+.0f}) {bar(p.shares[g])}" for g in (Good.US, Good.SKILLS, Good.OTHERS)]
    blocks.append(section("\n".join(lines)))
    blocks.append(context("Grades: " + ", ".join(f"{k} {v}" for k, v in p.distribution.items())))
    for w in p.warnings:
        blocks.append(section(f"⚠️ {w.message}"))
    if p.in_balance and p.graded:
        blocks.append(section("✅ The three goods are in balance."))
    if p.overdue:
        names = ", ".join(e.name for e in p.overdue[:15])
        blocks.append(context(f"Due for grading: {names}" + (" …" if len(p.overdue) > 15
                                                             else "")))
    for m in p.movers[:5]:
        blocks.append(context(f"Moved: {m.name} {m.previous_total:g} → {m.total:g} "
                              f"({m.delta:+.1f})"))
    return escape(f"Portfolio of {view.owner}"), to_dicts(blocks)


def help_blocks(command: str, text: str) -> tuple[str, list[dict[str, Any]]]:
    return escape(text), to_dicts([SectionBlock(text=MarkdownTextObject(
        text=f"*{command}*\n{escape(text)}")), DividerBlock()])
