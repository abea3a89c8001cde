"""Fixtures for the LLM interpreter: a fake OpenAI-compatible server, interpreters wired to it
through the real openai client, a migrated SQLite database for end-to-end engine tests, and
the evaluation figures printed at the end of every run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.llm import LLMInterpreter, build_interpreter
from bot.services import Services, build_services
from scoring import Worksheet, load_worksheet
from tests.conftest import report_line
from tests.llm.fake_openai import FakeOpenAI
from tests.sheets import pulse_sheet_path


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def fake_llm(fake_server: FakeOpenAI) -> FakeOpenAI:
    fake_server.reset()
    return fake_server


@pytest.fixture(scope="session")
def worksheet() -> Worksheet:
    return load_worksheet()


def llm_settings(fake: FakeOpenAI, timeout: float = 2.0, **extra: object) -> Settings:
    return Settings(llm_model="fake-model", openai_base_url=fake.url, openai_api_key="sk-test",
                    llm_enabled=True, llm_timeout=timeout,
                    **{"llm_trust": "record", **extra})  # type: ignore[arg-type]


@pytest.fixture
def make_interpreter(fake_llm: FakeOpenAI) -> Callable[..., LLMInterpreter]:
    """An LLMInterpreter built the way the bot builds it (build_interpreter), pointed at the
    fake server; no cool-down unless a test asks for one."""

    def make(timeout: float = 2.0, cooldown: float = 0.0) -> LLMInterpreter:
        interp = build_interpreter(llm_settings(fake_llm, timeout))
        assert isinstance(interp, LLMInterpreter)
        interp.cooldown = cooldown
        return interp

    return make


@pytest.fixture
def services(tmp_path: Path, fake_llm: FakeOpenAI) -> Services:
    """The whole bot (settings → database → worksheet → interpreter → engine) on a fresh
    SQLite file, with the LLM pointed at the fake server."""
    settings = llm_settings(fake_llm, database_url=f"sqlite:///{tmp_path / 'gradebot.db'}",
                            worksheet_path=pulse_sheet_path())  # a pulse alone has a letter
    sv = build_services(settings)
    assert isinstance(sv.interpreter, LLMInterpreter)
    sv.interpreter.cooldown = 0.0
    return sv


@pytest.fixture
def eval_report(request: pytest.FixtureRequest) -> Callable[[str], None]:
    def add(line: str) -> None:
        report_line(request.config, "answer-reading evaluation (tests/llm/eval_cases.yml)",
                    line)

    return add
