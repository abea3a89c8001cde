"""Everything a running gradebot needs, built once from the settings.

One place wires settings → database → worksheet → interpreter → conversation engine, so the
terminal, Slack, Teams and the reminder jobs all run the same thing.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import ConfigError, Settings
from bot.engine import Actor, Conversation
from bot.interpret import Interpreter, RulesInterpreter
from scoring import Worksheet
from storage import people as people_db
from storage.engine import make_engine, once_more_if_dropped, session_scope, upgrade
from storage.errors import StorageError
from storage.models import Person, Platform, Role, Workspace
from storage.types import utcnow

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    db: Engine
    worksheet: Worksheet
    conversation: Conversation
    interpreter: Interpreter | None = None
    clock: Callable[[], datetime] = field(default=utcnow)

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
                    s, ws, user_id, display_name, **person_fields)  # type: ignore[arg-type]
                if user_id in self.settings.admins and person.role != Role.ADMIN:
                    people_db.set_role(s, person, Role.ADMIN)
                return Actor(ws.id, person.id, platform), person  # type: ignore[arg-type]

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

    def customer_card(self, person: Person, name: str) -> Any:
        from bot.lookups import customer_card

        return self._read(lambda s: customer_card(s, person, name, self.clock(),
                                                  self.dimension_names))

    def customer(self, person: Person, text: str) -> Any:
        """``/customer <name>`` (a card), or ``/customer <name> override …`` /
        ``… overrides`` (``bot.trust.OverrideResult``): one entry for every channel."""
        from bot.lookups import Denied, NotFoundCard, find_visible
        from bot.trust import override_command
        from bot.zones import zone_of

        name, verb = split_override(text)
        if verb is None:
            return self.customer_card(person, text)

        def run() -> Any:
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

    def optimism(self, person: Person) -> Any:
        from bot.trust import optimism_view

        return self._read(lambda s: optimism_view(s, person))

    def person_actor(self, person_id: int) -> tuple[Actor, Person]:
        """Someone other than the speaker, as an actor of their own workspace (to deliver
        prompts addressed to them: ``Prompt.for_person_id``)."""
        def look(s: Session) -> tuple[Actor, Person]:
            p = people_db.get_person(s, person_id)
            ws = self.workspace(s, p.workspace_id)
            return Actor(ws.id, p.id, ws.platform), p  # type: ignore[arg-type]

        return self._read(look)

    def book(self, person: Person, arg: str) -> Any:
        from bot.lookups import book_view

        return self._read(lambda s: book_view(s, person, arg, self.clock()))

    def portfolio(self, person: Person, team: bool = False) -> Any:
        from bot.lookups import portfolio_view

        return self._read(lambda s: portfolio_view(s, person, self.worksheet, self.clock(),
                                                   team=team))

    def workspace(self, s: Session, workspace_id: int) -> Workspace:
        ws = s.get(Workspace, workspace_id)
        if ws is None:
            raise StorageError(f"workspace {workspace_id} is gone")
        return ws


def split_override(text: str) -> tuple[str, str | None]:
    """``Acme Corp override B until …`` → ("Acme Corp", "override B until …"); the name and
    None when the words ask no override."""
    words = text.split()
    for i, w in enumerate(words):
        if w.lower() in ("override", "overrides") and i > 0:
            return " ".join(words[:i]), " ".join(words[i:])
    return text, None


def build_services(settings: Settings, *, migrate: bool = True,
                   interpreter: Interpreter | None = None,
                   clock: Callable[[], datetime] = utcnow) -> Services:
    """Connect, migrate (idempotent) and assemble. Raises ConfigError with one line."""
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
    if interpreter is None and not settings.llm_configured:
        interpreter = RulesInterpreter()  # and openai is never imported (faster start-up)
    if interpreter is None:
        from bot.llm import build_interpreter

        interpreter = build_interpreter(settings)
    summarizer = getattr(interpreter, "summarize", None)
    conversation = Conversation(db, ws, interpreter=interpreter, summarizer=summarizer,
                                idle=timedelta(days=settings.session_idle_days),
                                timezone=settings.timezone, clock=clock)
    return Services(settings, db, ws, conversation, interpreter, clock)
