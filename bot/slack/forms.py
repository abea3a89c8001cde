"""The form path: every question of the sheet in one Slack modal, and the settings modal."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    DatePickerElement,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.engine.conversation import shown
from bot.engine.form import FormState
from bot.engine.inputs import whole_number
from bot.services import WorkspaceSettings, is_time_zone
from bot.slack.blocks import clip, context, plain
from scoring import AnswerType, Cadence, Question, TargetBalance
from scoring.taps import tap_choices

FORM_CALLBACK = "grade_form"
OVERRIDE_CALLBACK = "override_form"
SETTINGS_CALLBACK = "settings_form"
ACTION = "answer"


def _option(label: str, value: str) -> Option:
    return Option(text=plain(label, 75), value=value[:150])


def _element(q: Question, current: object) -> Any:
    if q.type is AnswerType.SCALE:
        opts = [_option(f"{i} {lab}", str(i)) for i, lab in enumerate(q.labels, 1)]
        initial = next((o for o in opts if o.value == str(current)), None)
        return StaticSelectElement(action_id=ACTION, placeholder=plain("1 to 5", 150),
                                   options=opts, initial_option=initial)
    if q.type is AnswerType.YES_NO:
        opts = [_option(lab, v) for v, lab in (("yes", "Yes"), ("no", "No"),
                                                ("unsure", "Not sure"))]
        initial = next((o for o in opts if o.value == str(current)), None)
        return RadioButtonsElement(action_id=ACTION, options=opts, initial_option=initial)
    if q.type is AnswerType.CHOICE:
        opts = [_option(c.label, c.key) for c in q.choices]
        initial = next((o for o in opts if o.value == str(current)), None)
        return StaticSelectElement(action_id=ACTION, placeholder=plain("Choose", 150),
                                   options=opts, initial_option=initial)
    taps = tap_choices(q).choices
    if q.type in (AnswerType.PERCENT, AnswerType.NUMBER) and taps:
        # the same one-tap answers as the chat (bands, or each value): the engine's choice
        # of what a band records; an answer typed in the chat shows as the hint, and is
        # kept when the field is left empty
        opts = [_option(c.label, c.value) for c in taps[:100]]
        initial = next((o for o in opts if current is not None
                        and float(o.value) == float(current)), None)  # type: ignore[arg-type]
        return StaticSelectElement(action_id=ACTION, placeholder=plain("Choose", 150),
                                   options=opts, initial_option=initial)
    if q.type in (AnswerType.PERCENT, AnswerType.NUMBER):
        # free text on purpose: "35%" or "about 3" are parsed and refused inline if wrong
        return PlainTextInputElement(action_id=ACTION, placeholder=plain(
            "e.g. 35%" if q.type is AnswerType.PERCENT else "a number", 150),
            initial_value=None if current is None else str(current), max_length=40)
    return PlainTextInputElement(action_id=ACTION, multiline=True, max_length=3000,
                                 initial_value=None if current is None else str(current))


def form_view(form: FormState) -> dict[str, Any]:
    """The modal of ``form`` (the engine's state of it: questions, answers so far)."""
    current = form.current
    blocks: list[Block] = [context(f"Grading {form.customer}. Leave a question empty to skip "
                                   "it.")]
    for q in form.questions:
        label = clip(form.asked(q), 2000)
        hint = (f"Now: {shown(q, current[q.id])}. " if q.id in current else "") + q.help
        blocks.append(InputBlock(block_id=q.id, label=plain(label, 2000),
                                 element=_element(q, current.get(q.id)), optional=True,
                                 hint=plain(hint, 2000) if hint else None))
    view = View(type="modal", callback_id=FORM_CALLBACK, private_metadata=str(form.session_id),
                title=plain("Grade a customer", 24), submit=plain("Save grade", 24),
                close=plain("Cancel", 24), blocks=blocks[:100])
    return view.to_dict()


def form_answers(state_values: dict[str, Any]) -> dict[str, str]:
    """{question_id: raw answer} from a submitted form's state."""
    out: dict[str, str] = {}
    for block_id, actions in state_values.items():
        v = (actions or {}).get(ACTION) or {}
        sel = v.get("selected_option")
        if sel:
            out[block_id] = str(sel.get("value", ""))
        elif v.get("value") is not None:
            out[block_id] = str(v["value"])
        elif v.get("selected_date"):
            out[block_id] = str(v["selected_date"])
    return out


REGRADE_BLOCK = "regrade_"  # regrade_A … regrade_D: how often a letter is re-graded


def settings_view(settings: WorkspaceSettings, target: dict[str, float],
                  letters: tuple[str, ...] = ("A", "B", "C", "D")) -> dict[str, Any]:
    """The admin settings modal. ``letters``: the worksheet's grade letters (one re-grade
    cadence each)."""
    def number(block_id: str, label: str, value: float, lo: int, hi: int) -> InputBlock:
        return InputBlock(block_id=block_id, label=plain(label, 2000), element=NumberInputElement(
            action_id=ACTION, is_decimal_allowed=False, initial_value=str(int(value)),
            min_value=str(lo), max_value=str(hi)))

    def text(block_id: str, label: str, value: str | None, placeholder: str,
             max_length: int = 64) -> InputBlock:
        return InputBlock(block_id=block_id, label=plain(label, 2000), optional=True,
                          element=PlainTextInputElement(action_id=ACTION, initial_value=value,
                                                        placeholder=plain(placeholder, 150),
                                                        max_length=max_length))

    def cadence(letter: str) -> InputBlock:
        opts = [_option("Every quarter", "quarterly"), _option("Every year", "annual")]
        now = settings.regrade_by_letter.get(letter, Cadence.QUARTERLY)
        initial = next(o for o in opts if o.value == Cadence(now).value)
        return InputBlock(block_id=f"{REGRADE_BLOCK}{letter}",
                          label=plain(f"Re-grade {letter} customers", 2000),
                          element=StaticSelectElement(action_id=ACTION, options=opts,
                                                      initial_option=initial,
                                                      placeholder=plain("How often", 150)))

    blocks: list[Block] = [
        context("Target balance of the three goods, in percent (must add up to 100)."),
        number("good_for_you", "Good for you (pays now, hires later, refers)",
               target["good_for_you"], 0, 100),
        number("good_at_it", "Good at it (builds our skills)", target["good_at_it"], 0, 100),
        number("good_for_others", "Good for others (mission, pro-bono)",
               target["good_for_others"], 0, 100),
        context("Reminders: each rep gets them at this hour of their own day (their Slack "
                "time zone; the workspace's for people without one)."),
        text("reminder_channel", "Reminder channel id (empty: each rep's DM)",
             settings.reminder_channel, "C0123ABCD"),
        text("digest_channel", "Manager digest channel id", settings.digest_channel,
             "C0123ABCD"),
        text("timezone", "Workspace time zone", settings.timezone, "Europe/Paris"),
        number("reminder_hour", "Reminder hour (0-23)", settings.reminder_hour, 0, 23),
        number("annual_month", "Month of the annual grading (1-12)", settings.annual_month, 1, 12),
        number("followup_days", "Days between reminder follow-ups", settings.followup_days,
               1, 60),
        number("max_followups", "Follow-ups per reminder, at most (0-20)",
               settings.max_followups, 0, 20),
        *[cadence(letter) for letter in letters],
        text("strategic_dates", "Strategic review dates (YYYY-MM-DD, comma separated)",
             ", ".join(d.isoformat() for d in settings.strategic_dates),
             "2027-03-15, 2027-09-15", 500),
    ]
    return View(type="modal", callback_id=SETTINGS_CALLBACK, title=plain("gradebot settings", 24),
                submit=plain("Save", 24), close=plain("Cancel", 24), blocks=blocks).to_dict()


def settings_changes(raw: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The submitted settings modal as settings changes, or errors keyed by block id (shown
    under the field by Slack; nothing is saved while there are any)."""
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {}
    try:
        changes["target_balance"] = TargetBalance(**{
            k: float(raw.get(k) or 0) for k in ("good_for_you", "good_at_it",
                                                "good_for_others")}).model_dump()
    except ValueError:
        errors["good_for_others"] = "The three shares must add up to 100."
    zone = (raw.get("timezone") or "").strip() or "UTC"
    if is_time_zone(zone):
        changes["timezone"] = zone
    else:
        errors["timezone"] = "Unknown time zone: use a name such as Europe/Paris or UTC."
    dates: list[str] = []
    for part in re.split(r"[,;\s]+", (raw.get("strategic_dates") or "").strip()):
        if not part:
            continue
        try:
            dates.append(date.fromisoformat(part).isoformat())
        except ValueError:
            errors["strategic_dates"] = f"{clip(part, 40)} is not a date: use YYYY-MM-DD."
            break
    changes["strategic_dates"] = sorted(set(dates))
    # only the letters the modal showed: the caller merges them into the stored ones
    changes["regrade_by_letter"] = {
        k.removeprefix(REGRADE_BLOCK): v for k, v in raw.items()
        if k.startswith(REGRADE_BLOCK) and v in ("quarterly", "annual")}
    changes["reminder_channel"] = (raw.get("reminder_channel") or "").strip() or None
    changes["digest_channel"] = (raw.get("digest_channel") or "").strip() or None
    for key, lo, hi in (("reminder_hour", 0, 23), ("annual_month", 1, 12),
                        ("followup_days", 1, 60), ("max_followups", 0, 20)):
        value = (raw.get(key) or "").strip()
        if not value:
            continue  # (Slack requires these; a forged submission just leaves them as they are)
        number = whole_number(value, digits=3)  # length-checked before int()
        if number is None or not lo <= number <= hi:
            errors[key] = f"A whole number from {lo} to {hi}."
        else:
            changes[key] = number
    return changes, errors


# ---------------------------------------------------------------------- the override form
_KEEP = "keep"  # "the model's" in the override form's selects


def override_view(customer_id: int, customer: str, initial_until: date, latest: date
                  ) -> dict[str, Any]:
    """A manager's override of one customer: letter and/or recommendation, until when (at
    most ``latest``), and the required reason. Checked again when saved (bot.trust)."""
    from scoring import Recommendation

    keep = _option("Keep the model's", _KEEP)
    letters = [keep, *(_option(x, x) for x in "ABCD")]
    recs = [keep, *(_option(r.label, r.value) for r in Recommendation)]
    blocks: list[Block] = [
        context(f"Overrides show beside the model's grade, end by themselves (at most "
                f"{latest.isoformat()}), and its owner is told."),
        InputBlock(block_id="letter", label=plain("Letter", 2000), element=StaticSelectElement(
            action_id=ACTION, options=letters, initial_option=keep)),
        InputBlock(block_id="recommendation", label=plain("Recommendation", 2000),
                   element=StaticSelectElement(action_id=ACTION, options=recs,
                                               initial_option=keep)),
        InputBlock(block_id="until", label=plain("Until", 2000), element=DatePickerElement(
            action_id=ACTION, initial_date=initial_until.isoformat())),
        InputBlock(block_id="reason", label=plain("Reason (required)", 2000),
                   element=PlainTextInputElement(action_id=ACTION, multiline=True,
                                                 max_length=500)),
    ]
    view = View(type="modal", callback_id=OVERRIDE_CALLBACK, private_metadata=str(customer_id),
                title=plain("Override", 24), submit=plain("Override", 24),
                close=plain("Cancel", 24), blocks=blocks)
    view.blocks.insert(0, context(clip(f"Override the grade of {customer}", 150)))
    return view.to_dict()


def override_answers(state_values: dict[str, Any]) -> dict[str, str]:
    """The override form's fields as text ("" for "keep the model's")."""
    return {k: "" if v == _KEEP else v for k, v in form_answers(state_values).items()}
