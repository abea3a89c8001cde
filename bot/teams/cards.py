"""Engine prompts, look-ups and reminders → Adaptive Cards (built with the Teams SDK's models).

Escaping rule: a TextBlock (and a FactSet value) interprets a subset of markdown, and Teams
turns ``<at>…</at>`` into mentions, so **every** TextBlock text goes through ``md()``: ``<at>``
tags are neutralised and markdown metacharacters are backslash-escaped, so a customer named
``<at>everyone</at> **x** [link](http://evil)`` shows exactly that and pings, bolds and links
nothing. Button titles and choice titles are plain text (never markdown) and go through
``plain()``, which only neutralises mention tags. No card here uses markdown of its own:
emphasis comes from TextBlock ``weight``/``size``/``color``.

Every button is an ``Action.Execute`` (the only card action modern Teams clients deliver to a
bot) with verb ``gradebot`` and data ``{"value": <option value>, "session": <id>, "label": …,
"k": <p|l>}``: ``p`` marks a conversation card (replaced once acted on), ``l`` a look-up or
reminder card (left as it is).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from microsoft_teams.cards import (
    ActionSet,
    AdaptiveCard,
    Choice,
    ChoiceSetInput,
    Column,
    ColumnSet,
    Container,
    DateInput,
    ExecuteAction,
    Fact,
    FactSet,
    TextBlock,
    TextInput,
)

from bot import display
from bot.display import Facts, Listing, Part, Row, Tone
from bot.engine import FormState, Kind, Option, Prompt, help
from bot.engine import options as opts
from bot.engine.help import HelpLine
from bot.engine.prompts import Progress
from bot.lookups import BookView, CustomerCard, Denied, NotFoundCard, PortfolioView
from bot.notify import DigestMessage, ReminderMessage
from bot.trust import OverrideForm, Refused, TextView
from scoring import AnswerType, Question
from scoring.taps import tap_choices

VERB = "gradebot"
VERSION: Final = "1.5"
BUTTONS_PER_SET = 5      # Teams shows at most 6 actions per set; keep one spare
TEXT_MAX = 3000
TITLE_MAX = 75
FORM_PREFIX = "q_"       # form inputs: "q_<question id>" (never clashes with value/session)
MENU_PREFIX = "menu_"    # the choice set of an option with a menu

_AT_TAG = re.compile(r"<\s*(/?)\s*at\b[^>]*>", re.IGNORECASE)
_MD_CHARS = re.compile(r"([\\`*_{}\[\]()#+!|<>~&])")
_LIST_START = re.compile(r"^(\s*)(-|\d+\.)(?=\s)", re.MULTILINE)


def neutralise(text: str) -> str:
    """``<at>x</at>`` → ``‹at›x‹/at›``: no mention tag survives, the text stays readable."""
    return _AT_TAG.sub(lambda m: f"‹{m.group(1)}at›", text)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def md(text: str, limit: int = TEXT_MAX) -> str:
    """Text for a TextBlock: mention tags neutralised, markdown metacharacters escaped."""
    t = neutralise(clip(text or "", limit))
    t = _MD_CHARS.sub(r"\\\1", t)
    return _LIST_START.sub(lambda m: m.group(1) + m.group(2).replace(".", "\\.")
                           .replace("-", "\\-"), t)


def plain(text: str, limit: int = TITLE_MAX) -> str:
    """Text for button and choice titles (never markdown): only mention tags neutralised."""
    return neutralise(clip(text or " ", limit))


def text(t: str, **kw: Any) -> TextBlock:
    return TextBlock(text=md(t) or " ", wrap=True, **kw)


def subtle(t: str) -> TextBlock:
    return text(t, is_subtle=True, size="Small", spacing="None")


def heading(t: str) -> TextBlock:
    return text(t, weight="Bolder", size="Medium")


def card(body: Sequence[Any], actions: Sequence[Any] = ()) -> AdaptiveCard:
    return AdaptiveCard(version=VERSION, body=list(body) or [text(" ")],
                        actions=list(actions) or None)


def to_dict(c: AdaptiveCard | Container) -> dict[str, Any]:
    return c.model_dump(exclude_none=True, by_alias=True)


# ---------------------------------------------------------------------- buttons
def button(opt: Option, session_id: int | None = None, kind: str = "p",
           menu_id: str | None = None) -> ExecuteAction:
    """An Action.Execute; with ``menu_id``, the choice set of that id (merged into the
    action's data by Teams) says which of the option's menu items was chosen."""
    styles: dict[str, Literal["positive", "destructive"]] = {"primary": "positive",
                                                             "danger": "destructive"}
    style = styles.get(opt.style or "")
    data: dict[str, Any] = {"value": opt.value, "label": clip(opt.label, TITLE_MAX), "k": kind}
    if session_id is not None:
        data["session"] = session_id
    if menu_id is not None:
        data["menu"] = menu_id
    return ExecuteAction(title=plain(opt.label), verb=VERB, data=data, style=style)


def menu_input(opt: Option, menu_id: str) -> ChoiceSetInput:
    return ChoiceSetInput(id=menu_id, style="compact", placeholder=plain(opt.label + "…"),
                          choices=[Choice(title=plain(o.label), value=o.value)
                                   for o in opt.menu])


def button_sets(options: Sequence[Option], session_id: int | None = None,
                kind: str = "p") -> list[Any]:
    """Buttons in sets of a few; an option with a menu gets its choice set just above."""
    out: list[Any] = []
    for i in range(0, len(options), BUTTONS_PER_SET):
        chunk = options[i:i + BUTTONS_PER_SET]
        ids = {j: f"{MENU_PREFIX}{i + j}" for j, o in enumerate(chunk) if o.menu}
        out += [menu_input(chunk[j], menu_id) for j, menu_id in ids.items()]
        out.append(ActionSet(actions=[button(o, session_id, kind, ids.get(j))
                                      for j, o in enumerate(chunk)]))
    return out


def chosen_value(data: Mapping[str, Any]) -> str:
    """What an Action.Execute chose: the menu item picked in its choice set, if any, else
    the button's own value."""
    menu_id = data.get("menu")
    picked = data.get(menu_id) if isinstance(menu_id, str) and menu_id.startswith(
        MENU_PREFIX) else None
    return str(picked or data.get("value", ""))


def form_option(session_id: int) -> Option:
    return Option(value=opts.encode(opts.OpenForm(session_id)), label="Fill in a form instead")


# ---------------------------------------------------------------------- prompts
def prompt_items(p: Prompt, *, form: bool = False) -> list[Any]:
    """One prompt as card elements: its text, detail and buttons."""
    if p.kind is Kind.REVIEW and p.review is not None:
        return review_items(p)
    items: list[Any] = [heading(p.title)] if p.title and p.kind is not Kind.SAVED else []
    if p.kind in (Kind.QUESTION, Kind.DECISION) and p.progress is not None:
        label = "Question" if p.kind is Kind.QUESTION else "Customer"
        items.append(subtle(f"{label} {p.progress.text}"))
    color = "Attention" if p.kind is Kind.ERROR else None
    weight = "Bolder" if p.kind in (Kind.QUESTION, Kind.DECISION, Kind.SAVED) else None
    items.append(text(display.icon(p.kind) + p.text, color=color, weight=weight))
    if p.detail:
        items.append(subtle(p.detail))
    items += button_sets(p.choices, p.session_id)
    actions = list(p.actions)
    if form and p.kind is Kind.QUESTION and p.session_id is not None:
        actions.append(form_option(p.session_id))
    items += button_sets(actions, p.session_id)
    return items


def render_prompts(prompts: Sequence[Prompt], *, form: bool = True) -> AdaptiveCard:
    """A reply (several prompts) as one card, each prompt in its own container."""
    body: list[Any] = []
    for i, p in enumerate(prompts):
        body.append(Container(items=prompt_items(p, form=form), separator=i > 0 or None,
                              spacing="Medium" if i else None))
    return card(body)


def styled(part: Part) -> list[Any]:
    """One display part as card elements: a title a heading, a footnote subtle, a warning
    in the warning colour, facts a FactSet, a listing a small TextBlock per line."""
    if isinstance(part, Facts):
        return [FactSet(facts=[Fact(title=md(f.label, 200), value=md(f.value))
                               for f in part.facts])]
    if isinstance(part, Listing):
        return [text(line, size="Small", spacing="None") for line in part.lines]
    style: dict[str, Any] = _TONE.get(part.tone, {})
    if part.tone is Tone.TITLE:
        return [heading(part.text)]
    if part.tone is Tone.SUBTLE:
        return [subtle(part.text)]
    return [text(part.text, **style)]


_TONE: dict[Tone, dict[str, Any]] = {Tone.STRONG: {"weight": "Bolder"},
                                     Tone.WARN: {"color": "Warning"},
                                     Tone.GOOD: {"color": "Good"}}


def styled_all(parts: Sequence[Part]) -> list[Any]:
    return [item for part in parts for item in styled(part)]


def review_items(p: Prompt) -> list[Any]:
    r = p.review
    assert r is not None
    # the engine's title says what the card is: "Review before saving — not saved yet", or
    # once saved, the same card: "Saved ✓"
    items: list[Any] = [heading(p.title)] if p.title else []
    items += [text(r.headline, weight="Bolder") if p.title else heading(r.headline),
              text(p.text), *styled_all(display.review_parts(r))]
    items += button_sets(p.actions, p.session_id)
    return items


def answered_card(question: str, answer: str, change: Option | None,
                  session_id: int | None, progress: Progress | None = None) -> AdaptiveCard:
    """A question card once answered: the buttons go, the recorded answer shows (and where
    the question sits, as it did before it was answered)."""
    body: list[Any] = [subtle(f"Question {progress.text}")] if progress else []
    body += [text(question), text(f"✅ {answer}", color="Good")]
    if change is not None:
        body += button_sets([change], session_id)
    return card(body)


def with_note(card_json: dict[str, Any], prompts: Sequence[Prompt]) -> dict[str, Any]:
    """A posted card (as JSON) with ``prompts`` added just above its last part (the
    question): Why? keeps what the card said, the confirmation included."""
    note = to_dict(Container(items=[i for p in prompts for i in prompt_items(p)],
                             separator=True, spacing="Medium"))
    body = list(card_json.get("body") or [])
    body.insert(max(0, len(body) - 1), note)
    return {**card_json, "body": body}


def note_card(note: str) -> AdaptiveCard:
    """What a conversation card becomes once acted on (no buttons: no stale clicks)."""
    return card([subtle(note)])


# ---------------------------------------------------------------------- the form
def _input(q: Question, current: object, raw: str | None) -> Any:
    iid = FORM_PREFIX + q.id
    given = raw if raw is not None else (None if current is None else str(current))
    if q.type is AnswerType.SCALE:
        return ChoiceSetInput(id=iid, style="compact", placeholder="1 to 5", value=given,
                              choices=[Choice(title=plain(f"{i} {lab}"), value=str(i))
                                       for i, lab in enumerate(q.labels, 1)])
    if q.type is AnswerType.YES_NO:
        return ChoiceSetInput(id=iid, style="expanded", value=given,
                              choices=[Choice(title=lab, value=v) for v, lab in
                                       (("yes", "Yes"), ("no", "No"), ("unsure", "Not sure"))])
    if q.type is AnswerType.CHOICE:
        return ChoiceSetInput(id=iid, style="compact", placeholder="Choose", value=given,
                              choices=[Choice(title=plain(c.label), value=c.key)
                                       for c in q.choices])
    taps = tap_choices(q).choices
    if q.type in (AnswerType.PERCENT, AnswerType.NUMBER) and taps:
        # the same one-tap answers as the chat (bands, or each value); a value typed in the
        # chat that is none of them is kept when the field is left empty
        picked = next((c.value for c in taps if given is not None and _same(c.value, given)),
                      None)
        return ChoiceSetInput(id=iid, style="compact", placeholder="Choose", value=picked,
                              choices=[Choice(title=plain(c.label), value=c.value)
                                       for c in taps])
    if q.type in (AnswerType.PERCENT, AnswerType.NUMBER):
        # free text on purpose: "35%" or "about 3" are parsed, and refused on the card if wrong
        return TextInput(id=iid, max_length=40, value=given,
                         placeholder="e.g. 35%" if q.type is AnswerType.PERCENT else "a number")
    return TextInput(id=iid, is_multiline=True, max_length=TEXT_MAX, value=given)


def _same(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return False


def form_card(form: FormState, errors: Mapping[str, str] | None = None,
              raw: Mapping[str, str] | None = None) -> AdaptiveCard:
    """Every question of the sheet on one card; one submit. ``errors`` ({question id:
    reason}) show under their fields, with what the rep typed kept in place."""
    errors = errors or {}
    session_id, current = form.session_id, form.current
    body: list[Any] = [heading(f"Grading {form.customer}"),
                       subtle("Leave a question empty to skip it.")]
    if errors:
        body.append(text("Some answers need a fix — see below.", color="Attention"))
    for n, q in enumerate(form.questions, 1):
        body.append(text(f"{n}. " + form.asked(q), weight="Bolder", spacing="Medium"))
        if q.help:
            body.append(subtle(q.help))
        body.append(_input(q, current.get(q.id), (raw or {}).get(q.id)))
        if q.id in errors:
            body.append(text(f"⚠️ {errors[q.id]}", color="Attention", size="Small"))
    submit = ExecuteAction(title="Save grade", verb=VERB, style="positive",
                           data={"value": opts.encode(opts.SubmitForm(session_id)),
                                 "session": session_id,
                                 "label": "Save grade", "k": "p"})
    return card(body, [submit])


def form_answers(data: Mapping[str, Any]) -> dict[str, str]:
    """{question id: raw answer} from an Action.Execute's data (inputs merged in)."""
    return {k[len(FORM_PREFIX):]: str(v) for k, v in data.items()
            if k.startswith(FORM_PREFIX) and v is not None}


# ---------------------------------------------------------------------- look-ups
def customer_card(c: CustomerCard | NotFoundCard | Denied, regrade_value: str | None,
                  dimension_names: Mapping[str, str] | None = None) -> AdaptiveCard:
    if isinstance(c, Denied | NotFoundCard):
        return card([text(c.message)])
    body: list[Any] = [heading(c.name),
                       *styled_all(display.card_parts(c, dict(dimension_names or {})))]
    actions = [Option(value=regrade_value, label="Re-grade", style="primary")] \
        if regrade_value else []
    if c.can_override:
        actions.append(Option(value=opts.encode(opts.OpenOverride(c.customer_id)),
                              label="Override…"))
    if actions:
        body += button_sets(actions, kind="l")
    body += outcome_items(c)
    return card(body)


OUTCOME_MENU = MENU_PREFIX + "outcome"  # the card's outcome choice set (``chosen_value``)
OUTCOME_DAY = "outcome_day"  # the date input beside it


def outcome_unpicked(data: Mapping[str, Any]) -> bool:
    """A tap on the card's Record outcome with nothing chosen in its choice set."""
    return data.get("menu") == OUTCOME_MENU and not data.get(OUTCOME_MENU)


def outcome_items(c: CustomerCard) -> list[Any]:
    """"Record outcome": a choice set of the kinds, the day (empty: today) and one button
    whose data names the choice set, so the click sends the picked kind's value."""
    opt = c.outcome_menu
    # (not ``isRequired``: Teams would then hold every button of the card, Re-grade too,
    # until something is picked; a tap without a pick is answered by the app)
    pick = menu_input(opt, OUTCOME_MENU)
    return [
        text(opt.label, weight="Bolder", spacing="Medium"),
        pick,
        DateInput(id=OUTCOME_DAY, placeholder=plain(display.OUTCOME_DAY)),
        ActionSet(actions=[button(Option(value=opt.value, label=display.RECORD_OUTCOME),
                                  kind="l", menu_id=OUTCOME_MENU)]),
    ]


OVERRIDE_PREFIX = "ovr_"


def override_card(customer_id: int, form: OverrideForm, error: str | None = None,
                  raw: Mapping[str, str] | None = None) -> AdaptiveCard:
    """A manager's override of one customer on one card (what the Slack modal asks)."""
    from scoring import Recommendation

    raw = raw or {}
    keep = Choice(title="Keep the model's", value="")
    body: list[Any] = [
        heading(f"Override the grade of {form.customer}"),
        subtle(f"Shown beside the model's grade; ends by itself (at most "
               f"{form.latest.isoformat()}); the owner is told."),
        text("Letter", weight="Bolder"),
        ChoiceSetInput(id=OVERRIDE_PREFIX + "letter", style="compact",
                       value=raw.get("letter") or "",
                       choices=[keep, *(Choice(title=x, value=x) for x in "ABCD")]),
        text("Recommendation", weight="Bolder"),
        ChoiceSetInput(id=OVERRIDE_PREFIX + "recommendation", style="compact",
                       value=raw.get("recommendation") or "",
                       choices=[keep, *(Choice(title=r.label, value=r.value)
                                        for r in Recommendation)]),
        text("Until", weight="Bolder"),
        DateInput(id=OVERRIDE_PREFIX + "until",
                  value=raw.get("until") or form.until.isoformat(),
                  max=form.latest.isoformat()),
        text("Reason (required)", weight="Bolder"),
        TextInput(id=OVERRIDE_PREFIX + "reason", is_multiline=True, max_length=500,
                  value=raw.get("reason") or None),
    ]
    if error:
        body.append(text(f"⚠️ {error}", color="Attention"))
    submit = ExecuteAction(title="Override", verb=VERB, style="positive",
                           data={"value": opts.encode(opts.SaveOverride(customer_id)),
                                 "label": "Override", "k": "p"})
    return card(body, [submit])


def override_answers(data: Mapping[str, Any]) -> dict[str, str]:
    return {k[len(OVERRIDE_PREFIX):]: str(v) for k, v in data.items()
            if k.startswith(OVERRIDE_PREFIX) and v is not None}


def text_view_card(view: TextView | Refused | Denied | NotFoundCard) -> AdaptiveCard:
    """A titled list of lines (an override set, its history, the optimism view), or the
    refusal in its place."""
    if isinstance(view, Refused | Denied | NotFoundCard):
        return card([text(view.message)])
    return card([heading(view.title), *(text(x) for x in view.lines[:display.BOOK_ROWS_TEAMS])])



def _row(row: Row, opt: Option | None) -> Any:
    line = text(row.text, **_TONE.get(row.tone, {}))
    if opt is None:
        return line
    return ColumnSet(columns=[
        Column(width="stretch", items=[line], vertical_content_alignment="Center"),
        Column(width="auto", items=[ActionSet(actions=[button(opt, kind="l")])])])


def book_card(view: BookView | Denied, grade_value: Any = None,
              limit: int = display.BOOK_ROWS_TEAMS) -> AdaptiveCard:
    if isinstance(view, Denied):
        return card([text(view.message)])
    rows, rest = display.book_rows(view, limit, "grades overdue")
    by_id = {e.customer_id: e for e in view.entries}
    body: list[Any] = [heading(display.book_title(view)),
                       *([] if rows else [text(display.NOTHING)])]
    body += [_row(r, Option(value=grade_value(by_id[r.customer_id]), label="Grade")
                  if grade_value else None) for r in rows]
    if rest is not None:
        body += styled(rest)
    return card(body)


def portfolio_card(view: PortfolioView) -> AdaptiveCard:
    return card([heading(display.portfolio_title(view)),
                 *styled_all(display.portfolio_parts(view))])


def help_card(lead: str = "", lines: Sequence[HelpLine] | None = None) -> AdaptiveCard:
    """Help lines (``bot.engine.help``: every command's, by default) as facts: the usage,
    and what it does; ``lead`` first."""
    body: list[Any] = [heading("gradebot")]
    if lead:
        body.append(text(lead))
    body.append(FactSet(facts=[Fact(title=md(h.usage, 200), value=md(h.what))
                               for h in (help.overview() if lines is None else lines)]))
    return card(body)


# ---------------------------------------------------------------------- reminders
def reminder_cards(msg: ReminderMessage, *, followup: bool = False) -> list[AdaptiveCard]:
    """The reminder as cards of at most ``display.DUE_PAGE_TEAMS`` customers (``bot.display``'s
    lines and pages); title and intro on the first, snooze / out-of-office on the last."""
    pages = display.due_pages(msg, display.DUE_PAGE_TEAMS)
    out: list[AdaptiveCard] = []
    for i, (note, rows) in enumerate(pages):
        body: list[Any] = []
        if i == 0:
            body += [heading(msg.title), text(msg.intro) if not followup else subtle(msg.intro)]
        body += styled(note) if note else []
        body += [_row(r, Option(value=opts.pick(r.customer_id), label="Grade",
                                style="primary")) for r in rows]
        if i == len(pages) - 1 and msg.controls:
            body += button_sets(msg.controls, kind="l")
        out.append(card(body))
    return out


def digest_card(msg: DigestMessage) -> AdaptiveCard:
    return card([heading(msg.title), *[text(line) for line in msg.lines[:100]]])


def alert_card(t: str, options: Sequence[Option]) -> AdaptiveCard:
    return card([text(t), *button_sets(list(options), kind="l")])


def away_card(delivery_id: int, initial: str, error: str = "") -> AdaptiveCard:
    body: list[Any] = [heading("Out of office"),
                       text("No reminders or follow-ups until you are back."),
                       text("Back on", weight="Bolder"), DateInput(id="back_on", value=initial)]
    if error:
        body.append(text(f"⚠️ {error}", color="Attention", size="Small"))
    save = ExecuteAction(title="Save", verb=VERB, style="positive",
                         data={"value": opts.encode(opts.AwaySave(delivery_id)), "label": "Save",
                               "k": "p"})
    return card(body, [save])
