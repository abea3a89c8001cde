"""Faults: Slack answering 429 and 500 during a reminder fan-out; the LLM endpoint hanging
past its timeout while reps type free-text answers. (Database connections cut mid-grading:
tests/load/test_replicas.py, on the replicas.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.load import scenarios

Figures = Callable[[str, dict[str, Any]], None]


@pytest.mark.postgres
def test_reminders_exactly_once_while_slack_fails_intermittently(
        pg_db: str, figures: Figures) -> None:
    fig = scenarios.reminder_fanout(pg_db, reps=20, rate=0.3, sweepers=2)
    figures("5a. reminder fan-out, Slack failing 30% (429/500)", fig)
    assert fig["reminders_sent"] == 20
    assert fig["slack_failures_injected"] > 0


def test_llm_timeouts_keep_acks_fast_and_lose_nothing(tmp_path: Path, figures: Figures) -> None:
    fig = scenarios.llm_timeouts(tmp_path, reps=8, timeout=2.0, extra_s=2.0)
    figures("5b. LLM hanging past GRADEBOT_LLM_TIMEOUT", fig)
    assert fig["llm_requests"] > 0
