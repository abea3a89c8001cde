"""The commands a rep types outside a grading, and their help: one table every channel reads.

Slack has them as slash commands (``/grade``), Teams and the terminal as bare words
(``grade``): the channel supplies only that prefix and its styling, so the help says the same
thing everywhere. ``manifest.yml`` (Slack's usage hints) and ``teams/manifest.json`` are
checked against this table by tests.

A new sub-command is one ``Usage`` line in its command's entry: the help of every channel,
the bare "help" overview and the manifests' tests pick it up.
"""

from __future__ import annotations

from dataclasses import dataclass

# what the engine's in-grading words do (``conversation.COMMANDS``), said once: the engine's
# own help during a grading, and the last line of every channel's overview
GRADING_WORDS = (
    "back (previous question), skip, why (why this question matters), change N "
    "(change answer N), review, pause, resume, save, discard or cancel"
)
GRADING_HELP = f"Pick a choice or answer in your own words. You can also say: {GRADING_WORDS}."


@dataclass(frozen=True, slots=True)
class Usage:
    """One way to call a command: the words after its name, and what it does."""

    args: str
    what: str


@dataclass(frozen=True, slots=True)
class ChannelCommand:
    """A command of the chat channels. The first usage is the manifest's usage hint."""

    name: str
    summary: str  # the Slack manifest's description of the slash command
    usages: tuple[Usage, ...]
    slash: bool = True  # Slack has it as a slash command ("help" is a word only)
    usage_hint: str = ""  # the manifest's, when it names more than the first usage

    @property
    def hint(self) -> str:
        """Slack's ``usage_hint`` for it (manifest.yml): ``usage_hint``, or the first usage."""
        return self.usage_hint or self.usages[0].args


@dataclass(frozen=True, slots=True)
class HelpLine:
    """One help line as a channel shows it: the usage with the channel's prefix, and what
    it does (renderers style the two; they never reword them)."""

    usage: str
    what: str


TABLE: tuple[ChannelCommand, ...] = (
    ChannelCommand(
        "grade",
        "Grade a customer (in a thread in your DM with gradebot)",
        (
            Usage(
                "<customer> [quarterly|annual|strategic]",
                "grade a customer: buttons, your own words, or a form. Without a cadence: "
                "annual when it was not graded this year, else the quarterly pulse.",
            ),
            Usage(
                "strategic",
                "review your whole book, customer by customer: invest more, "
                "maintain, invest less or exit.",
            ),
            Usage(
                "<customer> second-opinion @someone",
                "ask someone to grade it blind: they see the first grade once they saved theirs.",
            ),
            Usage(
                "<customer> second-opinion cancel @someone",
                "withdraw that request (the asker, the owner, their manager or an admin); "
                "they are told, and answers they had begun are discarded.",
            ),
        ),
    ),
    ChannelCommand(
        "customer",
        "A customer's latest grade",
        (
            Usage(
                "<customer>",
                "the latest grade: letter, score, dimensions, trend, who graded it "
                "and when it is due, second opinions and any override; in Slack and Teams "
                "its Record outcome menu records what happened (renewed, churned…).",
            ),
            Usage(
                "<customer> override [A-D] [invest-more|maintain|invest-less|exit] until "
                "YYYY-MM-DD because <reason>",
                'managers and admins: overrule the grade for at most 12 months (or "for 3 '
                "months\"); the model's grade stays beside it.",
            ),
            Usage("<customer> override remove", "managers and admins: end an override early."),
            Usage("<customer> overrides", "the override history."),
        ),
    ),
    ChannelCommand(
        "grades",
        "Your book sorted by grade",
        (
            Usage(
                "[overdue | @someone]",
                "your book sorted by grade (only what is overdue); "
                "managers and admins: a team member's.",
            ),
        ),
    ),
    ChannelCommand(
        "portfolio",
        "The balance of the three goods in your book",
        (
            Usage(
                "[team]",
                "the balance of the three goods against the target, with warnings "
                "(team: your team's book, for managers and admins).",
            ),
            Usage("optimism", "managers and admins: each rep's grades against second opinions."),
            Usage(
                "calibration",
                "admins: did the grades predict renewals and churn, with a chart.",
            ),
        ),
        usage_hint="[team | optimism | calibration]",
    ),
    ChannelCommand(
        "help",
        "What gradebot can do",
        (Usage("", f"this list. During a grading: {GRADING_WORDS}."),),
        slash=False,
    ),
)
COMMANDS: dict[str, ChannelCommand] = {c.name: c for c in TABLE}
SLASH_COMMANDS = tuple(f"/{c.name}" for c in TABLE if c.slash)
WORDS = frozenset({*COMMANDS, "?"})  # "?" is help


def lines(command: ChannelCommand, prefix: str = "") -> list[HelpLine]:
    """``command``'s usages as help lines: ``prefix`` is "/" in Slack, "" elsewhere."""
    return [HelpLine(f"{prefix}{command.name} {u.args}".rstrip(), u.what) for u in command.usages]


def command_help(name: str, prefix: str = "") -> list[HelpLine]:
    """The help of one command (``/grade help``); ``name`` with or without its "/"."""
    return lines(COMMANDS[name.removeprefix("/")], prefix)


def overview(prefix: str = "") -> list[HelpLine]:
    """Every command's help, the words of a grading last (the bare "help")."""
    return [line for c in TABLE for line in lines(c, prefix if c.slash else "")]


def hello(prefix: str = "") -> str:
    """The lead of the overview when what was typed is no command (a first message)."""
    return f"Hi! Say {prefix}grade <customer> to grade a customer; what else I do:"


WELCOME = "Hi! I help you grade your customers, so you invest more in the good ones."


def as_text(help_lines: list[HelpLine]) -> str:
    """Help lines as plain text, one a line (fallback texts and the terminal)."""
    return "\n".join(f"{h.usage} — {h.what}" for h in help_lines)


def parse_command(text: str) -> tuple[str, str] | None:
    """``grades overdue`` → ("grades", "overdue"), ``?`` → ("help", ""); a leading "/" is
    accepted (typed by habit from Slack); None when the first word is no command."""
    parts = text.strip().removeprefix("/").split(maxsplit=1)
    if not parts or parts[0].lower() not in WORDS:
        return None
    word = parts[0].lower()
    return ("help" if word == "?" else word), (parts[1].strip() if len(parts) > 1 else "")


def help_asked(word: str, rest: str) -> str | None:
    """The command whose own help was asked (``grade help``, ``grades ?``, ``help grade``),
    or None (the bare "help" is the overview)."""
    arg = rest.strip().lower().removeprefix("/")
    if word != "help" and arg in ("help", "?"):
        return word
    if word == "help" and arg in COMMANDS:
        return arg
    return None
