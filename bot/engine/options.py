"""Option values: what a button, a menu item or a numbered choice sends back, as typed data.

Every value the bot puts on a button (Slack block actions, Teams ``Action.Execute`` data, the
terminal's numbered choices) is one of the tagged dataclasses below, turned into its compact
wire string by ``encode`` and back by ``decode`` — here and nowhere else, so no channel
splits a string on ``|`` and a new kind of button is one class and one line in each table.

The wire strings are short (Slack allows 150 characters in a select option) and stable
(buttons stay in chat history for months): ``tag|field|field``. The grammar, every kind:

=============================  ===========================================================
``a|<question>|<value>``       Answer: the value a tap records for that question
``k|<question>|<value>``       Confirm: yes to a reading of typed text (may answer another
                               question than the current one)
``c|<word>|<arg>``             Command: back, skip, why, help, pause, resume, restart, save,
                               discard, cancel, review, change; ``<arg>`` is empty, a number
                               (``change 3``, the session ``resume 12`` is about), ``@<n>``
                               (the position it was offered at: a double click acts once) or
                               ``<n>.<cadence>`` (start session n over on that worksheet)
``pick|<cadence>|<customer>``  Pick: grade this customer (by id); cadence may be empty
``create|<cadence>|<name>``    Create: a new customer of that name, and grade it
``d|<customer>|<decision>``    Decide: a strategic-review decision for a customer
``form|<session>``             OpenForm: the whole sheet as a form (Slack modal, Teams card)
``submit|<session>``           SubmitForm: the Teams form card's submit button
``ovr|<customer>``             OpenOverride: the override form (a Slack modal, a Teams card)
``ovrsave|<customer>``         SaveOverride: the Teams override card's submit button
``out|<customer>|<kind>``      RecordOutcome: what happened (renewed, churned, …), from the
                               card's menu; ``out|<customer>|<kind>|<ask>`` a tap under "Did
                               Acme renew?" (that question's delivery; ``later``: not yet)
``rem|snooze|<delivery>|<n>``  Snooze: no follow-up of this reminder for n days
``rem|away|<delivery>``        Away: ask for the out-of-office date
``remaway|<delivery>``         AwaySave: the Teams out-of-office card's save button
``settings``                   OpenSettings: the admins' settings modal (Slack App Home)
``open``                       OpenImport: the admins' CSV import modal (Slack App Home)
``{"a": "go", "f": …}``        ImportFile: Import / Cancel under a CSV preview (Slack): a
                               JSON object, as the click must carry the file and the
                               options (up to ``MAX_IMPORT_VALUE`` characters)
=============================  ===========================================================

``decode`` never raises anything but ``BadOption`` (a ``ValueError`` whose message a channel
may show as it is): a stale, forged or garbled value is refused in words, never with a
traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from bot.engine.inputs import COMMAND_WORDS
from scoring import Cadence, Recommendation

MAX_VALUE = 300  # what ``Option.value`` allows (Slack: 2,000 on a button, 150 in a select)
MAX_IMPORT_VALUE = 2000  # Slack's limit on a button value: an import's mappings travel in it
MAX_SNOOZE_DAYS = 30
IMPORT_KINDS = frozenset({"people", "customers", "outcomes"})  # bot.imports.ImportKind
SEP: Final = "|"

DECISIONS = frozenset(r.value for r in Recommendation)
# storage.models.OutcomeKind, in its order (the codec stays cheap to import: no storage);
# tests/engine/test_options.py checks the two agree
OUTCOME_KINDS: Final = ("renewed", "expanded", "churned", "defaulted_or_paid_late", "referred",
                        "exited_by_us")
NOT_YET: Final = "later"  # "not yet" under a renewal question: ask again later


class BadOption(ValueError):
    """A value that is not one the bot produced (stale, forged, garbled)."""


def _number(text: str, what: str, digits: int = 18) -> int:
    """``text`` as a whole number of at most ``digits`` ASCII digits (length checked before
    ``int()``: a forged value can carry thousands of digits)."""
    if not text or len(text) > digits or not (text.isascii() and text.isdigit()):
        raise BadOption(f"{what} is not a number")
    return int(text)


def _cadence(text: str) -> Cadence | None:
    if not text:
        return None
    try:
        return Cadence(text)
    except ValueError:
        raise BadOption(f"{text[:20]!r} is not a worksheet") from None


def _field(text: str, what: str) -> str:
    if not text or SEP in text:
        raise BadOption(f"{what} is missing or malformed")
    return text


# ---------------------------------------------------------------------- the kinds
@dataclass(frozen=True, slots=True)
class Answer:
    """A tapped answer to a question (``value`` as ``scoring.parse_answer`` reads it)."""

    question_id: str
    value: str


@dataclass(frozen=True, slots=True)
class Confirm:
    """Yes to a reading of what was typed (it may answer a question mentioned in passing)."""

    question_id: str
    value: str


@dataclass(frozen=True, slots=True)
class Command:
    """A command word on a button. ``number``: which answer to change, or the session a
    resume/restart offer is about; ``at``: the position the button was offered at (a second
    click after the grading moved on does nothing); ``cadence``: the worksheet a restart
    starts over with."""

    word: str
    number: int | None = None
    at: int | None = None
    cadence: Cadence | None = None

    def __post_init__(self) -> None:
        if self.word not in COMMAND_WORDS:
            raise BadOption(f"{self.word[:20]!r} is not a command")
        if self.at is not None and (self.number is not None or self.cadence is not None):
            raise BadOption("a command is offered at a position or names a number, not both")
        if self.cadence is not None and self.number is None:
            raise BadOption("a worksheet needs the session it restarts")


@dataclass(frozen=True, slots=True)
class Pick:
    """Grade an existing customer (by id: a button never carries whose it is)."""

    customer_id: int
    cadence: Cadence | None = None


@dataclass(frozen=True, slots=True)
class Create:
    """Create a customer called ``name`` (validated by the engine) and grade it."""

    name: str
    cadence: Cadence | None = None


@dataclass(frozen=True, slots=True)
class Decide:
    """A strategic-review decision (a ``Recommendation`` value) for one customer."""

    customer_id: int
    decision: str

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise BadOption(f"{self.decision[:20]!r} is not a decision")


@dataclass(frozen=True, slots=True)
class OpenForm:
    session_id: int


@dataclass(frozen=True, slots=True)
class SubmitForm:
    session_id: int


@dataclass(frozen=True, slots=True)
class OpenOverride:
    """A manager's "Override…" on a customer card (``bot.trust`` checks who may)."""

    customer_id: int


