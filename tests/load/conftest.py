"""Fixtures of the load and fault suite: PostgreSQL (skipped cleanly without
GRADEBOT_TEST_POSTGRES_URL), a cluster of two real ``gradebot serve`` processes behind the
round-robin proxy (one per module), and the figures every scenario prints — also listed
together at the end of the run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import (
    POSTGRES_ENV,
    postgres_server_url,
    report_line,
    temporary_postgres_database,
)
from tests.load.harness import Cluster
from tests.load.scenarios import figures_line


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[[str, dict[str, Any]], None]:
    def add(name: str, fig: dict[str, Any]) -> None:
        line = figures_line(name, fig)
        report_line(request.config, "load and fault figures (tests/load)", line)
        print(line)

    return add


@pytest.fixture(scope="session")
def pg_server() -> str:
    url = postgres_server_url()
    if url is None:
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_ENV}, e.g. "
                    "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    return url


@pytest.fixture
def pg_db(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database of its own, dropped afterwards."""
    with temporary_postgres_database(pg_server, prefix="gb_load_") as url:
        yield url


@pytest.fixture(scope="module")
def cluster(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two ``gradebot serve`` OS processes on one fresh PostgreSQL database, behind the
    round-robin proxy, all calling one fake Slack Web API."""
    with temporary_postgres_database(pg_server, prefix="gb_load_") as url:
        c = Cluster(url, 2, workdir=tmp_path_factory.mktemp("replicas"))
        try:
            yield c
        finally:
            c.close()
