"""What the engine says, as plain data. Channels render it; they never decide it.

Every text field is plain text (never markup): it may contain what users typed, so each
renderer escapes all of it for its own format (Slack mrkdwn, Adaptive Cards, the terminal).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from bot.display import marks


class Kind(StrEnum):
    QUESTION = "question"          # ask the current question (choices = its answers)
    ECHO = "echo"                  # "Got it: 4 — Solid margin" (actions: change)
    CONFIRM = "confirm"            # a low-confidence reading, to confirm or correct
    REASK = "reask"                # could not parse: reason + hint, the question stays
    REVIEW = "review"              # scores, letter, reasons; save / change / discard
    SAVED = "saved"                # the stored grade
    CHOOSE_CUSTOMER = "choose_customer"  # unknown name: did you mean … / create
    RESUME_OR_RESTART = "resume_or_restart"
    DECISION = "decision"          # strategic review: one customer, invest more … exit
    SUMMARY = "summary"            # strategic review finished
    INFO = "info"                  # paused, resumed, cancelled, help, why …
    ERROR = "error"                # something went wrong, and what to do next


class Option(BaseModel):
    """A button or numbered choice. ``value`` is what comes back as input when chosen.

    ``menu``: the choices this option stands for (e.g. which answer to change). Channels
    with menus show them (a Slack select, a Teams choice set) and send the chosen one's
    value; others send ``value`` and the conversation goes on from there."""

    value: str = Field(max_length=300)
    label: str
    style: str | None = None  # "primary" | "danger" | None
    menu: list[Option] = Field(default_factory=list)


class Progress(BaseModel):
    index: int  # 1-based
    total: int

    @property
    def text(self) -> str:
        return f"{self.index} of {self.total}"


class DimensionLine(BaseModel):
    name: str
    score: float | None
    answered: int
    asked: int


class AnswerLine(BaseModel):
    number: int
    question_id: str
    label: str
    answer: str | None  # None: skipped


class Review(BaseModel):
    """A grade before it is saved. ``letter`` and ``recommendation`` are None when too little
    of the worksheet is answered (``not_enough`` says so); ``sheet`` says which answers
    were carried from earlier gradings; ``carried_by`` names the good the grade rests on."""

    customer: str
    cadence: str
    letter: str | None
    total: float
    recommendation: str | None
    profile: str | None
    coverage: float
    dimensions: list[DimensionLine]
    lifted_by: list[str]
    held_back_by: list[str]
    caps: list[str]
    answers: list[AnswerLine]
    previous_letter: str | None = None
    previous_total: float | None = None
    previous_profile: str | None = None
    summary: str | None = None
    carried_by: str | None = None
    sheet: str | None = None
    provisional: bool = False
    not_enough: str | None = None

    @property
    def headline(self) -> str:
        """"B · 72/100 · Acme", "B · 72/100 (provisional, 80% answered) · Acme" or "Not graded
        yet · Acme" (plain text; renderers escape)."""
        if self.letter is None:
            return f"Not graded yet · {self.customer}"
        mark = marks(self.provisional, self.coverage)  # the words every grade is shown with
        return f"{self.letter} · {self.total:g}/100{mark} · {self.customer}"

    @property
    def status_lines(self) -> list[str]:
        """What the grade rests on and how much of the sheet it covers, for every channel
        (a grade without a letter says so in the prompt's text)."""
        lines: list[str] = []
        if self.carried_by:
            lines.append(f"Carried by {self.carried_by}.")
        if self.sheet:
            lines.append(self.sheet[0].upper() + self.sheet[1:] + ".")
        if self.provisional:
            lines.append(f"Provisional: {self.coverage:.0%} of the worksheet answered.")
        return lines

    @property
    def unchanged(self) -> bool:
        return (self.previous_total is not None and self.previous_total == self.total
                and self.previous_letter == self.letter
                and self.previous_profile == self.profile)

    @property
    def change(self) -> str | None:
        if self.previous_total is None:
            return None
        if self.unchanged:
            return f"no change ({self.letter} {self.total:g})"
        delta = self.total - self.previous_total
        return f"{self.previous_letter} {self.previous_total:g} → {self.letter or 'no letter'} " \
               f"{self.total:g} ({delta:+.1f})"


class Prompt(BaseModel):
    kind: Kind
    text: str
    detail: str = ""
    session_id: int | None = None
    question_id: str | None = None
    customer: str | None = None
    progress: Progress | None = None
    choices: list[Option] = Field(default_factory=list)   # answers to the question
    actions: list[Option] = Field(default_factory=list)   # commands: back, skip, save …
    review: Review | None = None
    grade_id: int | None = None
    # a heading for the card ("Review before saving — not saved yet", "Saved")
    title: str = ""
    # an ECHO of an answered question: the question as it was asked and the recorded answer
    # as it reads back ("0.5–2 %"), so a channel shows the question answered without
    # reading the engine's sentence ("Got it: …" is ``text``, for channels that just say it)
    question: str | None = None
    answer: str | None = None
    # the first words of a new grading: channels may make it the thread's opening message
    opening: bool = False
    # a saved grade that ends a review the rep was shown: channels retire that review card
    # (and may wait for another replica to record where it posted it)
    closes_review: bool = False
    # this prompt ends the session for this place (saved, discarded, paused, put aside, a
    # strategic review done, or ended on another device): channels that hold a session id
    # (the terminal) let it go — they never tell the end from the wording
    closed: bool = False
    # for someone other than the speaker (a person id): a second opinion's worksheet goes
    # to the assignee's DM, its result to whoever asked; channels deliver it there
    for_person_id: int | None = None

    @property
    def answered(self) -> bool:
        """An ECHO of an answered question (both fields set), as opposed to any other
        acknowledgement (a strategic decision's "Recorded: …")."""
        return self.kind is Kind.ECHO and self.question is not None and self.answer is not None


Reply = list[Prompt]


class Vocabulary(BaseModel):
    """How a rep starts a grading in one channel, in that channel's own words: the engine
    speaks to Slack, Teams and the terminal, and only Slack has slash commands."""

    how_to_grade: str   # "/grade <customer>"
    example: str        # "/grade Acme"


VOCABULARIES: dict[str, Vocabulary] = {
    "slack": Vocabulary(how_to_grade="/grade <customer>", example="/grade Acme"),
    "teams": Vocabulary(how_to_grade="grade <customer>", example="grade Acme"),
    "cli": Vocabulary(how_to_grade="the customer's name", example="Acme"),
}


# What a rep is told when their input could not be handled (the database or the platform
# failed twice): every channel says the same, and it promises only what is true.
def plural(n: int, word: str = "customer") -> str:
    """``1 customer``, ``2 customers``: every count the bot writes."""
    return f"{n:,} {word}{'s' if n != 1 else ''}"


APOLOGY = ("Sorry — something went wrong on my side and that did not go through. Nothing you "
           "already answered is lost; please try again in a moment.")