@dataclass(frozen=True, slots=True)
class SaveOverride:
    customer_id: int


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """Record what happened to a customer: picked from the customer card's "Record outcome"
    menu, or tapped under the renewal question "Did Acme renew?" (``ask``: that question's
    delivery id, so the answer closes it). ``kind`` is an outcome kind, or ``NOT_YET`` —
    only under a question — to be asked again later. The day is not on the button: it is
    today, or the date input beside the menu (``bot.engine.outcomes``)."""

    customer_id: int
    kind: str
    ask: int | None = None

    def __post_init__(self) -> None:
        if self.kind == NOT_YET:
            if self.ask is None:
                raise BadOption("'not yet' answers a renewal question")
        elif self.kind not in OUTCOME_KINDS:
            raise BadOption(f"{self.kind[:30]!r} is not an outcome")


@dataclass(frozen=True, slots=True)
class Snooze:
    delivery_id: int
    days: int

    def __post_init__(self) -> None:
        if not 1 <= self.days <= MAX_SNOOZE_DAYS:
            raise BadOption(f"a snooze is 1 to {MAX_SNOOZE_DAYS} days")


@dataclass(frozen=True, slots=True)
class Away:
    delivery_id: int


@dataclass(frozen=True, slots=True)
class AwaySave:
    delivery_id: int


