"""Load and fault suite, long versions: ``uv run --extra dev python -m tests.bench.bench_load``
``[--reps 50] [--retries 1000] [--kill-reps 20] [--cut-reps 10] [--reminder-reps 200]``
``[--llm-reps 20] [--skip-hostile]``.

Needs PostgreSQL: GRADEBOT_TEST_POSTGRES_URL (e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/test); each run creates its own databases and
drops them. The scenarios are those of ``tests/load`` (``tests/load/scenarios.py``), sized up:

1. two real ``gradebot serve`` processes behind the round-robin proxy, ``--reps`` reps
   grading a quarterly pulse at once — every grade right, once;
2. ``--retries`` Slack event retries (same event_id, X-Slack-Retry-Num 1..3) across both;
3. database connections terminated mid-grading, then ``kill -9`` of a replica during
   ``--kill-reps`` gradings (restarted beside the survivor);
4. the whole hostile corpus, every button shape, and the raw payloads (in process);
5. reminder fan-out with Slack failing 30% of calls; the LLM hanging past its timeout.

Baselines are measured in the same run, on the same machine, just before: one rep grading
alone through the proxy (ack latency, grading time), a reminder fan-out with Slack healthy,
and acks with the LLM answering at once. Ratios are load / baseline. Every scenario asserts
its correctness checks (exit status 1 if any fails); ack latency must stay under 3 s.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from tests.load import scenarios
from tests.load.harness import Cluster, InProcess, Latencies, Plan, postgres_database


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "n/a"


def _baseline_gradings(cl: Cluster, n: int = 3) -> dict[str, Any]:
    """One rep at a time, alone on the cluster."""
    lat = Latencies()
    durations = []
    rng = random.Random(99)
    for i in range(n):
        d = cl.driver(f"UB{i:03d}", f"Baseline {i}", Plan.random(rng), lat=lat)
        t = time.monotonic()
        d.grade()
        durations.append(time.monotonic() - t)
        cl.api.quiet(0.2)
        d.close()
    durations.sort()
    return {"gradings": n, "grading_p50_s": round(durations[len(durations) // 2], 3),
            **scenarios.lat_figures(lat)}


class Run:
    def __init__(self) -> None:
        self.failed: list[str] = []
        self.t0 = time.monotonic()

    def step(self, name: str, fn: Any) -> dict[str, Any] | None:
        t = time.monotonic()
        try:
            fig = fn()
        except Exception as exc:  # report and go on with the other scenarios
            self.failed.append(name)
            print(f"FAILED {name}: {exc}"[:4000], flush=True)
            if not isinstance(exc, AssertionError):
                traceback.print_exc()
            return None
        print(scenarios.figures_line(name, fig) + f"  [{time.monotonic() - t:.1f}s]",
              flush=True)
        return fig


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.bench_load")
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--retries", type=int, default=1000)
    ap.add_argument("--kill-reps", type=int, default=20)
    ap.add_argument("--cut-reps", type=int, default=10)
    ap.add_argument("--reminder-reps", type=int, default=200)
    ap.add_argument("--llm-reps", type=int, default=20)
    ap.add_argument("--skip-hostile", action="store_true")
    args = ap.parse_args(argv if argv is not None else sys.argv[1:])
    run = Run()
    work = Path(tempfile.mkdtemp(prefix="gb-bench-load-"))
    try:
        with postgres_database() as url:
            t = time.monotonic()
            cl = Cluster(url, 2, workdir=work)
            print(f"cluster: 2 replicas ready in {time.monotonic() - t:.1f}s "
                  f"({', '.join(f'{r.started_s:.1f}s' for r in cl.replicas)})", flush=True)
            try:
                base = run.step("baseline: one rep alone", lambda: _baseline_gradings(cl))
                load = run.step(f"1. {args.reps} reps at once on two replicas",
                                lambda: scenarios.concurrent_gradings(cl, args.reps))
                if base and load:
                    print(f"   ratios vs baseline: ack p50 "
                          f"{_ratio(load['ack_p50_ms'], base['ack_p50_ms'])}, ack p99 "
                          f"{_ratio(load['ack_p99_ms'], base['ack_p99_ms'])}, grading p50 "
                          f"{_ratio(load['grading_p50_s'], base['grading_p50_s'])}; "
                          f"throughput {args.reps / load['wall_s']:.1f} gradings/s",
                          flush=True)
                retried = run.step(f"2. {args.retries} event retries across replicas",
                                   lambda: scenarios.replayed_retries(cl, args.retries))
                if base and retried:
                    print(f"   ratios vs baseline: ack p50 "
                          f"{_ratio(retried['ack_p50_ms'], base['ack_p50_ms'])}, ack p99 "
                          f"{_ratio(retried['ack_p99_ms'], base['ack_p99_ms'])}", flush=True)
                run.step(f"5c. connections cut, {args.cut_reps} reps",
                         lambda: scenarios.connections_cut(cl, args.cut_reps, cuts=3))
                kill = run.step(f"3. kill -9 during {args.kill_reps} gradings",
                                lambda: scenarios.kill_midway(cl, args.kill_reps))
                if base and kill:
                    print(f"   ratios vs baseline: ack p99 "
                          f"{_ratio(kill['ack_p99_ms'], base['ack_p99_ms'])}", flush=True)
            finally:
                cl.close()
        with postgres_database() as url:
            healthy = run.step(f"baseline: reminder fan-out, {args.reminder_reps} reps, "
                               "Slack healthy",
                               lambda: scenarios.reminder_fanout(url, args.reminder_reps,
                                                                 rate=0.0))
        with postgres_database() as url:
            flaky = run.step(f"5a. reminder fan-out, {args.reminder_reps} reps, Slack "
                             "failing 30%",
                             lambda: scenarios.reminder_fanout(url, args.reminder_reps,
                                                               rate=0.3))
        if healthy and flaky:
            print(f"   ratio vs baseline: wall {_ratio(flaky['wall_s'], healthy['wall_s'])}, "
                  f"Slack calls {_ratio(flaky['slack_calls'], healthy['slack_calls'])}",
                  flush=True)
        fast = run.step("baseline: LLM answering at once",
                        lambda: scenarios.llm_timeouts(work / "llm-fast", args.llm_reps,
                                                       timeout=4.0, extra_s=-3.9))
        hung = run.step("5b. LLM hanging past GRADEBOT_LLM_TIMEOUT=4",
                        lambda: scenarios.llm_timeouts(work / "llm-hung", args.llm_reps,
                                                       timeout=4.0, extra_s=3.0))
        if fast and hung:
            print(f"   ratios vs baseline: retry ack max "
                  f"{_ratio(hung['retry_ack_max_ms'], fast['retry_ack_max_ms'])}, command "
                  f"ack max {_ratio(hung['command_ack_max_ms'], fast['command_ack_max_ms'])}",
                  flush=True)
        if not args.skip_hostile:
            run.step("4. hostile corpus, every button shape", lambda: _hostile(work))
    finally:
        print(f"bench_load: {time.monotonic() - run.t0:.0f}s; "
              + ("all scenarios passed" if not run.failed else f"FAILED: {run.failed}"),
              flush=True)
    return 1 if run.failed else 0


def _hostile(work: Path) -> dict[str, Any]:
    from tests.load.hostile import CORPUS, run_hostile

    app = InProcess(f"sqlite:///{work / 'hostile.db'}")
    try:
        rep = run_hostile(app, CORPUS, workers=4, clicks="all")
    finally:
        app.close()
    fig = {"strings": len(CORPUS), "inputs": rep.inputs, **rep.by_channel,
           "requests": rep.requests, **scenarios.lat_figures(rep.lat),
           "raw_statuses": rep.raw_status, "raw_listener_errors": rep.listener_errors,
           "problems": len(rep.problems)}
    if rep.problems or rep.lat.worst >= 3.0:
        raise AssertionError("\n".join(rep.problems[:40]) + f"\nfigures: {fig}")
    return fig


if __name__ == "__main__":
    sys.exit(main())
