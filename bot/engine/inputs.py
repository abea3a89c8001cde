"""What a channel can hand the engine: starting a grading, text, or a chosen option.

Option values are compact strings the engine itself produced (button values in Slack, card
actions in Teams, numbered choices in the terminal), so a channel never needs to understand
them — it passes them back as ``Choose(value)``. Their grammar, and the only code that
encodes or decodes them, is ``bot.engine.options``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from scoring import Cadence


@dataclass(frozen=True, slots=True)
class Start:
    """Grade ``customer`` (or, with no customer and cadence strategic, review the book)."""

    customer: str
    cadence: Cadence | None = None
    # ask this person (a platform user id, email or name) for a second opinion instead
    second_opinion: str | None = None
    # ``… second-opinion cancel @dana``: withdraw the open request instead of asking
    withdraw: bool = False


@dataclass(frozen=True, slots=True)
class Text:
    """Something typed in the conversation: a command word or an answer."""

    text: str


@dataclass(frozen=True, slots=True)
class Choose:
    """An option the engine offered (a button, a numbered choice)."""

    value: str


Input = Start | Text | Choose

COMMANDS = ("back", "skip", "why", "help", "pause", "resume", "cancel", "save", "discard",
            "review", "restart")
# every command word, typed or on a button (``change`` takes a number: "change 3"); the
# engine's table (``conversation.COMMANDS``) has one entry for each
COMMAND_WORDS = frozenset({*COMMANDS, "change"})
_CHANGE = re.compile(r"^(?:change|edit|redo)\s*#?\s*(\d{1,3})$")


def parse_grade_args(text: str) -> Start | None:
    """``/grade Acme Corp annual`` → Start("Acme Corp", ANNUAL); ``/grade strategic`` →
    the book review. None when there is nothing to grade (empty, or only "help")."""
    words = text.strip().split()
    if not words or (len(words) == 1 and words[0].lower() in ("help", "?")):
        return None
    asked = _second_opinion(words)
    if asked is not None:
        return asked
    cadence: Cadence | None = None
    if words[-1].lower() in {c.value for c in Cadence}:
        cadence = Cadence(words[-1].lower())
        words = words[:-1]
    return Start(" ".join(words), cadence)


_SECOND = ("second-opinion", "second_opinion", "2nd-opinion")
_WITHDRAW = ("cancel", "withdraw")


def _second_opinion(words: list[str]) -> Start | None:
    """``Acme Corp second-opinion @dana`` (or ``second opinion``) → a second opinion on
    Acme Corp asked of whoever the rest names; ``… second-opinion cancel @dana`` (or
    ``withdraw``) withdraws that request; None when the words do not ask one."""
    low = [w.lower() for w in words]
    for i, w in enumerate(low):
        if w in _SECOND:
            rest = words[i + 1:]
        elif w == "second" and i + 1 < len(low) and low[i + 1] == "opinion":
            rest = words[i + 2:]
        else:
            continue
        withdraw = bool(rest) and rest[0].lower() in _WITHDRAW
        return Start(" ".join(words[:i]), Cadence.ANNUAL,
                     second_opinion=" ".join(rest[1:] if withdraw else rest), withdraw=withdraw)
    return None


def user_key(token: str) -> str:
    """``<@U123|name>`` (a Slack mention) → ``U123``; ``@bob`` → ``bob`` (a Teams mention
    arrives already turned into the user's id by the channel)."""
    t = token.strip()
    if t.startswith("<@") and t.endswith(">"):
        return t[2:-1].split("|", 1)[0]
    return t.lstrip("@")


def command_of(text: str) -> tuple[str, int | None] | None:
    """A command word typed as text: ("change", 3), ("skip", None) … or None."""
    t = text.strip().lower().strip(".!")
    if t in COMMANDS:
        return t, None
    if t in ("go back", "previous", "prev"):
        return "back", None
    if t in ("next", "pass", "skip it", "skip this"):
        return "skip", None
    if t in ("why?", "why does this matter", "why does it matter"):
        return "why", None
    if t in ("?", "commands"):
        return "help", None
    m = _CHANGE.match(t)
    if m:
        return "change", int(m.group(1))
    return None


def whole_number(text: str, digits: int = 18) -> int | None:
    """``text`` as a non-negative whole number when it is at most ``digits`` ASCII digits,
    else None. The length is checked before ``int()``: a rep (or a forged button) can send
    thousands of digits, and ``int()`` of more than 4,300 raises; ``"²".isdigit()`` is true
    and ``int("²")`` raises too."""
    t = text.strip()
    if not t or len(t) > digits or not (t.isascii() and t.isdigit()):
        return None
    return int(t)


# input keys: what makes a redelivered input a no-op (``Conversation.handle(input_key=…)``)
MAX_KEY = 128


def click_key(channel: str, *where: object) -> str:
    """The input key of a click: ``channel`` is a short namespace ("b" Slack buttons, "x"
    Teams cards) and ``where`` what tells clicks apart (the message, its block, the value).
    The same click delivered twice (a double click, a platform's retry) gets the same key;
    a click on a message asked again in place gets another (its block id is new)."""
    digest = hashlib.sha1("|".join(str(w) for w in where).encode()).hexdigest()[:40]
    return f"{channel}:{digest}"


def message_key(channel: str, message_id: object) -> str:
    """The input key of a typed message or a submitted form: the platform's own id of it
    ("m" Slack messages, "v" Slack modals, "t" Teams messages, "f" Teams forms)."""
    return f"{channel}:{message_id}"[:MAX_KEY]
