"""The tables. Every string column has a maximum length; every timestamp is aware UTC.

Enumerations are stored as short strings (not database enum types) so that adding a value is
a code change, not a migration; the StrEnums below are the single list of legal values.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlalchemy import JSON, Index, UniqueConstraint, event, inspect, text
from sqlmodel import Field, SQLModel

from scoring import Cadence, TargetBalance
from storage.types import UTCDateTime, utcnow

NAME_MAX = 200
ID_MAX = 64


# KEYS: a primary key is typed ``int`` although it is None until the row is flushed: every
# piece of code that reads ``.id`` reads it from a stored row, and ``int | None`` made each of
# those ~50 places assert or ``# type: ignore`` what the database guarantees (the default of
# None is what lets the database assign it).

class Platform(StrEnum):
    SLACK = "slack"
    TEAMS = "teams"
    CLI = "cli"


class Role(StrEnum):
    REP = "rep"
    MANAGER = "manager"
    ADMIN = "admin"


class CustomerStatus(StrEnum):
    PROSPECT = "prospect"
    CUSTOMER = "customer"
    FORMER = "former"


class SessionStatus(StrEnum):
    OPEN = "open"            # answering questions
    REVIEW = "review"        # all asked; waiting for save / change / discard
    PAUSED = "paused"        # the rep said pause; resumes where it was
    EXPIRED = "expired"      # idle too long; answers kept as a draft
    SAVED = "saved"
    DISCARDED = "discarded"


ACTIVE_STATUSES = (SessionStatus.OPEN, SessionStatus.REVIEW, SessionStatus.PAUSED)


class AnswerSource(StrEnum):
    BUTTON = "button"
    TEXT = "text"
    LLM = "llm"
    RULES = "rules"
    FORM = "form"


class DeliveryStatus(StrEnum):
    CLAIMED = "claimed"   # a process owns it until lease_until
    SENT = "sent"         # the thread exists; follow-ups may come
    DONE = "done"         # everything due was graded
    FAILED = "failed"     # gave up after max attempts


class WorkspaceSettings(BaseModel):
    """Per-workspace settings an admin can change (stored as JSON on the workspace)."""

    timezone: str = PydanticField(default="UTC", max_length=64)
    target_balance: TargetBalance | None = None  # None: the worksheet's default
    reminder_channel: str | None = PydanticField(default=None, max_length=ID_MAX)
    digest_channel: str | None = PydanticField(default=None, max_length=ID_MAX)
    annual_month: int = PydanticField(default=1, ge=1, le=12)
    reminder_hour: int = PydanticField(default=9, ge=0, le=23)
    followup_days: int = PydanticField(default=3, ge=1, le=60)
    max_followups: int = PydanticField(default=3, ge=0, le=20)  # then the thread stays quiet
    regrade_by_letter: dict[str, Cadence] = PydanticField(
        default_factory=lambda: {"A": Cadence.ANNUAL, "B": Cadence.QUARTERLY,
                                 "C": Cadence.QUARTERLY, "D": Cadence.QUARTERLY})
    strategic_dates: list[date] = PydanticField(default_factory=list)


class Table(SQLModel):
    """The base of every table class. ``defer_build``: pydantic builds a table's validator and
    serializer when first used, not at import: a look-up maps every table and validates almost
    none, and building all 13 schemas cost ~0.05-0.1 s of its start-up. Mapping (columns,
    indexes) is SQLAlchemy's and still happens at import."""

    model_config = ConfigDict(defer_build=True)  # type: ignore[assignment]


class Workspace(Table, table=True):
    """A tenant: one Slack workspace, one Teams tenant, or the local terminal."""

    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: int = Field(default=None, primary_key=True)  # see KEYS below
    platform: str = Field(max_length=16)
    external_id: str = Field(max_length=ID_MAX)
    name: str = Field(default="", max_length=NAME_MAX)
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def get_settings(self) -> WorkspaceSettings:
        return WorkspaceSettings.model_validate(self.settings or {})


