"""The answers a question offers for one tap: labels and the value a tap records.

Scale, yes/no and choice questions have their answers already. Percent and number questions
have a range: a tap on "0.5–2 %" must still record a number, and that number must score in
the band the label names, or the grade would say something the rep did not. This module is
the one place that picks those values (``TapChoice.value``), so the chat buttons, the Slack
modal and the Teams form card all offer the same choices and record the same numbers.

Pure: no I/O, no channel. The channels get these through the engine as prompt options.
"""

from __future__ import annotations

import math

from pydantic import BaseModel

from scoring.worksheet import AnswerType, Question

BUTTONS_MAX = 11     # number questions with up to this many whole values: one button each
MENU_MAX = 100       # up to this many whole values: one menu item each (Slack's select limit)


class TapChoice(BaseModel, frozen=True):
    """One tappable answer: ``value`` is what it records (as ``parse_answer`` reads it)."""

    label: str
    value: str


class TapChoices(BaseModel, frozen=True):
    """A question's tappable answers, and whether they are few enough for buttons (else a
    menu)."""

    choices: tuple[TapChoice, ...]
    menu: bool = False


def _fmt(x: float) -> str:
    return f"{x:g}"


def _whole(q: Question) -> bool:
    lo, hi = q.bounds
    return float(lo).is_integer() and float(hi).is_integer()


def _bands(q: Question) -> list[tuple[float, float, bool]]:
    """(low, high, low-is-inclusive) of each band that holds legal answers."""
    lo, hi = q.bounds
    out: list[tuple[float, float, bool]] = []
    prev = lo
    first = True
    for b in q.bands:
        top = min(b.upto, hi)
        if top < lo or (not first and top <= prev):
            continue
        out.append((prev, top, first))
        prev, first = top, False
        if top >= hi:
            break
    return out


def _representative(q: Question, low: float, high: float, inclusive: bool) -> float:
    """A value inside the band (low, high] ((low, high] or [low, high] for the first): the
    midpoint, or for whole-number questions the middle whole number."""
    if q.type is AnswerType.NUMBER and _whole(q):
        first = math.ceil(low) if inclusive else math.floor(low) + 1
        last = math.floor(high)
        if first <= last:
            return float((first + last) // 2)
    return (low + high) / 2


def _band_label(q: Question, low: float, high: float, inclusive: bool, last: bool) -> str:
    lo, hi = q.bounds
    unit = " %" if q.type is AnswerType.PERCENT else (f" {q.unit}" if q.unit else "")
    if q.type is AnswerType.NUMBER and _whole(q):
        first = math.ceil(low) if inclusive else math.floor(low) + 1
        top = math.floor(high)
        return f"{first}{unit}" if first == top else f"{first}–{top}{unit}"
    if inclusive and low <= lo and q.type is AnswerType.PERCENT and lo == 0:
        return f"under {_fmt(high)}{unit}"
    if last and high >= hi and q.type is AnswerType.PERCENT:
        return f"over {_fmt(low)}{unit}"
    return f"{_fmt(low)}–{_fmt(high)}{unit}"


def band_choices(q: Question) -> tuple[TapChoice, ...]:
    """One choice per band, labelled from the worksheet ("under 0.5 %", "0.5–2 %", …,
    "over 30 %"), each recording a value that scores in its band."""
    bands = _bands(q)
    out = []
    for i, (low, high, inclusive) in enumerate(bands):
        value = _representative(q, low, high, inclusive)
        out.append(TapChoice(label=_band_label(q, low, high, inclusive, i == len(bands) - 1),
                             value=_fmt(value)))
    return tuple(out)


def tap_choices(q: Question) -> TapChoices:
    """The one-tap answers of ``q`` (empty for free text)."""
    t = q.type
    if t is AnswerType.SCALE:
        return TapChoices(choices=tuple(TapChoice(label=f"{i} {lab}", value=str(i))
                                        for i, lab in enumerate(q.labels, 1)))
    if t is AnswerType.YES_NO:
        return TapChoices(choices=tuple(TapChoice(label=lab, value=v) for v, lab in
                                        (("yes", "Yes"), ("no", "No"), ("unsure", "Not sure"))))
    if t is AnswerType.CHOICE:
        return TapChoices(choices=tuple(TapChoice(label=c.label, value=c.key)
                                        for c in q.choices))
    if t is AnswerType.PERCENT:
        if q.bands:
            return TapChoices(choices=band_choices(q))
        lo, hi = q.bounds  # no bands: scored linearly, so tenths of the range will do
        step = (hi - lo) / 10
        return TapChoices(choices=tuple(TapChoice(label=f"{_fmt(lo + i * step)} %",
                                                  value=_fmt(lo + i * step))
                                        for i in range(11)))
    if t is AnswerType.NUMBER:
        lo, hi = q.bounds
        unit = f" {q.unit}" if q.unit else ""
        if _whole(q) and hi - lo + 1 <= MENU_MAX:
            values = range(int(lo), int(hi) + 1)
            return TapChoices(choices=tuple(TapChoice(label=f"{v}{unit}", value=str(v))
                                            for v in values),
                              menu=len(values) > BUTTONS_MAX)
        return TapChoices(choices=band_choices(q), menu=True)
    return TapChoices(choices=())


def _uses_bands(q: Question) -> bool:
    """True when ``q``'s taps are its bands (not one value each)."""
    if q.type is AnswerType.PERCENT:
        return bool(q.bands)
    lo, hi = q.bounds
    return q.type is AnswerType.NUMBER and not (_whole(q) and hi - lo + 1 <= MENU_MAX)


def tap_label(q: Question, value: object) -> str | None:
    """The label of the band choice that records ``value`` ("0.5–2 %"), so a tapped band
    reads back as the band; None for any other value."""
    if q.type not in (AnswerType.PERCENT, AnswerType.NUMBER) or isinstance(value, bool) \
            or not isinstance(value, int | float):
        return None
    if not _uses_bands(q):
        return None
    for c in band_choices(q):
        if float(c.value) == float(value):
            return c.label
    return None
