"""Hostile inputs (tests/load/hostile.py) against the app in this process: no crash, no 5xx,
a clear answer to each, and no payload sent to Slack that could ping anyone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.blocks import shown
from tests.load.harness import InProcess
from tests.load.hostile import BASE_STRINGS, CORPUS, LONG, raw_payloads, run_hostile

Figures = Callable[[str, dict[str, Any]], None]
# of the corpus here: every base string (each category, the 40,000-character ones too); the
# "Acme <string> Corp" variants and every button shape run in the bench
NORMAL_RUN = BASE_STRINGS


@pytest.fixture
def app(tmp_path: Path) -> Iterator[InProcess]:
    a = InProcess(f"sqlite:///{tmp_path / 'hostile.db'}")
    yield a
    a.close()


def test_the_corpus_covers_what_it_should() -> None:
    assert len(CORPUS) >= 200
    joined = "\n".join(CORPUS)
    for needle in ("<!channel>", "<!here>", "<@U", "<#C", "DROP TABLE", "\u202e", "\u200b",
                   "\x00", "😀", "```", "{{7*7}}"):
        assert needle in joined, needle
    assert max(len(s) for s in CORPUS) >= LONG
    kinds = {r.name for r in raw_payloads("http://x")}
    assert {"broken JSON", "event as text/plain", "command without user_id",
            "message text is a number", "message 5 MB", "deeply nested JSON"} <= kinds


def _sample() -> list[str]:
    """The first NORMAL_RUN strings: all the base ones (every category, the 40,000-character
    strings included)."""
    return CORPUS[:NORMAL_RUN]


def test_hostile_inputs(app: InProcess, figures: Figures) -> None:
    corpus = _sample()
    workers = 3
    report = run_hostile(app, corpus, workers=workers)
    figures("4. hostile inputs", {"strings": len(corpus), "inputs": report.inputs,
                                  **report.by_channel, "requests": report.requests,
                                  "ack_p50_ms": round(1000 * report.lat.pct(50), 1),
                                  "ack_p99_ms": round(1000 * report.lat.pct(99), 1),
                                  "ack_max_ms": round(1000 * report.lat.worst, 1),
                                  "raw_statuses": report.raw_status,
                                  "raw_listener_errors": report.listener_errors})
    assert not report.problems, "\n".join(report.problems[:40])
    assert report.lat.worst < 3.0
    # a customer named <!channel>: named back escaped in the top-level text
    i = corpus.index("<!channel>")
    answer = app.api.responses(f"h{i % workers}-{i}-grade")
    assert answer
    assert "&lt;!channel&gt;" in str(answer[0].args.get("text")), answer
    assert "<!channel>" in shown(answer[0].args)  # shown as typed, in plain_text
