"""A database connection dropped in the middle of an answer (a restarted or failed-over
PostgreSQL, a proxy cutting idle connections): the engine tries once more on a new
connection, so the rep sees the next question, not an apology; a second drop is reported,
with nothing half-written. Real PostgreSQL: the backend is terminated by the server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlmodel import select

from bot.engine import Conversation
from scoring import Cadence, Worksheet
from storage.engine import make_engine, upgrade
from storage.models import Answer
from tests.conftest import POSTGRES_ENV, postgres_server_url, temporary_postgres_database
from tests.engine.helpers import Chat, Clock, People

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(postgres_server_url() is None, reason=f"set {POSTGRES_ENV}"),
]


@pytest.fixture
def pg() -> Iterator[Engine]:
    with temporary_postgres_database(postgres_server_url() or "") as url:  # type: ignore[arg-type]
        upgrade(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()


class Terminator:
    """Terminates, from another connection, the server process behind the connection that
    is about to send a statement starting with ``starts`` (an INSERT of an answer) —
    ``times`` times."""

    def __init__(self, engine: Engine, times: int, starts: str = "INSERT INTO answer") -> None:
        self.admin = create_engine(engine.url, poolclass=NullPool,
                                   isolation_level="AUTOCOMMIT")
        self.left = times
        self.starts = starts
        self.killed: list[int] = []
        event.listen(engine, "before_cursor_execute", self)

    def __call__(self, conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        if self.left <= 0 or not statement.startswith(self.starts):
            return
        self.left -= 1
        pid = conn.connection.dbapi_connection.info.backend_pid
        with self.admin.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            deadline = time.monotonic() + 5
            while admin.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"),
                                {"p": pid}).scalar_one() and time.monotonic() < deadline:
                time.sleep(0.02)
        self.killed.append(pid)


def _chat(pg: Engine, worksheet: Worksheet, clock: Clock) -> Chat:
    return Chat(Conversation(pg, worksheet, clock=clock), People(pg).add("alice"))


def _answers(pg: Engine) -> list[tuple[str, Any]]:
    with pg.connect() as conn:
        return [(r.question_id, r.value) for r in conn.execute(
            select(Answer.question_id, Answer.value).where(Answer.superseded_at.is_(None))
            .order_by(Answer.id))]


def test_one_dropped_connection_is_retried_and_nothing_is_doubled(
        pg: Engine, worksheet: Worksheet, clock: Clock) -> None:
    chat = _chat(pg, worksheet, clock)
    chat.start("Acme", Cadence.QUARTERLY)
    chat.pick("Create Acme")
    assert chat.prompt_kinds()[-1] == "question"
    cut = Terminator(pg, times=1)
    reply = chat.say("4", key="slack:Ev1")
    assert len(cut.killed) == 1  # the connection really was cut under the answer
    assert [p.kind.value for p in reply] == ["echo", "question"]
    assert reply[-1].question_id == "service_level"  # the second question
    chat.say("4", key="slack:Ev1")  # and Slack's retry of that event changes nothing
    assert _answers(pg) == [("pays_now", 4)]


def test_a_second_drop_is_reported_and_nothing_is_half_written(
        pg: Engine, worksheet: Worksheet, clock: Clock) -> None:
    chat = _chat(pg, worksheet, clock)
    chat.start("Acme", Cadence.QUARTERLY)
    chat.pick("Create Acme")
    cut = Terminator(pg, times=2)
    with pytest.raises(DBAPIError) as caught:  # the channel turns this into an apology
        chat.say("4", key="slack:Ev2")
    assert caught.value.connection_invalidated
    assert len(cut.killed) == 2  # tried twice, then gave up: no endless retries
    assert _answers(pg) == []
    reply = chat.say("4", key="slack:Ev3")  # the rep tries again: it works
    assert [p.kind.value for p in reply] == ["echo", "question"]
    assert _answers(pg) == [("pays_now", 4)]


def test_a_look_up_is_tried_once_more_when_its_connection_drops(pg: Engine,
                                                                worksheet: Worksheet) -> None:
    """/customer, /grades and /portfolio are reads: a dropped connection costs a retry on a
    new one, not an apology."""
    from bot.config import load_settings
    from bot.lookups import BookView, CustomerCard, PortfolioView
    from bot.services import build_services

    sv = build_services(load_settings(DATABASE_URL=pg.url.render_as_string(
        hide_password=False)), migrate=False)
    try:
        _, person = sv.local_actor("alice")
        with sv.session() as s:
            from storage import customers as customers_db

            customers_db.create_customer(s, person.workspace_id, "Acme", person.id)
        for look, shape in ((lambda: sv.customer_card(person, "acme"), CustomerCard),
                            (lambda: sv.book(person, ""), BookView),
                            (lambda: sv.portfolio(person), PortfolioView)):
            cut = Terminator(sv.db, times=1, starts="SELECT")
            assert isinstance(look(), shape)
            assert len(cut.killed) == 1
            event.remove(sv.db, "before_cursor_execute", cut)
            cut.admin.dispose()
        cut = Terminator(sv.db, times=2, starts="SELECT")  # twice: reported, not hidden
        with pytest.raises(DBAPIError):
            sv.book(person, "")
        event.remove(sv.db, "before_cursor_execute", cut)
        cut.admin.dispose()
    finally:
        sv.db.dispose()