@dataclass(frozen=True, slots=True)
class OpenSettings:
    pass


@dataclass(frozen=True, slots=True)
class OpenImport:
    pass


@dataclass(frozen=True, slots=True)
class ImportFile:
    """Import (``verb`` "go") or cancel the previewed CSV ``file_id``: the click carries the
    file and what the admin said about it, so any replica can take it."""

    verb: str
    file_id: str
    kind: str
    columns: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    reassign_owners: bool = False
    all_or_nothing: bool = False

    def __post_init__(self) -> None:
        if self.verb not in ("go", "cancel"):
            raise BadOption("that import button is not one I know")
        if self.kind not in IMPORT_KINDS:
            raise BadOption("an import is of people, customers or outcomes")
        if not self.file_id or len(self.file_id) > 64:
            raise BadOption("the import names no file")


OptionValue = (
    Answer
    | Confirm
    | Command
    | Pick
    | Create
    | Decide
    | OpenForm
    | SubmitForm
    | OpenOverride
    | SaveOverride
    | RecordOutcome
    | Snooze
    | Away
    | AwaySave
    | OpenSettings
    | OpenImport
    | ImportFile
)
EngineValue = Answer | Confirm | Command | Pick | Create | Decide
"""The values ``Conversation.handle`` takes as ``Choose``; the others are the channels' own
(a form to open or submit, a reminder button, the settings modal)."""

REMINDER_VALUES = (Snooze, Away)


# ---------------------------------------------------------------------- encoding
def _command_arg(c: Command) -> str:
    if c.at is not None:
        return f"@{c.at}"
    if c.number is None:
        return ""
    return f"{c.number}.{c.cadence.value}" if c.cadence is not None else str(c.number)


def _cad(c: Cadence | None) -> str:
    return c.value if c is not None else ""


def encode(v: OptionValue) -> str:
    """The wire string of ``v`` (see the module's grammar)."""
    match v:
        case Answer(q, value):
            out = f"a|{_field(q, 'the question')}|{value}"
        case Confirm(q, value):
            out = f"k|{_field(q, 'the question')}|{value}"
        case Command():
            out = f"c|{v.word}|{_command_arg(v)}"
        case Pick(cid, cad):
            out = f"pick|{_cad(cad)}|{cid}"
        case Create(name, cad):
            out = f"create|{_cad(cad)}|{name}"
        case Decide(cid, decision):
            out = f"d|{cid}|{decision}"
        case OpenForm(sid):
            out = f"form|{sid}"
        case SubmitForm(sid):
            out = f"submit|{sid}"
        case OpenOverride(cid):
            out = f"ovr|{cid}"
        case SaveOverride(cid):
            out = f"ovrsave|{cid}"
        case RecordOutcome(cid, kind, ask):
            out = f"out|{cid}|{kind}" + (f"|{ask}" if ask is not None else "")
        case Snooze(did, days):
            out = f"rem|snooze|{did}|{days}"
        case Away(did):
            out = f"rem|away|{did}"
        case AwaySave(did):
            out = f"remaway|{did}"
        case OpenSettings():
            out = "settings"
        case OpenImport():
            out = "open"
        case ImportFile():
            out = json.dumps(
                {
                    "a": v.verb,
                    "f": v.file_id,
                    "k": v.kind,
                    "m": v.columns,
                    "s": v.statuses,
                    "r": v.reassign_owners,
                    "n": v.all_or_nothing,
                },
                separators=(",", ":"),
            )
            if len(out) > MAX_IMPORT_VALUE:
                raise BadOption("the import's options are too long for a button")
            return out
        case _:
            raise TypeError(f"not an option value: {v!r}")
    if len(out) > MAX_VALUE:
        raise BadOption(f"an option value is at most {MAX_VALUE} characters")
    return out


