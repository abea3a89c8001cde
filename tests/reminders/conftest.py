"""Fixtures for the reminder tests: this test's migrated SQLite database (a copy of the
shared template, tests/conftest.py; the PostgreSQL tests use ``migrated_postgres_url``), the
shared fake Slack Web API reset for each test, a Slack client with quick retries, and a
small world builder.

Time is always explicit: every sweep and plan gets ``now``; seeded grades carry their own
``created_at``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine

from bot.notify import Recipient
from bot.slack.notify import SlackNotifier
from storage import people as people_db
from storage.engine import make_engine, session_scope
from storage.grades import save_grade
from storage.models import Customer, Grade, Person, Workspace
from storage.names import normalize_name
from tests.fakes.slack_api import Call, FakeSlackAPI

PG_ENV = "GRADEBOT_TEST_POSTGRES_URL"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# ---------------------------------------------------------------------- databases
@pytest.fixture
def db(migrated_sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(migrated_sqlite_url)
    yield engine
    engine.dispose()


# ---------------------------------------------------------------------- Slack
@pytest.fixture
def api(fake_slack: FakeSlackAPI) -> FakeSlackAPI:
    """The session's fake Web API, with nothing recorded yet."""
    fake_slack.reset()
    return fake_slack


def fast_client(base_url: str) -> AsyncWebClient:
    """The production retry handlers (429 honours Retry-After), with a short fixed 5xx
    back-off (the SDK's default adds up to 1 s of random jitter per retry)."""
    quick = FixedValueRetryIntervalCalculator(0.02)
    return AsyncWebClient(token="xoxb-test", base_url=base_url, timeout=10,
                          retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=4),
                                          AsyncServerErrorRetryHandler(max_retry_count=3,
                                                                       interval_calculator=quick)])


@pytest.fixture
def notifier(api: FakeSlackAPI, db: Engine) -> SlackNotifier:
    return SlackNotifier(fast_client(api.base_url), db=db)


def parents(api: FakeSlackAPI) -> list[Call]:
    """Top-level posts Slack accepted (reminder parents, digests, alerts): no thread_ts."""
    return [c for c in api.ok("chat.postMessage") if not c.args.get("thread_ts")]


def replies(api: FakeSlackAPI, thread_ts: str | None) -> list[Call]:
    return [c for c in api.ok("chat.postMessage") if c.args.get("thread_ts") == thread_ts]


# ---------------------------------------------------------------------- the world
class World:
    """Seeds a workspace, people, customers and grades with explicit timestamps."""

    def __init__(self, db: Engine, platform: str = "slack", team: str = "T1",
                 **settings: Any) -> None:
        self.db = db
        with session_scope(db) as s:
            ws = people_db.get_or_create_workspace(s, platform, team, "Test")
            if settings:
                people_db.update_workspace_settings(s, ws, **settings)
            self.ws_id: int = ws.id  # type: ignore[assignment]
        self._n = 0

    def settings(self, **changes: Any) -> None:
        with session_scope(self.db) as s:
            ws = s.get(Workspace, self.ws_id)
            assert ws is not None
            people_db.update_workspace_settings(s, ws, **changes)

    def person(self, name: str, tz: str | None = None, uid: str | None = None,
               **fields: Any) -> int:
        self._n += 1
        with session_scope(self.db) as s:
            p = Person(workspace_id=self.ws_id, external_id=uid or f"U{self._n:03d}",
                       display_name=name, timezone=tz, **fields)
            s.add(p)
            s.commit()
            return p.id  # type: ignore[return-value]

    def customer(self, name: str, owner: int | None, letter: str | None = None,
                 graded: datetime | None = None, grader: int | None = None,
                 recommendation: str = "maintain", total: float | None = None) -> int:
        with session_scope(self.db) as s:
            c = Customer(workspace_id=self.ws_id, name=name, normalized_name=normalize_name(name),
                         owner_id=owner)
            s.add(c)
            s.commit()
            cid: int = c.id  # type: ignore[assignment]
        if letter is not None:
            self.grade(cid, letter, graded or utc(2027, 1, 15), grader or owner,
                       recommendation=recommendation, total=total)
        return cid

    def grade(self, customer_id: int, letter: str, at: datetime, grader: int | None,
              recommendation: str = "maintain", total: float | None = None) -> int:
        totals = {"A": 85.0, "B": 70.0, "C": 55.0, "D": 35.0}
        with session_scope(self.db) as s:
            c = s.get(Customer, customer_id)
            assert c is not None
            g = Grade(workspace_id=self.ws_id, customer_id=customer_id,
                      previous_grade_id=c.latest_grade_id, grader_id=grader,
                      cadence="quarterly", period="x", worksheet_id="default",
                      worksheet_version=1, total=total if total is not None else totals[letter],
                      letter=letter, recommendation=recommendation, coverage=1.0,
                      created_at=at)
            save_grade(s, g, c)
            return g.id  # type: ignore[return-value]

    def get(self, model: Any, id_: int) -> Any:
        with session_scope(self.db) as s:
            return s.get(model, id_)


@pytest.fixture
def world(db: Engine) -> World:
    return World(db)



class RecordingNotifier:
    """A Notifier that records what it was asked to send; ``fail_next[name] = n`` makes the
    next n calls of that method raise."""

    platform = "slack"

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.fail_next: dict[str, int] = {}
        self._ts = 0

    def _maybe_fail(self, name: str) -> None:
        if self.fail_next.get(name, 0) > 0:
            self.fail_next[name] -= 1
            raise RuntimeError(f"{name} failed (test)")

    def of(self, name: str) -> list[Any]:
        return [x for n, x in self.sent if n == name]

    async def prepare(self, workspace_id: int, now: Any) -> None:
        self._maybe_fail("prepare")

    async def send_reminder(self, person: Recipient, msg: Any) -> Any:
        from bot.notify import ThreadRef

        self._maybe_fail("send_reminder")
        self._ts += 1
        self.sent.append(("send_reminder", (person.display_name, msg)))
        return ThreadRef(f"D-{person.external_id}", f"{self._ts}.0")

    async def send_followup(self, person: Recipient, where: Any, msg: Any) -> None:
        self._maybe_fail("send_followup")
        self.sent.append(("send_followup", (person.display_name, where, msg)))

    async def close_reminder(self, person: Recipient, where: Any, text: str) -> None:
        self._maybe_fail("close_reminder")
        self.sent.append(("close_reminder", (person.display_name, where, text)))

    async def send_digest(self, channel: str, msg: Any) -> None:
        self._maybe_fail("send_digest")
        self.sent.append(("send_digest", (channel, msg)))

    async def send_alert(self, person: Recipient, text: str, options: Any) -> None:
        self._maybe_fail("send_alert")
        self.sent.append(("send_alert", (person.display_name, text, options)))
