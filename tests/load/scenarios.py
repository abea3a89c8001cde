"""The load and fault scenarios, sized by their arguments: the test suite runs them small,
``tests/bench/bench_load.py`` large. Each returns its figures (a dict, printed by the caller
with ``figures_line``) and raises AssertionError listing every problem it found."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import re
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session, select

from storage.models import DeliveryStatus, ReminderDelivery
from tests.fakes.blocks import shown
from tests.fakes.wait import wait_until
from tests.load.harness import (
    ACK_LIMIT,
    APOLOGY,
    QUARTERLY,
    Cluster,
    Driver,
    InProcess,
    Latencies,
    LoadSlackAPI,
    Plan,
    access_latencies,
    check_grading,
    is_review,
    question_of,
    run_all,
)


def figures_line(name: str, fig: dict[str, Any]) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3f}" if v < 10 else f"{v:.1f}"
        return str(v)

    return f"{name}: " + ", ".join(f"{k}={fmt(v)}" for k, v in fig.items())


def ms(seconds: float) -> float:
    return round(1000 * seconds, 1)


def lat_figures(lat: Latencies) -> dict[str, Any]:
    return {"requests": lat.count, "ack_p50_ms": ms(lat.pct(50)), "ack_p99_ms": ms(lat.pct(99)),
            "ack_max_ms": ms(lat.worst)}


def check_acks(lat: Latencies, problems: list[str], what: str,
               allow: tuple[int, ...] = ()) -> None:
    if lat.worst >= ACK_LIMIT:
        slow = sum(1 for x in lat.samples if x >= ACK_LIMIT)
        problems.append(f"{what}: {slow} acks took {ACK_LIMIT:g}s or more (max "
                        f"{lat.worst:.2f}s)")
    bad = {k: v for k, v in lat.statuses.items() if k >= 500 and k not in allow}
    if bad:
        problems.append(f"{what}: 5xx answers {bad}")


def fail_if(problems: list[str], fig: dict[str, Any]) -> None:
    if problems:
        raise AssertionError("\n".join(problems[:40]) + f"\nfigures: {fig}")


def thread_problems(d: Driver, expect_posts: int | None = None) -> list[str]:
    """Nothing doubled or lost in ``d``'s thread: every question asked once, one review
    posted before the save, one saved message, no re-asks or errors."""
    posts = d.thread_posts()
    asked = Counter(q for c in posts if (q := question_of(c.args)))
    out = []
    if sorted(asked) != sorted(QUARTERLY) or any(n != 1 for n in asked.values()):
        out.append(f"{d.user}: questions asked {dict(asked)}")
    saved = [c for c in posts if "Saved:" in str(c.args.get("text"))]
    if len(saved) != 1:
        out.append(f"{d.user}: {len(saved)} saved messages")
    if sum(1 for c in posts if is_review(c.args)) != 1:
        out.append(f"{d.user}: {sum(1 for c in posts if is_review(c.args))} reviews")
    odd = [shown(c.args)[:80] for c in posts if str(c.args.get("text", "")).startswith(
        ("⚠️", "🤔")) or APOLOGY in str(c.args.get("text"))]
    if odd:
        out.append(f"{d.user}: unexpected messages {odd}")
    if expect_posts is not None and len(posts) != expect_posts:
        out.append(f"{d.user}: {len(posts)} posts in the thread, a clean grading has "
                   f"{expect_posts}")
    return out


def updates_in(d: Driver) -> int:
    ts = {str((c.result or {}).get("ts")) for c in d.thread_posts()}
    return sum(1 for c in d.api.of("chat.update") if str(c.args.get("ts")) in ts)


# ---------------------------------------------------------------------- 1. two replicas
def concurrent_gradings(cl: Cluster, reps: int, tag: str = "G", seed: int = 1,
                        how: str = "mixed") -> dict[str, Any]:
    """``reps`` reps grade a quarterly pulse at once through the proxy."""
    rng = random.Random(seed)
    lat = Latencies()
    drivers = [cl.driver(f"U{tag}{i:03d}", f"{tag} Customer {i}", Plan.random(rng, how),
                         lat=lat) for i in range(reps)]
    durations: list[float] = []
    before = dict(cl.proxy.forwarded) if cl.proxy else {}
    logs = {r.name: len(r.log_tail(10**9)) for r in cl.replicas}

    def go(d: Driver) -> None:
        t = time.monotonic()
        d.grade()
        durations.append(time.monotonic() - t)

    t0 = time.monotonic()
    problems = run_all(drivers, go)
    wall = time.monotonic() - t0
    cl.api.quiet()
    for d in drivers:
        problems += check_grading(cl.db, d) + thread_problems(d)
        d.close()
    check_acks(lat, problems, "gradings")
    spread = {u.rsplit(":", 1)[1]: n - before.get(u, 0)
              for u, n in (cl.proxy.forwarded.items() if cl.proxy else [])}
    durations.sort()
    fig = {"reps": reps, "graded": reps - len([p for p in problems if "grades" in p]),
           "wall_s": round(wall, 2),
           "grading_p50_s": round(durations[len(durations) // 2], 2) if durations else 0,
           "grading_max_s": round(durations[-1], 2) if durations else 0,
           **lat_figures(lat), **access_figures(cl, logs), "per_replica": spread,
           "posts_per_thread": len(drivers[0].thread_posts()) if drivers else 0}
    if not fig["access_requests"]:
        problems.append("no gradebot.access lines with a latency in the replicas' logs")
    elif fig["access_ack_p50_ms"] <= 0:
        problems.append("the access log says every ack took 0 ms")
    fail_if(problems, fig)
    return fig


def access_figures(cl: Cluster, since: dict[str, int]) -> dict[str, Any]:
    """p50/p99 of the ack latency the replicas logged themselves (``gradebot.access``)."""
    got = sorted(access_latencies(cl.replicas, since))
    if not got:
        return {"access_requests": 0, "access_ack_p50_ms": 0.0, "access_ack_p99_ms": 0.0}
    return {"access_requests": len(got), "access_ack_p50_ms": got[len(got) // 2],
            "access_ack_p99_ms": got[min(len(got) - 1, int(len(got) * 0.99))]}


# ---------------------------------------------------------------------- 2. event retries
def replayed_retries(cl: Cluster, retries: int, tag: str = "R", seed: int = 2
                     ) -> dict[str, Any]:
    """Every typed answer (and the typed "save") delivered 4 times at once — the event and
    3 retries of it (same event_id, X-Slack-Retry-Num 1..3) — spread over the replicas.
    ``retries``: how many retried deliveries in all (3 per input, 6 inputs per rep)."""
    rng = random.Random(seed)
    # a clean grading first: what one grading posts and updates
    clean = cl.driver(f"U{tag}CLEAN", f"{tag} Clean", Plan.random(rng, "type"),
                      lat=Latencies())
    clean.grade()
    cl.api.quiet()
    clean_posts, clean_updates = len(clean.thread_posts()), updates_in(clean)
    clean.close()
    reps = max(1, math.ceil(retries / (3 * (len(QUARTERLY) + 1))))
    lat = Latencies()
    drivers = [cl.driver(f"U{tag}{i:03d}", f"{tag} Customer {i}", Plan.random(rng, "type"),
                         lat=lat, retries=3) for i in range(reps)]
    before = dict(cl.proxy.forwarded) if cl.proxy else {}
    t0 = time.monotonic()
    problems = run_all(drivers, lambda d: d.grade())
    wall = time.monotonic() - t0
    cl.api.quiet()
    for d in drivers:
        problems += check_grading(cl.db, d) + thread_problems(d, clean_posts)
        if updates_in(d) != clean_updates:
            problems.append(f"{d.user}: {updates_in(d)} message updates, a clean grading "
                            f"makes {clean_updates}")
        d.close()
    check_acks(lat, problems, "retried events")
    events = sum(d.events_sent for d in drivers)
    spread = {u.rsplit(":", 1)[1]: n - before.get(u, 0)
              for u, n in (cl.proxy.forwarded.items() if cl.proxy else [])}
    fig = {"reps": reps, "event_deliveries": events, "retries": events * 3 // 4,
           "wall_s": round(wall, 2), **lat_figures(lat), "per_replica": spread,
           "posts_per_thread": clean_posts, "duplicates": len(problems)}
    fail_if(problems, fig)
    return fig


# ---------------------------------------------------------------------- 3. kill -9
def kill_midway(cl: Cluster, reps: int, tag: str = "K", seed: int = 3, restart: bool = True,
                stuck_after: float = 6.0) -> dict[str, Any]:
    """``kill -9`` one replica while ``reps`` gradings are under way; every grading resumes
    at its question and finishes."""
    rng = random.Random(seed)
    lat = Latencies()
    victim = cl.replicas[0]
    answered = [0]
    lock = threading.Lock()
    killed_at: list[float] = []
    restarted: list[Any] = []
    threshold = max(1, reps * 2)

    def on_answer(_d: Driver) -> None:
        with lock:
            answered[0] += 1
            if answered[0] != threshold:
                return
        victim.kill()
        killed_at.append(time.monotonic())
        if restart:
            def again() -> None:
                with contextlib.suppress(Exception):
                    restarted.append(cl.replace(victim))

            threading.Thread(target=again, daemon=True).start()

    drivers = [cl.driver(f"U{tag}{i:03d}", f"{tag} Customer {i}", Plan.random(rng), lat=lat,
                         recover=True, stuck_after=stuck_after, on_answer=on_answer)
               for i in range(reps)]
    t0 = time.monotonic()
    problems = run_all(drivers, lambda d: d.grade())
    wall = time.monotonic() - t0
    if not killed_at:
        problems.append("the replica was never killed")
    deadline = time.monotonic() + 120
    while restart and not restarted and time.monotonic() < deadline:
        time.sleep(0.1)
    cl.api.quiet()
    for d in drivers:
        problems += check_grading(cl.db, d)
        problems += [f"{d.user}: resumed at the wrong question: {w}" for w in d.resumed_wrong]
        d.close()
    # a request the killed replica had accepted gets a 502 from the proxy, and is sent
    # again (as Slack retries): that is the one 5xx allowed here
    check_acks(lat, problems, "gradings around the kill", allow=(502, 599))
    assert cl.proxy is not None
    fig = {"reps": reps, "killed_after_answers": threshold,
           "after_kill_s": round(wall - (killed_at[0] - t0), 2) if killed_at else None,
           "wall_s": round(wall, 2), "stuck_and_resumed": sum(d.recoveries for d in drivers),
           "resumed_at_right_question": sum(d.resumed_right for d in drivers),
           "gateway_retries": sum(d.sender.gateway_retries for d in drivers),
           "refused_by_dead": sum(cl.proxy.refused.values()),
           "broken_502": sum(cl.proxy.broken.values()),
           "restarted_ready_s": round(restarted[0].started_s, 1) if restarted else None,
           **lat_figures(lat)}
    fail_if(problems, fig)
    return fig


# ---------------------------------------------------------------------- 5c. connections cut
def terminate_connections(db_url: str) -> int:
    url = make_url(db_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT",
                          poolclass=NullPool)
    try:
        with admin.connect() as conn:
            return len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db "
                "AND pid <> pg_backend_pid()"), {"db": url.database}).all())
    finally:
        admin.dispose()


def connections_cut(cl: Cluster, reps: int, tag: str = "C", seed: int = 4,
                    cuts: int = 2) -> dict[str, Any]:
    """Mid-grading, every database connection of the replicas is terminated (``cuts``
    times); the next inputs work (pre-ping) or fail with a clear message and work when
    tried again; nothing recorded is lost."""
    rng = random.Random(seed)
    lat = Latencies()
    drivers = [cl.driver(f"U{tag}{i:03d}", f"{tag} Customer {i}", Plan.random(rng), lat=lat,
                         recover=True, stuck_after=8.0) for i in range(reps)]
    problems = run_all(drivers, lambda d: (d.open(), d.step(), d.step()))
    terminated = 0
    t0 = time.monotonic()
    for i in range(cuts):
        terminated += terminate_connections(cl.db_url)
        if i + 1 < cuts:
            problems += run_all(drivers, lambda d: d.step())
    problems += run_all(drivers, Driver.finish)
    wall = time.monotonic() - t0
    cl.api.quiet()
    apologies = 0
    for d in drivers:
        problems += check_grading(cl.db, d)
        apologies += sum(APOLOGY in str(c.args.get("text")) for c in cl.api.posts(d.dm))
        apologies += sum(APOLOGY in str(c.args.get("text")) for c in cl.api.responses(d.rname))
        d.close()
    check_acks(lat, problems, "inputs after the cut")
    fig = {"reps": reps, "cuts": cuts, "backends_terminated": terminated,
           "apologies": apologies, "stuck_and_resumed": sum(d.recoveries for d in drivers),
           "wall_s": round(wall, 2), **lat_figures(lat)}
    fail_if(problems, fig)
    return fig


# ---------------------------------------------------------------------- 5a. reminders
def reminder_fanout(db_url: str, reps: int, rate: float = 0.3, sweepers: int = 2,
                    seed: int = 5) -> dict[str, Any]:
    """A reminder sweep fan-out while Slack answers 429 and 500 at random; repeated sweeps
    (several sweepers at once, as replicas would) end with every reminder sent exactly
    once."""
    from bot.reminders.sweep import Sweeper
    from bot.slack.notify import SlackNotifier
    from storage.engine import make_engine, upgrade
    from tests.reminders.conftest import World, fast_client, utc

    now = utc(2028, 1, 3, 9)  # the first business day of Q1: quarterly reminders are due
    upgrade(db_url)
    engine = make_engine(db_url)
    api = LoadSlackAPI().start()
    try:
        world = World(engine)
        people = {}
        for i in range(reps):
            uid = f"UM{i:04d}"
            pid = world.person(f"Rep {i}", uid=uid, tz="UTC")
            world.customer(f"Due {i}", pid, "C", utc(2027, 9, 1))
            people[pid] = uid
        api.flaky({"chat.postMessage", "conversations.open"}, rate, seed=seed)

        async def rounds() -> list[Any]:
            out = []
            for n in range(12):
                group = [Sweeper(engine, [SlackNotifier(fast_client(api.base_url), db=engine)],
                                 claimer=f"replica-{k}", concurrency=8)
                         for k in range(sweepers)]
                reports = await asyncio.gather(*(s.sweep(now + timedelta(seconds=n))
                                                 for s in group))
                out.append(reports)
                with Session(engine) as s:
                    rows = s.exec(select(ReminderDelivery)).all()
                if len(rows) == reps and all(r.status == DeliveryStatus.SENT for r in rows):
                    break
            return out

        t0 = time.monotonic()
        history = asyncio.run(rounds())
        wall = time.monotonic() - t0
        problems: list[str] = []
        with Session(engine) as s:
            rows = s.exec(select(ReminderDelivery)).all()
        status = Counter(str(r.status) for r in rows)
        if len(rows) != reps or status != Counter({str(DeliveryStatus.SENT): reps}):
            problems.append(f"deliveries {dict(status)} for {reps} reps")
        accepted = [c for c in api.of("chat.postMessage") if c.result is not None]
        parents = [c for c in accepted if not c.args.get("thread_ts")]
        per_channel = Counter(str(c.args.get("channel")) for c in parents)
        for pid, uid in people.items():
            ch = "D" + uid.lstrip("U")
            if per_channel.get(ch) != 1:
                problems.append(f"person {pid}: {per_channel.get(ch, 0)} reminders")
        for c in parents:
            # the list of customers due, once per thread (a thread whose list failed is
            # finished by a later sweep with the title again and then the list)
            ts = str((c.result or {}).get("ts"))
            n = sum(1 for r in accepted if r.args.get("thread_ts") == ts
                    and re.fullmatch(r"\d+ customers? due", str(r.args.get("text"))))
            if n != 1:
                problems.append(f"reminder {ts} in {c.args.get('channel')}: the list of "
                                f"customers due posted {n} times")
        attempts = Counter(r.attempts for r in rows)
        fig = {"reps": reps, "failure_rate": rate, "sweepers": sweepers,
               "rounds": len(history), "slack_failures_injected": api.flaky_failed,
               "slack_calls": len(api.calls), "reminders_sent": len(parents),
               "attempts": dict(sorted(attempts.items())),
               "failed_attempts": sum(r.failed_attempts for rs in history for r in rs),
               "wall_s": round(wall, 2)}
        fail_if(problems, fig)
        return fig
    finally:
        api.stop()
        engine.dispose()


# ---------------------------------------------------------------------- 5b. LLM timeouts
def llm_timeouts(workdir: Path, reps: int, timeout: float = 1.0, extra_s: float = 3.0,
                 burst: int = 10, db_url: str | None = None) -> dict[str, Any]:
    """The LLM endpoint sleeps past GRADEBOT_LLM_TIMEOUT while ``reps`` reps type a
    free-text answer at once (and other reps run slash commands, and Slack retries the
    events): every ack stays under 3 s, each rep is re-asked, then answers and nothing is
    lost."""
    from tests.llm.fake_openai import FakeOpenAI, slow

    workdir.mkdir(parents=True, exist_ok=True)
    fake = FakeOpenAI().start()
    fake.reset()
    fake.script(slow(timeout + extra_s))
    url = db_url or f"sqlite:///{workdir / 'llm-load.db'}"
    app = InProcess(url, GRADEBOT_LLM_MODEL="fake-model", OPENAI_BASE_URL=fake.url,
                    OPENAI_API_KEY="sk-test", GRADEBOT_LLM_TIMEOUT=str(timeout))
    problems: list[str] = []
    try:
        rng = random.Random(6)
        lat = Latencies()
        plans = []
        for _ in range(reps):
            p = Plan.random(rng, "click")
            p.answers["service_level"] = ("right", "type")
            plans.append(p)
        drivers = [app.driver(f"UL{i:03d}", f"LLM Customer {i}", plans[i], lat=lat)
                   for i in range(reps)]
        problems += run_all(drivers, lambda d: (d.open(), d.step()))  # question 1 answered
        app.settle()
        lat_vague = Latencies()
        marks = {d.user: len(d.thread_posts()) for d in drivers}
        vague = "they keep asking for things we never sold them, and we keep saying yes"

        def say_vague(d: Driver) -> None:
            d.sender.lat = lat_vague
            d.type(vague)

        t0 = time.monotonic()
        problems += run_all(drivers, say_vague)
        # while the model calls hang: Slack retries those events (the app is slow to
        # answer, as far as Slack knows), other reps run slash commands and DM the bot
        wait_until(lambda: len(fake.requests) >= min(reps, 4), 30, "the model calls",
                   interval=0.05)
        lat_during = Latencies()

        def retry(d: Driver) -> None:
            from tests.load.harness import Sender

            assert d.last_event is not None
            ev, eid = d.last_event
            s = Sender(app.url, lat_during)
            try:
                for n in (1, 2):
                    r = s.event(ev, eid, n)
                    assert r.status_code == 200, r.text
            finally:
                s.close()

        lookups = Latencies()

        def lookup_burst() -> None:
            from tests.load.harness import Sender

            s = Sender(app.url, lookups)
            try:
                for i in range(burst):
                    s.command("/customer", f"LLM Customer {i % max(1, reps)}", f"UL{i:03d}",
                              app.api.response_url(f"lk{i}"))
                    s.command("/grade", f"Someone {i} quarterly", f"ULX{i:03d}",
                              app.api.response_url(f"lg{i}"))
                    s.event(Sender.dm_event(f"ULY{i:03d}", "hello there", None))
            finally:
                s.close()

        burster = threading.Thread(target=lookup_burst)
        burster.start()
        problems += run_all(drivers, retry)
        burster.join(120)
        # each rep is re-asked once (the model timed out; the rules could not read it)
        deadline = time.monotonic() + 90
        for d in drivers:
            try:
                d.api.await_change(lambda d=d: [c for c in d.thread_posts()[marks[d.user]:]
                                                if str(c.args.get("text", "")).startswith(
                                                    "🤔")],
                                   max(1.0, deadline - time.monotonic()),
                                   f"{d.user}: the re-ask")
            except AssertionError as exc:
                problems.append(str(exc))
        reask_s = time.monotonic() - t0
        app.settle(120)  # the re-asked question follows the re-ask
        for d in drivers:
            reasks = [c for c in d.thread_posts()[marks[d.user]:]
                      if str(c.args.get("text", "")).startswith("🤔")]
            if len(reasks) != 1:
                problems.append(f"{d.user}: {len(reasks)} re-asks for one message (retries "
                                "handled twice?)")
        problems += run_all(drivers, Driver.finish)
        app.settle(120)
        for d in drivers:
            problems += check_grading(app.sv.db, d)
            d.close()
        for what, lt in (("vague answers", lat_vague), ("retries while the model hangs",
                                                          lat_during),
                         ("slash commands and DMs", lookups), ("other inputs", lat)):
            check_acks(lt, problems, what)
        fig = {"reps": reps, "llm_timeout_s": timeout, "llm_sleeps_s": timeout + extra_s,
               "llm_requests": len(fake.requests), "reask_all_s": round(reask_s, 2),
               "vague_ack_p50_ms": ms(lat_vague.pct(50)),
               "vague_ack_max_ms": ms(lat_vague.worst),
               "retry_ack_p50_ms": ms(lat_during.pct(50)),
               "retry_ack_max_ms": ms(lat_during.worst),
               "command_ack_p50_ms": ms(lookups.pct(50)),
               "command_ack_max_ms": ms(lookups.worst),
               "other_ack_max_ms": ms(lat.worst)}
        fail_if(problems, fig)
        return fig
    finally:
        app.close()
        fake.stop()