class Person(Table, table=True):
    """A user of a workspace: a rep, their manager, or an admin."""

    __table_args__ = (UniqueConstraint("workspace_id", "external_id"),)

    id: int = Field(default=None, primary_key=True)  # see KEYS below
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    external_id: str = Field(max_length=ID_MAX)
    display_name: str = Field(default="", max_length=NAME_MAX)
    email: str | None = Field(default=None, max_length=254, index=True)
    timezone: str | None = Field(default=None, max_length=64)
    role: str = Field(default=Role.REP, max_length=16)
    manager_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    dm_channel: str | None = Field(default=None, max_length=ID_MAX)
    # Teams: conversation id and service URL, to send reminders proactively
    conversation_ref: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    away_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Customer(Table, table=True):
    """A customer or prospect. ``latest_grade_id`` is a pointer kept by ``add_grade`` in the
    same transaction as the grade, so look-ups and books never scan grade history; with it go
    copies of that grade's letter and time (grades are immutable, so the copies cannot go
    stale), so that planning reminders reads this one table instead of joining every
    customer of a workspace to its grade."""

    __table_args__ = (
        UniqueConstraint("workspace_id", "normalized_name"),
        Index("ix_customer_ws_external_ref", "workspace_id", "external_ref"),
        Index("ix_customer_owner", "owner_id", "archived"),
    )

    id: int = Field(default=None, primary_key=True)  # see KEYS below
    workspace_id: int = Field(foreign_key="workspace.id")
    name: str = Field(max_length=NAME_MAX)
    normalized_name: str = Field(max_length=NAME_MAX)
    owner_id: int | None = Field(default=None, foreign_key="person.id")
    segment: str | None = Field(default=None, max_length=100)
    status: str = Field(default=CustomerStatus.CUSTOMER, max_length=16)
    external_ref: str | None = Field(default=None, max_length=100)
    archived: bool = Field(default=False)
    latest_grade_id: int | None = Field(default=None)
    latest_letter: str | None = Field(default=None, max_length=2)
    latest_graded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # the next contract renewal, if known (import column): after it the owner is asked
    # whether the customer renewed, so outcomes get recorded (storage.outcomes)
    renewal_on: date | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class GradingSession(Table, table=True):
    """A grading conversation in progress: where it is, and where it lives in the chat.

    ``version`` is an optimistic lock: every write is ``UPDATE ... WHERE version = :seen``.
    At most one active session per rep and customer (a partial unique index)."""

    __tablename__ = "grading_session"
    __table_args__ = (
        Index("ux_session_active", "person_id", "customer_id", unique=True,
              sqlite_where=text("status IN ('open', 'review', 'paused')"),
              postgresql_where=text("status IN ('open', 'review', 'paused')")),
        # A strategic review has no customer, and NULLs are distinct in a unique index, so
        # the index above cannot see two of them: this one, on the rep alone, makes the
        # database refuse the second active review (two clicks, two replicas at once).
        Index("ux_session_strategic_active", "person_id", unique=True,
              sqlite_where=text("customer_id IS NULL AND status IN ('open', 'review', 'paused')"),
              postgresql_where=text(
                  "customer_id IS NULL AND status IN ('open', 'review', 'paused')")),
        Index("ix_session_thread", "channel", "thread_ts"),
        Index("ix_session_person_status", "person_id", "status"),
    )

    id: int = Field(default=None, primary_key=True)  # see KEYS below
    workspace_id: int = Field(foreign_key="workspace.id")
    person_id: int = Field(foreign_key="person.id")
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    kind: str = Field(default="grade", max_length=16)  # grade | strategic
    cadence: str = Field(max_length=16)
    worksheet_id: str = Field(max_length=40)
    worksheet_version: int
    position: int = Field(default=0)
    status: str = Field(default=SessionStatus.OPEN, max_length=16)
    platform: str = Field(default=Platform.CLI, max_length=16)
    channel: str | None = Field(default=None, max_length=ID_MAX)
    thread_ts: str | None = Field(default=None, max_length=ID_MAX)
    # channel-specific message references (e.g. Slack ts of each question's message) and
    # engine scratch (pending confirmations, the strategic review's queue)
    refs: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    state: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Answer(Table, table=True):
    """One answer to one question. A changed answer is a new row; the old one gets
    ``superseded_at`` so the history of what the rep said is kept."""

    __table_args__ = (
        Index("ix_answer_session_question", "session_id", "question_id"),
        UniqueConstraint("session_id", "input_key"),
    )

    id: int = Field(default=None, primary_key=True)  # see KEYS below
    session_id: int = Field(foreign_key="grading_session.id")
    question_id: str = Field(max_length=40)
    raw_text: str = Field(default="", max_length=3000)
    value: Any = Field(default=None, sa_type=JSON)
    source: str = Field(max_length=16)
    confidence: float = Field(default=1.0)
    person_id: int = Field(foreign_key="person.id")
    input_key: str | None = Field(default=None, max_length=128)  # dedupe of retried inputs
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    superseded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Grade(Table, table=True):
    """A saved grade. Immutable: it stores the answers (this grading's and those carried
    from earlier ones) and worksheet version it came from, so it can be recomputed and
    explained years later. Only grades with a letter are stored: a grading with too little
    of the worksheet answered stays a draft session."""

    __table_args__ = (Index("ix_grade_customer_created", "customer_id", "created_at"),)

    id: int = Field(default=None, primary_key=True)  # see KEYS below
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    customer_id: int = Field(foreign_key="customer.id")
    session_id: int | None = Field(default=None, foreign_key="grading_session.id")
    previous_grade_id: int | None = Field(default=None, foreign_key="grade.id")
    grader_id: int | None = Field(default=None, foreign_key="person.id")
    cadence: str = Field(max_length=16)
    period: str = Field(max_length=16)
    worksheet_id: str = Field(max_length=40)
    worksheet_version: int
    total: float
    letter: str = Field(max_length=2)
    recommendation: str = Field(max_length=16)
    profile: str | None = Field(default=None, max_length=24)
    coverage: float
    dimensions: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    goods: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    explanation: list[str] = Field(default_factory=list, sa_type=JSON)
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    summary: str | None = Field(default=None, max_length=1000)
    # where the answers came from (scoring.sheet.MergedSheet.sources_json): "fresh", how
    # many scored answers this grading gave (at created_at); "carried", question id ->
    # {"at", "cadence", "grade_id"} of each answer carried from an earlier grading
    sources: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    carrier: str | None = Field(default=None, max_length=24)  # the good the grade rests on
    provisional: bool = Field(default=False)  # a letter from part of the worksheet
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Decision(Table, table=True):
    """A strategic-review decision on one customer: invest more / maintain / less / exit."""

    id: int = Field(default=None, primary_key=True)  # see KEYS below
    workspace_id: int = Field(foreign_key="workspace.id")
    customer_id: int = Field(foreign_key="customer.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    session_id: int | None = Field(default=None, foreign_key="grading_session.id")
    decision: str = Field(max_length=16)
    period: str = Field(max_length=16)
    note: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReminderDelivery(Table, table=True):
    """The claim row for one reminder: the unique key is what makes "exactly once" hold
    across processes and replicas. A claim expires at ``lease_until`` so a process that died
    between claim and send does not leave the rep un-reminded forever."""

    __tablename__ = "reminder_delivery"
    __table_args__ = (
        UniqueConstraint("workspace_id", "person_id", "cadence", "period"),
        Index("ix_delivery_status", "status", "next_followup_at"),
    )

    id: int = Field(default=None, primary_key=True)  # see KEYS below
    workspace_id: int = Field(foreign_key="workspace.id")
    person_id: int = Field(foreign_key="person.id")
    cadence: str = Field(max_length=16)
    period: str = Field(max_length=16)
    status: str = Field(default=DeliveryStatus.CLAIMED, max_length=16)
    attempts: int = Field(default=0)
    claimed_by: str | None = Field(default=None, max_length=ID_MAX)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    channel: str | None = Field(default=None, max_length=ID_MAX)
    thread_ts: str | None = Field(default=None, max_length=ID_MAX)
    customers_due: int = Field(default=0)
    followups: int = Field(default=0)
    next_followup_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutcomeKind(StrEnum):
    """What happened to a customer, to check grades against (``gradebot calibrate``)."""

    RENEWED = "renewed"
    EXPANDED = "expanded"
    CHURNED = "churned"
    DEFAULTED_OR_PAID_LATE = "defaulted_or_paid_late"
    REFERRED = "referred"
    EXITED_BY_US = "exited_by_us"


class OutcomeSource(StrEnum):
    CARD = "card"      # the customer card's menu in Slack or Teams
    QUESTION = "question"  # a tap under the renewal question "Did Acme renew?"
    CLI = "cli"        # gradebot outcome add
    IMPORT = "import"  # gradebot import outcomes


class Outcome(Table, table=True):
    """Something that happened to a customer on a day. One row per customer, kind and day:
    recording or importing the same fact again changes nothing, so a file can be imported
    twice (or its rejected rows after a fix) without counting an outcome twice."""

    __table_args__ = (
        UniqueConstraint("customer_id", "kind", "happened_on"),
        Index("ix_outcome_ws_happened", "workspace_id", "happened_on"),
    )

    id: int = Field(default=None, primary_key=True)  # (see storage.models KEYS)
    workspace_id: int = Field(foreign_key="workspace.id")
    customer_id: int = Field(foreign_key="customer.id")
    kind: str = Field(max_length=32)
    happened_on: date
    recorded_by_id: int | None = Field(default=None, foreign_key="person.id")
    source: str = Field(max_length=16)
    note: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ProcessedEvent(Table, table=True):
    """Platform event ids already handled (Slack retries the same event_id)."""

    __tablename__ = "processed_event"
    __table_args__ = (UniqueConstraint("scope", "event_id"),)

    id: int = Field(default=None, primary_key=True)  # see KEYS below
    scope: str = Field(max_length=ID_MAX)  # e.g. "slack:T123"
    event_id: str = Field(max_length=128)
    kind: str = Field(default="", max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


@event.listens_for(Grade, "before_update")
def _grades_are_immutable(_mapper: Any, _connection: Any, grade: Grade) -> None:
    """A grade is a record of what was decided, and the customer's copies of its letter and
    time (see ``add_grade``) must never go stale: changing one through the ORM is a bug."""
    state = inspect(grade)
    changed = sorted(a.key for a in state.attrs if a.history.has_changes())
    if changed:
        raise TypeError(f"grade {grade.id} is immutable; refused changing {', '.join(changed)}")


# Tables kept beside the queries that own them, registered here so that whoever loads the
# schema (Alembic, the tests) sees every table by importing this module.
from storage import opinions as _opinions  # noqa: E402,F401
from storage import overrides as _overrides  # noqa: E402,F401
