"""A separate OS process that sweeps:
``python -m tests.reminders.sweep_proc DB SLACK NOW BARRIER_DIR NAME ROUNDS``.

It warms up (imports, connections; read-only), writes ``BARRIER_DIR/ready-NAME``, waits for
``BARRIER_DIR/go`` (which holds a wall-clock time ``claim_at``), then runs ``ROUNDS`` sweeps at
``NOW`` (+1 s each) and prints its reports as JSON. In the first sweep every process plans,
then waits for ``claim_at`` before claiming: all hold the same plan when the claims start —
the worst case for "exactly once".
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from bot.reminders.plan import plan
from bot.reminders.sweep import Sweeper
from bot.slack.notify import SlackNotifier
from storage.engine import make_engine, session_scope


def fast_client(base_url: str):  # type: ignore[no-untyped-def]
    """As tests.reminders.conftest.fast_client (not imported: it would import pytest)."""
    from slack_sdk.http_retry.builtin_async_handlers import (
        AsyncRateLimitErrorRetryHandler,
        AsyncServerErrorRetryHandler,
    )
    from slack_sdk.http_retry.builtin_interval_calculators import (
        FixedValueRetryIntervalCalculator,
    )
    from slack_sdk.web.async_client import AsyncWebClient

    quick = FixedValueRetryIntervalCalculator(0.02)
    return AsyncWebClient(token="xoxb-test", base_url=base_url, timeout=10,
                          retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=4),
                                          AsyncServerErrorRetryHandler(max_retry_count=3,
                                                                       interval_calculator=quick)])


class RacingSweeper(Sweeper):
    claim_at = 0.0

    def _plan(self, ws, now):  # type: ignore[no-untyped-def]
        plans = super()._plan(ws, now)
        time.sleep(max(0.0, self.claim_at - time.time()))
        return plans


async def run(db_url: str, slack_url: str, now: datetime, barrier: Path, name: str,
              rounds: int) -> list[dict[str, object]]:
    engine = make_engine(db_url)
    sweeper = RacingSweeper(engine, [SlackNotifier(fast_client(slack_url), db=engine)],
                            concurrency=8)
    with session_scope(engine) as s:
        plan(s, now)
    (barrier / f"ready-{name}").write_text("ready")
    go = barrier / "go"
    deadline = time.time() + 60
    while not go.exists() and time.time() < deadline:
        time.sleep(0.01)
    sweeper.claim_at = float(go.read_text())
    reports = []
    for i in range(rounds):
        reports.append(dataclasses.asdict(await sweeper.sweep(now + timedelta(seconds=i))))
    engine.dispose()
    return reports


def main() -> None:
    db_url, slack_url, now, barrier, name, rounds = sys.argv[1:7]
    out = asyncio.run(run(db_url, slack_url, datetime.fromisoformat(now), Path(barrier), name,
                          int(rounds)))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
