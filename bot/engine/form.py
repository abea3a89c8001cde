"""The form path's state, for channels that show the whole sheet at once (a Slack modal, a
Teams form card): which questions, the answers so far, or why this person may not open it.

``Conversation.form`` decides (one rule for every channel: the rep's own grading of a
customer, still open, review or paused); channels only lay the fields out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scoring import Question


def asked(q: Question, customer: str) -> str:
    """A question as a grading asks it: the worksheet's prompt with the customer's name."""
    return q.prompt.replace("{customer}", customer)


@dataclass(frozen=True, slots=True)
class FormState:
    session_id: int
    customer: str
    questions: tuple[Question, ...]
    current: dict[str, object] = field(default_factory=dict)  # question id → recorded value

    def asked(self, q: Question) -> str:
        """A question as the form shows it (the customer's name filled in)."""
        return asked(q, self.customer)


@dataclass(frozen=True, slots=True)
class FormRefused:
    """The form cannot open (a stale id, someone else's grading, a finished one): say
    ``message`` where the click was."""

    message: str
