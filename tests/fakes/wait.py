"""The one polling helper: wait until something the app does in the background shows up.

The app answers Slack and Teams at once and does the work after (listeners, follow-ups,
sweeps), so a test can only observe the effect by polling for it — always with a deadline,
so a missing effect fails the test with a sentence instead of hanging it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(
    check: Callable[[], Any], timeout: float = 10.0, what: str = "", interval: float = 0.01
) -> Any:
    """Call ``check`` every ``interval`` seconds until it returns something truthy (returned)
    or ``timeout`` seconds passed (``AssertionError`` naming ``what``)."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what or check}")
        time.sleep(interval)
