"""Everything a running gradebot needs, built once from the settings.

One place wires settings → database → worksheet → interpreter → conversation engine, so the
terminal, Slack, Teams and the reminder jobs all run the same thing.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from bot import people
from bot.config import ConfigError, Settings
from bot.engine.actor import Actor
from bot.interpret import Interpreter, RulesInterpreter
from bot.look_up import LookUp, split_override
from scoring import Worksheet
from storage import events as events_db
from storage import people as people_db
from storage.engine import make_engine, once_more_if_dropped, session_scope, upgrade
from storage.errors import Conflict, InvalidInput, NotFound, StorageError
from storage.models import Person, Platform, Role, Workspace, WorkspaceSettings
from storage.people import is_time_zone
from storage.types import utcnow

if TYPE_CHECKING:
    from bot.calibration_card import CalibrationView
    from bot.engine.conversation import Conversation
    from bot.look_up import Answer
    from bot.lookups import BookView, CustomerCard, Denied, NotFoundCard, PortfolioView
    from bot.threads import Threads
    from bot.trust import OverrideResult, Refused, TextView

T = TypeVar("T")

# what channels need of storage's types and refusals, from here (they import no storage)
__all__ = ["Conflict", "InvalidInput", "NotFound", "Person", "Role", "Services",
           "StorageError", "Workspace", "WorkspaceSettings", "build_services", "is_time_zone"]


@dataclass
class Services:
    """The settings, the database and the worksheet; the conversation engine, the interpreter
    and the thread store are built when first used (``build_services`` builds them at once
    unless for a look-up, which needs none of them: loading the engine cost every CLI
    look-up ~0.06 s, and openai, with a model configured, several times that)."""

    settings: Settings
    db: Engine
    worksheet: Worksheet
    clock: Callable[[], datetime] = field(default=utcnow)

    @cached_property
    def interpreter(self) -> Interpreter:
        """The rules, or the configured model (``bot.llm`` and openai load only then)."""
        if not self.settings.llm_configured:
            return RulesInterpreter()
        from bot.llm import build_interpreter

        return build_interpreter(self.settings)

    @cached_property
    def conversation(self) -> Conversation:
        from bot.engine.conversation import Conversation

        interpreter = self.interpreter
        return Conversation(self.db, self.worksheet, interpreter=interpreter,
                            summarizer=getattr(interpreter, "summarize", None),
                            idle=timedelta(days=self.settings.session_idle_days),
                            timezone=self.settings.timezone, clock=self.clock)

    @cached_property
    def threads(self) -> Threads:
        from bot.threads import Threads

        return Threads(self.db, self.worksheet)

    def session(self) -> Session:
        return Session(self.db, expire_on_commit=False)

    def actor(self, platform: str, team_id: str, user_id: str, display_name: str = "",
              team_name: str = "", **person_fields: str | None) -> tuple[Actor, Person]:
        """Resolve a platform user to our workspace and person rows (created on first
        contact; ids listed in GRADEBOT_ADMINS become admins)."""
        def resolve() -> tuple[Actor, Person]:
            with session_scope(self.db) as s:
                ws = people_db.get_or_create_workspace(s, platform, team_id, team_name,
                                                      self.settings.timezone)
                person = people_db.get_or_create_person(
                    s, ws, user_id, display_name, **person_fields)
                if user_id in self.settings.admins and person.role != Role.ADMIN:
                    people_db.set_role(s, person, Role.ADMIN)
                return Actor(ws.id, person.id, platform), person

        return once_more_if_dropped(resolve)  # get-or-create: safe to redo

    def local_actor(self, name: str | None = None) -> tuple[Actor, Person]:
        """The terminal user: one local workspace, people by name."""
        who = (name or getpass.getuser() or "me").strip()[:64] or "me"
        return self.actor(Platform.CLI, "local", who, who, "Local")

    @property
    def dimension_names(self) -> dict[str, str]:
        """Stored dimension ids → the names the worksheet gives them, for cards."""
        return {d.id: d.name for d in self.worksheet.dimensions}

    # look-ups for the chat channels, each in its own read-only session
    def _read(self, look: Callable[[Session], T]) -> T:
        """A look-up, tried once more on a new connection if its connection dropped (a
        read is always safe to redo)."""
        def run() -> T:
            with self.session() as s:
                return look(s)

        return once_more_if_dropped(run)

    def look_up(self, person: Person, ask: LookUp, rest: str) -> Answer:
        """The answer to a look-up (``bot.look_up.asked`` read the words): every channel
        renders what this returns and decides nothing itself. ``calibration`` computes
        for seconds on a large book: channels call this after their ack."""
        rest = rest.strip()
        if ask in (LookUp.CARD, LookUp.OVERRIDE):
            name, verb = split_override(rest)
            return self.customer_card(person, rest) if verb is None \
                else self.override(person, name, verb)
        if ask is LookUp.BOOK:
            return self.book(person, rest)
        if ask is LookUp.OPTIMISM:
            return self.optimism(person)
        if ask is LookUp.CALIBRATION:
            return self.calibration(person)
        return self.portfolio(person, team=ask is LookUp.TEAM_PORTFOLIO)

    def customer_card(self, person: Person, name: str) -> CustomerCard | NotFoundCard | Denied:
        """``/customer``: each result carries its own re-grade option (``.regrade``)."""
        from bot.lookups import customer_card

        return self._read(lambda s: customer_card(s, person, name, now=self.clock(),
                                                  rules=self.worksheet.grading,
                                                  names=self.dimension_names))

    def override(self, person: Person, name: str, verb: str
                 ) -> NotFoundCard | Denied | OverrideResult:
        """``/customer <name> override …`` / ``… overrides`` on a customer the person may
        see (``bot.trust.OverrideResult``), or why not."""
        from bot.lookups import Denied, NotFoundCard, find_visible
        from bot.trust import override_command
        from bot.zones import zone_of

        def run() -> NotFoundCard | Denied | OverrideResult:
            with session_scope(self.db) as s:
                found = find_visible(s, person, name)
                if isinstance(found, NotFoundCard | Denied):
                    return found
                return override_command(s, person, found, verb, self.clock(),
                                        zone_of(s, person))

        return once_more_if_dropped(run)  # a refused or committed write: safe to redo

    def override_form(self, person: Person, customer_id: int) -> Any:
        from bot.trust import override_form
        from bot.zones import zone_of

        return self._read(lambda s: override_form(s, person, customer_id, self.clock(),
                                                  zone_of(s, person)))

    def submit_override(self, person: Person, customer_id: int, raw: dict[str, str]) -> Any:
        """The Slack override form, submitted (``bot.trust.OverrideResult``)."""
        from bot.trust import override_from_form
        from bot.zones import zone_of

        def run() -> Any:
            with session_scope(self.db) as s:
                return override_from_form(s, person, customer_id, raw, self.clock(),
                                          zone_of(s, person))

        return once_more_if_dropped(run)

    def record_outcome(self, person: Person, value: str, day: str | None = None) -> Any:
        """A "Record outcome" pick or a renewal-question tap (``value`` as it was on the
        button; ``day`` the card's date input, ISO, empty for today):
        ``bot.engine.outcomes.OutcomeReply``."""
        from bot.engine.outcomes import record_click

        def run() -> Any:
            with session_scope(self.db) as s:
                return record_click(s, person, value, day, self.clock())

        return once_more_if_dropped(run)  # an outcome is stored once per day: safe to redo

    def optimism(self, person: Person) -> TextView | Refused:
        from bot.trust import optimism_view

        return self._read(lambda s: optimism_view(s, person))

    def calibration(self, person: Person) -> CalibrationView | Refused:
        """``/portfolio calibration`` (admins): the workspace's grades against its outcomes,
        or the one line that says why not. Reads in a short session, then computes outside
        it (seconds on a large book: channels call this after their ack)."""
        from bot.calibration_card import calibration_result
        from bot.display import CALIBRATION_ADMINS_ONLY
        from bot.trust import Refused
        from storage.outcomes import calibration_data

        if not self.is_admin(person):
            return Refused(CALIBRATION_ADMINS_ONLY)
        data = self._read(lambda s: calibration_data(s, person.workspace_id))
        return calibration_result(self.worksheet, data)

    def person_actor(self, person_id: int) -> tuple[Actor, Person]:
        """Someone other than the speaker, as an actor of their own workspace (to deliver
        prompts addressed to them: ``Prompt.for_person_id``)."""
        def look(s: Session) -> tuple[Actor, Person]:
            p = people_db.get_person(s, person_id)
            ws = self.workspace(s, p.workspace_id)
            return Actor(ws.id, p.id, ws.platform), p

        return self._read(look)

    def book(self, person: Person, arg: str) -> BookView | Denied:
        from bot.lookups import book_view

        return self._read(lambda s: book_view(s, person, arg, self.clock(),
                                              rules=self.worksheet.grading))

    def portfolio(self, person: Person, team: bool = False) -> PortfolioView | Denied:
        from bot.lookups import portfolio_view

        return self._read(lambda s: portfolio_view(s, person, self.worksheet, self.clock(),
                                                   team=team))

    def home(self, person: Person) -> tuple[BookView | Denied, PortfolioView | Denied]:
        """A person's own book and balance, read together (Slack's App Home)."""
        from bot.lookups import book_view, portfolio_view

        now = self.clock()
        return self._read(lambda s: (book_view(s, person, "", now,
                                               rules=self.worksheet.grading),
                                     portfolio_view(s, person, self.worksheet, now)))

    # what every channel records or learns, once
    def record_event(self, scope: str, event_id: str, kind: str = "event") -> bool:
        """True the first time a platform delivers ``event_id`` in ``scope`` (a Slack
        workspace, a Teams tenant), False for a redelivery — also across replicas."""
        def record() -> bool:
            with session_scope(self.db) as s:
                return events_db.record_event(s, scope, event_id, kind)

        return once_more_if_dropped(record)  # the unique key makes a redo safe

    def learn_profile(self, actor: Actor, person: Person, name: str, *,
                      email: str | None = None, timezone: str | None = None) -> Person | None:
        """Store a person's platform profile; the stored row (an imported person matched by
        email brings role and manager), or None when the workspace is gone."""
        return people.learn_profile(self.db, actor.workspace_id, person.external_id, name,
                                    email=email, timezone=timezone)

    def remember_dm(self, person: Person, channel: str) -> None:
        assert person.id is not None  # (a stored row)
        people.remember_dm(self.db, person.id, channel)
        person.dm_channel = channel

    def is_admin(self, person: Person) -> bool:
        return person.role == Role.ADMIN

    def workspace_settings(self, person: Person
                           ) -> tuple[WorkspaceSettings, dict[str, float], tuple[str, ...]]:
        """The settings an admin edits: the stored ones, the target balance in force and
        the worksheet's grade letters."""
        def read() -> tuple[WorkspaceSettings, dict[str, float], tuple[str, ...]]:
            with self.session() as s:
                st = self.workspace(s, person.workspace_id).get_settings()
                target = (st.target_balance or self.worksheet.target_balance).model_dump()
                return st, target, tuple(b.letter for b in self.worksheet.grade_bands)

        return once_more_if_dropped(read)

    def save_settings(self, person: Person, changes: dict[str, Any]) -> None:
        """Store an admin's settings changes (``regrade_by_letter`` merged into the stored
        letters); raises ``InvalidInput`` for a value storage refuses."""
        with session_scope(self.db) as s:
            ws = self.workspace(s, person.workspace_id)
            stored = ws.get_settings().regrade_by_letter
            changes = {**changes, "regrade_by_letter": {
                **{k: v.value for k, v in stored.items()},
                **changes.get("regrade_by_letter", {})}}
            people_db.update_workspace_settings(s, ws, **changes)

    def workspace_of(self, person: Person) -> Workspace:
        """The person's workspace (read on its own; raises StorageError when it is gone)."""
        return self._read(lambda s: self.workspace(s, person.workspace_id))

    def workspace(self, s: Session, workspace_id: int) -> Workspace:
        ws = s.get(Workspace, workspace_id)
        if ws is None:
            raise StorageError(f"workspace {workspace_id} is gone")
        return ws


def build_services(settings: Settings, *, migrate: bool = True,
                   interpreter: Interpreter | None = None,
                   clock: Callable[[], datetime] = utcnow, look_up: bool = False) -> Services:
    """Connect, migrate (idempotent) and assemble. Raises ConfigError with one line. A
    ``look_up`` (cards, books, portfolios) leaves the engine to be built if ever used;
    anything else has it built now, so a server's first message does not wait for it."""
    ws = settings.load_worksheet()
    try:
        if migrate:
            upgrade(settings.database_url)
        db = make_engine(settings.database_url)
        if migrate:
            with session_scope(db) as s:
                people_db.set_missing_time_zones(s, settings.timezone)
    except StorageError as exc:
        raise ConfigError(f"DATABASE_URL: {exc}") from None
    except Exception as exc:  # connection refused, bad credentials, unwritable file …
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        raise ConfigError(f"DATABASE_URL: cannot open the database ({reason})") from None
    sv = Services(settings, db, ws, clock)
    if interpreter is not None:
        sv.interpreter = interpreter
    if not look_up:  # built now, not on first use: a server's first message must not wait
        _ = sv.conversation, sv.threads
    return sv
