"""Scoring benchmark: grades per second and portfolio build time, each beside a baseline.

    uv run --extra dev python -m tests.bench.bench_scoring [--seconds 2] [--runs 20] [--pin]

(i)  Annual grades per second on one core: 10,000 distinct random legal full annual answer
     sets, graded in full passes until at least ``--seconds`` of CPU time is spent. Target:
     50,000 grades/s (median pass). The baseline, timed the same way in the same run, is the
     least a grade could cost: look up the same answers, turn each into points, take one
     plain weighted mean.
(ii) ``build_portfolio`` on a 10,000-customer book: median and p95 over ``--runs`` (>= 20)
     runs. Target: median <= 50 ms (p95 is reported). Baseline: a plain loop counting
     profiles.

Every figure is taken on two clocks: the CPU time of this (single-threaded) process, on which
targets are judged because it is what one core did even when the machine is busy, and wall
time, shown beside it. Prints a table; returns 1 (exit status) when a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from scoring import (
    AnswerType,
    AnswerValue,
    BookEntry,
    Cadence,
    Good,
    Worksheet,
    build_portfolio,
    grade,
    is_legal,
    load_worksheet,
)

GRADES_PER_S_TARGET = 50_000
PORTFOLIO_MS_TARGET = 50.0
SEED = 20_261_124


# ------------------------------------------------------------------------------ inputs
def _random_value(q: Any, rng: random.Random) -> AnswerValue:
    t = q.type
    if t is AnswerType.SCALE:
        return rng.randint(1, 5)
    if t is AnswerType.YES_NO:
        return rng.choice(("yes", "no", "unsure"))
    if t is AnswerType.CHOICE:
        return rng.choice(q.choices).key
    if t in (AnswerType.PERCENT, AnswerType.NUMBER):
        lo, hi = q.bounds
        if rng.random() < 0.5:
            return rng.randint(int(lo), int(hi))
        return round(rng.uniform(lo, hi), 1)
    return rng.choice(("Champion moving on in June.", "Renewal talks start in Q3.", "skip"))


def answer_sets(ws: Worksheet, n: int, rng: random.Random) -> list[dict[str, AnswerValue]]:
    """``n`` distinct full annual answer sets, every value legal."""
    questions = ws.questions_for(Cadence.ANNUAL)
    seen: set[tuple[AnswerValue, ...]] = set()
    out: list[dict[str, AnswerValue]] = []
    while len(out) < n:
        values = tuple(_random_value(q, rng) for q in questions)
        if values in seen:
            continue
        seen.add(values)
        answers = dict(zip((q.id for q in questions), values, strict=True))
        assert all(is_legal(q, answers[q.id]) for q in questions), answers
        out.append(answers)
    return out


def book(n: int, rng: random.Random, today: date) -> list[BookEntry]:
    """A book of ``n`` customers: ~10% never graded, the rest with a letter, a profile (or
    none), often a previous grade, and a due date around ``today``."""
    letters = ("A", "B", "C", "D")
    advice = {"A": "invest_more", "B": "maintain", "C": "invest_less", "D": "exit"}
    profiles = (Good.US, Good.US, Good.US, Good.SKILLS, Good.OTHERS, None)
    entries = []
    for i in range(n):
        name = f"Customer {i:05d}"
        if rng.random() < 0.1:
            entries.append(BookEntry(i, name))
            continue
        letter = rng.choice(letters)
        total = round(rng.uniform(0, 100), 1)
        previous = round(rng.uniform(0, 100), 1) if rng.random() < 0.6 else None
        entries.append(BookEntry(
            i, name, letter=letter, total=total, profile=rng.choice(profiles),
            recommendation=advice[letter], previous_total=previous,
            previous_letter=rng.choice(letters) if previous is not None else None,
            graded_on=today - timedelta(days=rng.randint(1, 400)),
            due_on=today + timedelta(days=rng.randint(-200, 200))))
    return entries


# ------------------------------------------------------------------------------ baselines
def _points(q: Any) -> Callable[[AnswerValue], float]:
    """Points for one answer, straight from the sheet (no validation, no explanation)."""
    t = q.type
    if t is AnswerType.SCALE:
        return {1: 0.0, 2: 25.0, 3: 50.0, 4: 75.0, 5: 100.0}.__getitem__
    if t is AnswerType.YES_NO:
        return {"yes": q.yes_score, "no": q.no_score, "unsure": q.unsure_score}.__getitem__
    if t is AnswerType.CHOICE:
        return {c.key: c.value for c in q.choices}.__getitem__
    bands = tuple((b.upto, b.score) for b in q.bands)
    return lambda v: next(score for upto, score in bands if v <= upto)


def baseline_scorer(ws: Worksheet) -> Callable[[Mapping[str, AnswerValue]], float]:
    """A plain weighted mean of the same answers' points (question weight x dimension
    weight): the minimum any grade must do, with none of the grade's structure."""
    dims = ws.dimension_map
    flat = tuple((q.id, q.weight * dims[q.dimension].weight, _points(q))  # type: ignore[index]
                 for q in ws.questions_for(Cadence.ANNUAL) if q.scored)

    def score(answers: Mapping[str, AnswerValue]) -> float:
        num = den = 0.0
        for qid, w, points in flat:
            v = answers.get(qid)
            if v is not None:
                num += points(v) * w
                den += w
        return num / den

    return score


def count_profiles(entries: Sequence[BookEntry]) -> dict[Good | None, int]:
    counts: dict[Good | None, int] = {Good.US: 0, Good.SKILLS: 0, Good.OTHERS: 0, None: 0}
    for e in entries:
        counts[e.profile] += 1
    return counts