def _decode_command(word: str, arg: str) -> Command:
    if not arg:
        return Command(word)
    if arg.startswith("@"):
        return Command(word, at=_number(arg[1:], "the position"))
    number, dot, cad = arg.partition(".")
    return Command(
        word, number=_number(number, "the command's number"), cadence=_cadence(cad) if dot else None
    )


def _str_map(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BadOption("the import's mappings are malformed")
    return {str(k): str(v) for k, v in raw.items()}


def _decode_import(value: str) -> ImportFile:
    if len(value) > MAX_IMPORT_VALUE:
        raise BadOption("that import button is not one I know")
    try:
        v = json.loads(value)
    except ValueError:
        raise BadOption("that import button is not one I know") from None
    if not isinstance(v, dict):
        raise BadOption("that import button is not one I know")
    return ImportFile(
        str(v.get("a", "")),
        str(v.get("f", "")),
        str(v.get("k", "")),
        _str_map(v.get("m")),
        _str_map(v.get("s")),
        bool(v.get("r")),
        bool(v.get("n")),
    )


def _decode_outcome(rest: str) -> RecordOutcome:
    parts = rest.split(SEP)
    if len(parts) not in (2, 3):
        raise BadOption("that outcome button is not one I know")
    ask = _number(parts[2], "the question") if len(parts) == 3 else None
    return RecordOutcome(_number(parts[0], "the customer"), parts[1], ask)


def decode(value: str) -> OptionValue:
    """The option a wire string stands for. Raises ``BadOption`` for anything the bot did
    not produce (its message says what is wrong, in plain words)."""
    if isinstance(value, str) and value.startswith("{"):
        return _decode_import(value)
    if not isinstance(value, str) or not value or len(value) > MAX_VALUE:
        raise BadOption("that is not a button value")
    if value == "settings":
        return OpenSettings()
    if value == "open":
        return OpenImport()
    tag, _, rest = value.partition(SEP)
    by_id: dict[str, Callable[[int], OptionValue]] = {
        "form": OpenForm, "submit": SubmitForm, "remaway": AwaySave, "ovr": OpenOverride,
        "ovrsave": SaveOverride}
    if tag in by_id:
        return by_id[tag](_number(rest, "the id"))
    if tag == "out":
        return _decode_outcome(rest)
    if tag == "rem":
        parts = rest.split(SEP)
        if len(parts) == 3 and parts[0] == "snooze":
            return Snooze(_number(parts[1], "the reminder"), _number(parts[2], "the days", 3))
        if len(parts) == 2 and parts[0] == "away":
            return Away(_number(parts[1], "the reminder"))
        raise BadOption("that reminder button is not one I know")
    first, sep, last = rest.partition(SEP)
    if not sep:
        raise BadOption("that is not a button value")
    if tag in ("a", "k"):
        cls = Answer if tag == "a" else Confirm
        return cls(_field(first, "the question"), last)
    if tag == "c":
        return _decode_command(first, last)
    if tag == "pick":
        return Pick(_number(last, "the customer"), _cadence(first))
    if tag == "create":
        if not last.strip():
            raise BadOption("the new customer has no name")
        return Create(last, _cadence(first))
    if tag == "d":
        return Decide(_number(first, "the customer"), last)
    raise BadOption("that is not a button value")


def decode_or_none(value: str) -> OptionValue | None:
    """``decode``, or None for a value the bot did not produce."""
    try:
        return decode(value)
    except BadOption:
        return None


# ---------------------------------------------------------------------- shorthands
def command(
    word: str, number: int | None = None, *, at: int | None = None, cadence: Cadence | None = None
) -> str:
    """The wire string of a command button (the engine's most frequent value)."""
    return encode(Command(word, number, at, cadence))


def pick(customer_id: int, cadence: Cadence | None = None) -> str:
    """The value of a "Grade"/"Re-grade" button for a customer."""
    return encode(Pick(customer_id, cadence))
