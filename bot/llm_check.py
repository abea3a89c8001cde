"""`gradebot llm check`: how well the configured model reads reps' answers, measured.

It runs the evaluation sets shipped in bot/evalsets/ (realistic replies with the value a
careful human would record) through the production path: the rules first, then the model,
with the same guard rails and the same multi-question request the chat makes (every other
scored question of the worksheet is on offer; the reply's evidence picks at most two).

Figures: correct, wrong (a value outside the expected ones, confirmed or not), refused
(nothing read: the rep is re-asked), failed (the call errored or timed out), wrong and
*recorded without confirmation* (what silently skews a grade: must be 0), and latency per
model call. A model that misreads more than ``MAX_MISREAD`` of the cases, or fails most
calls, is used only to suggest (bot/llm.py, ``suggest_only``): the result is saved per
endpoint and model in ``GRADEBOT_LLM_CHECK_FILE`` and read at start-up.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from bot.config import Settings
from bot.interpret import CONFIDENT, Interpreter
from scoring import Question, Worksheet

log = logging.getLogger(__name__)

EVALSETS = Path(__file__).parent / "evalsets"
MAX_MISREAD = 0.05  # more wrong readings than this (of all cases): suggest only


class Case(BaseModel):
    q: str
    text: str
    expect: list[Any]


class CaseResult(BaseModel):
    case: Case
    value: Any = None
    confidence: float = 0.0
    source: str = ""       # rules | llm | "" (nothing read)
    outcome: str = "rules"  # what the model call did: rules (none made) | ok | timeout | ...
    seconds: float = 0.0
    extras: int = 0        # answers to other questions offered with this reply

    @property
    def status(self) -> str:
        if self.value is None:
            return "failed" if self.outcome not in ("ok", "rules") else "refused"
        return "correct" if self.value in self.case.expect else "wrong"

    @property
    def recorded(self) -> bool:
        """The engine would record it without asking the rep."""
        return self.value is not None and self.confidence >= CONFIDENT


class CheckReport(BaseModel):
    model: str
    base_url: str
    when: datetime = Field(default_factory=lambda: datetime.now(UTC))
    suite: str = ""
    results: list[CaseResult] = []

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def wrong_recorded(self) -> list[CaseResult]:
        return [r for r in self.results if r.status == "wrong" and r.recorded]

    @property
    def calls(self) -> list[CaseResult]:
        return [r for r in self.results if r.outcome != "rules"]

    @property
    def misread_share(self) -> float:
        return self.count("wrong") / len(self.results) if self.results else 1.0

    @property
    def mostly_failing(self) -> bool:
        calls = self.calls
        return bool(calls) and sum(r.outcome != "ok" for r in calls) * 2 > len(calls)

    @property
    def passed(self) -> bool:
        return bool(self.results) and self.misread_share <= MAX_MISREAD \
            and not self.mostly_failing

    def latency(self) -> dict[str, float]:
        secs = sorted(r.seconds for r in self.calls)
        if not secs:
            return {}
        return {"median": statistics.median(secs), "p90": secs[int(0.9 * (len(secs) - 1))],
                "max": secs[-1]}

    def summary_lines(self) -> list[str]:
        n = len(self.results)
        lines = [f"{self.model} at {self.base_url or 'the default endpoint'} on {self.suite}: "
                 f"{n} replies, {len(self.calls)} reached the model",
                 f"  correct {self.count('correct')} ({self.count('correct') / n:.0%}), "
                 f"wrong {self.count('wrong')} ({self.misread_share:.0%}), "
                 f"refused {self.count('refused')}, failed {self.count('failed')}",
                 f"  wrong but confident (recorded unconfirmed if the model were trusted): "
                 f"{len(self.wrong_recorded)}; recorded unconfirmed with this verdict: "
                 f"{len(self.wrong_recorded) if self.passed else 0}",
                 f"  replies with an extra answer offered: "
                 f"{sum(r.extras > 0 for r in self.results)} (most in one reply: "
                 f"{max((r.extras for r in self.results), default=0)})"]
        lat = self.latency()
        if lat:
            lines.append(f"  latency per model call: median {lat['median']:.2f}s, "
                         f"p90 {lat['p90']:.2f}s, max {lat['max']:.2f}s")
        verdict = ("PASSED: confident readings are recorded" if self.passed else
                   "NOT PASSED: the bot uses this model only to suggest (every reading "
                   "is confirmed)")
        if self.mostly_failing:
            verdict += "; most calls failed (raise GRADEBOT_LLM_TIMEOUT if they timed out)"
        lines.append("  " + verdict)
        return lines


def load_cases(name: str) -> list[Case]:
    """An evaluation set by name ("eval_cases", "eval_holdout") or path."""
    path = Path(name) if name.endswith((".yml", ".yaml")) else EVALSETS / f"{name}.yml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Case(q=c["q"], text=c["text"],
                 expect=c["expect"] if isinstance(c["expect"], list) else [c["expect"]])
            for c in raw]


def check_case(interp: Interpreter, worksheet: Worksheet, case: Case) -> CaseResult:
    """One reply, read as the chat reads it: the case's question is current, every other
    scored question is still open."""
    q = worksheet.question_map[case.q]
    others: Sequence[Question] = [o for o in worksheet.questions if o.scored and o.id != q.id]
    start = time.perf_counter()
    reading = interp.read(q, others, case.text, "Acme")
    seconds = time.perf_counter() - start
    mine = next((a for a in reading.answers if a.question_id == q.id), None)
    outcome = getattr(interp, "last_outcome", "rules")
    return CaseResult(case=case, value=None if mine is None else mine.value,
                      confidence=0.0 if mine is None else mine.confidence,
                      source="" if mine is None else mine.source, outcome=outcome,
                      seconds=seconds,
                      extras=sum(a.question_id != q.id for a in reading.answers))


def run_check(interp: Interpreter, worksheet: Worksheet, cases: list[Case], *,
              model: str, base_url: str, suite: str, workers: int = 1,
              progress: Callable[[CaseResult], None] | None = None) -> CheckReport:
    def one(case: Case) -> CaseResult:
        result = check_case(interp, worksheet, case)
        if progress is not None:
            progress(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(one, cases))
    return CheckReport(model=model, base_url=base_url, suite=suite, results=results)


# ---------------------------------------------------------------------- the saved verdict
def _key(settings: Settings) -> str:
    return f"{settings.openai_base_url or 'https://api.openai.com/v1'}|{settings.llm_model}"


def save(settings: Settings, report: CheckReport) -> Path:
    path = settings.llm_check_file
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, ValueError):
        data = {}
    data[_key(settings)] = {"passed": report.passed, "when": report.when.isoformat(),
                            "wrong": report.count("wrong"), "cases": len(report.results),
                            "wrong_recorded": len(report.wrong_recorded)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    tmp.replace(path)
    return path


def trusted(settings: Settings) -> bool:
    """May confident readings be recorded without confirmation? GRADEBOT_LLM_TRUST decides
    (record/suggest); on auto, only when this endpoint's model passed its last check."""
    if settings.llm_trust != "auto":
        return settings.llm_trust == "record"
    try:
        entry = json.loads(settings.llm_check_file.read_text(encoding="utf-8")).get(
            _key(settings), {})
    except (OSError, ValueError):
        return False
    return bool(entry.get("passed"))