# ------------------------------------------------------------------------------ timing
@dataclass
class Timed:
    """Per-run measurements on both clocks: CPU time of this process (what one core did,
    robust to other work on the machine) and wall-clock time."""

    cpu: list[float]
    wall: list[float]


def throughput(fn: Callable[[Any], object], inputs: Sequence[Any], seconds: float) -> Timed:
    """Run ``fn`` over ``inputs`` in full passes for at least ``seconds`` of CPU time (and at
    least 3 passes); return each pass's rate in calls per second."""
    for x in inputs[:1000]:  # warm-up (caches, compiled plans)
        fn(x)
    out = Timed([], [])
    spent = 0.0
    while spent < seconds or len(out.cpu) < 3:
        c0, w0 = time.process_time(), time.perf_counter()
        for x in inputs:
            fn(x)
        c1, w1 = time.process_time(), time.perf_counter()
        spent += c1 - c0
        out.cpu.append(len(inputs) / max(c1 - c0, 1e-9))
        out.wall.append(len(inputs) / (w1 - w0))
    return out


def timings_ms(fn: Callable[[], object], runs: int) -> Timed:
    """Milliseconds per call of ``fn`` over ``runs`` runs, after one warm-up call."""
    fn()
    out = Timed([], [])
    for _ in range(runs):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        c1, w1 = time.process_time(), time.perf_counter()
        out.cpu.append((c1 - c0) * 1000.0)
        out.wall.append((w1 - w0) * 1000.0)
    return out


def p95(xs: Sequence[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]


# ------------------------------------------------------------------------------ report
@dataclass
class Row:
    name: str
    measured: str
    target: str
    baseline: str
    ratio: str
    ok: bool | None  # None: informational


def _pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        try:
            cpu = min(os.sched_getaffinity(0))
            os.sched_setaffinity(0, {cpu})
            return f"pinned to CPU {cpu}"
        except OSError:
            pass
    return "not pinned"


def _print_table(rows: list[Row]) -> None:
    head = ("benchmark", "measured", "target", "baseline", "ratio", "")
    cells = [head] + [(r.name, r.measured, r.target, r.baseline, r.ratio,
                       "" if r.ok is None else ("ok" if r.ok else "MISSED")) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    for n, c in enumerate(cells):
        print("  ".join(x.ljust(w) if i == 0 else x.rjust(w)
                        for i, (x, w) in enumerate(zip(c, widths, strict=True))).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths).rstrip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_scoring",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="minimum timed duration of each throughput measurement")
    parser.add_argument("--runs", type=int, default=20, help="portfolio runs (>= 20)")
    parser.add_argument("--sets", type=int, default=10_000, help="distinct answer sets")
    parser.add_argument("--book", type=int, default=10_000, help="customers in the book")
    parser.add_argument("--pin", action="store_true",
                        help="pin the process to one CPU (it is single-threaded either way)")
    args = parser.parse_args(argv)
    runs = max(args.runs, 20)

    pinned = _pin_to_one_core() if args.pin else "single-threaded, not pinned"
    print(f"Python {platform.python_version()} ({platform.python_implementation()}) on "
          f"{platform.machine()}, {pinned}")
    rng = random.Random(SEED)
    ws = load_worksheet()
    sets = answer_sets(ws, args.sets, rng)
    today = date(2026, 11, 24)
    entries = book(args.book, rng, today)
    gc.collect()

    # (i) grades per second, and the bare weighted mean over the same answers
    def grade_annual(answers: Mapping[str, AnswerValue]) -> object:
        return grade(ws, answers, Cadence.ANNUAL)

    g = throughput(grade_annual, sets, args.seconds)
    b = throughput(baseline_scorer(ws), sets, args.seconds)
    # (ii) portfolio of a 10,000-customer book, and a bare loop counting profiles
    target = ws.target_balance
    p = timings_ms(lambda: build_portfolio(entries, target, today), runs)
    c = timings_ms(lambda: count_profiles(entries), runs)

    med = statistics.median
    rows = []
    for clock, judged in (("cpu", True), ("wall", False)):
        g_rate, b_rate = med(getattr(g, clock)), med(getattr(b, clock))
        rows.append(Row(
            f"annual grades/s, {clock} (median of {len(g.cpu)} passes x {len(sets):,})",
            f"{g_rate:,.0f}", f">= {GRADES_PER_S_TARGET:,}" if judged else "",
            f"{b_rate:,.0f}", f"{b_rate / g_rate:.1f}x",
            g_rate >= GRADES_PER_S_TARGET if judged else None))
    for clock, judged in (("cpu", True), ("wall", False)):
        p_ms, c_ms = getattr(p, clock), getattr(c, clock)
        rows.append(Row(
            f"build_portfolio {len(entries):,} customers, {clock} median ms ({runs} runs)",
            f"{med(p_ms):.1f}", f"<= {PORTFOLIO_MS_TARGET:g}" if judged else "",
            f"{med(c_ms):.2f}", f"{med(p_ms) / med(c_ms):.0f}x",
            med(p_ms) <= PORTFOLIO_MS_TARGET if judged else None))
        rows.append(Row(f"build_portfolio {clock} p95 ms", f"{p95(p_ms):.1f}", "",
                        f"{p95(c_ms):.2f}", f"{p95(p_ms) / p95(c_ms):.0f}x", None))
    print("ratio = time of the real code / time of its baseline, same clock, same run; "
          "targets are judged on CPU time (one core's work; wall time also counts waiting "
          "for other processes)")
    _print_table(rows)
    missed = [r.name for r in rows if r.ok is False]
    print("all targets met" if not missed else f"MISSED: {'; '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
