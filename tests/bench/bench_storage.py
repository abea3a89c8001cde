"""Storage benchmark (not part of the test run).

    uv run --extra dev python -m tests.bench.bench_storage [--backend sqlite|postgres|both]
        [--customers N] [--scale F]

Seeds, on each backend (SQLite in a temporary file; PostgreSQL in a fresh database on the
server named by ``--postgres-url`` / ``GRADEBOT_TEST_POSTGRES_URL``, dropped afterwards):

* a look-up workspace: ``--customers`` customers (default 100,000), 200 per rep, with 10
  grades each (1,000,000 grades) and the latest-grade pointers set by one UPDATE;
* a planning workspace: 10,000 reps with 50 customers each (500,000), most graded once.

Rows go in with Core ``insert()`` executemany on SQLite and ``COPY`` on PostgreSQL. Then:

(a) ``storage.grades.latest_grade_by_name`` for 2,000 random names against the plain indexed
    SELECT for the same row run through the same connection's DB-API cursor, interleaved;
    target: p95 ratio <= 3;
(b) ``rep_book`` of a 200-customer rep; target: p95 <= 20 ms;
(c) ``due_customers`` over the planning workspace; target: <= 2 s (median of 3 runs);
(d) ``find_customer`` for 50 names with a typo (half in the first letter): time against a plain
    scan of the workspace's names, and how many of the names meant are suggested.

Prints a table and exits 1 when a target is missed. ``--scale`` shrinks every data set
(e.g. 0.1 for a quick check); the targets are meant for the full size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, text

from storage.customers import find_customer
from storage.engine import make_engine, normalize_url, session_scope, upgrade
from storage.grades import due_customers, latest_grade_by_name, rep_book
from storage.models import Customer, Grade, Person
from storage.names import normalize_name

TARGET_RATIO = 3.0
TARGET_BOOK_MS = 20.0
TARGET_PLAN_S = 2.0
TODAY = date(2026, 5, 12)
GRADES_PER_CUSTOMER = 10
BOOK_SIZE = 200
PLAN_REPS, PLAN_PER_REP = 10_000, 50
LOOKUPS, BOOKS, PLAN_RUNS, TYPOS = 2_000, 200, 3, 50
CHUNK = 20_000
WORDS = ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Wonka", "Tyrell", "Cyber",
         "Blue", "Green", "North", "South", "River", "Summit", "Pioneer", "Atlas", "Nova",
         "Zenith", "Orbit", "Harbor", "Maple", "Cedar", "Granite", "Silver", "Golden", "Café",
         "Müller", "Søren", "Zoë", "Straße", "Ōkami", "Dragon", "Phoenix", "Falcon", "Vertex")
SUFFIXES = ("Inc", "Ltd", "GmbH", "SA", "Corp", "LLC", "Group", "Holdings", "& Co", "Partners")
LETTERS = ("A", "B", "C", "D")
RECS = {"A": "invest_more", "B": "maintain", "C": "invest_less", "D": "exit"}


@dataclass
class Row:
    backend: str
    what: str
    p50: str
    p95: str
    target: str = ""
    ok: bool | None = None


# --------------------------------------------------------------------------- seeding


def _copy(conn: Connection, table: Table, columns: Sequence[str],
          rows: Iterable[Sequence[Any]]) -> int:
    """Bulk-load ``rows`` (tuples in ``columns`` order, values as the database stores them:
    see ``_stamp``, JSON as text): ``COPY`` on PostgreSQL; on SQLite one INSERT run as
    executemany over chunks of rows, through SQLAlchemy's connection but without per-row
    parameter processing. Returns how many rows."""
    n = 0
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(  # type: ignore[union-attr]
                f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
        return n
    stmt = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})")
    it = iter(rows)
    while batch := list(islice(it, CHUNK)):
        conn.exec_driver_sql(stmt, batch)
        n += len(batch)
    return n


def _stamp(conn: Connection) -> Callable[[datetime], Any]:
    """A timestamp as the column stores it: aware for PostgreSQL; on SQLite the naive UTC
    text storage.types.UTCDateTime writes."""
    if conn.dialect.name == "postgresql":
        return lambda d: d
    return lambda d: d.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass
class Ids:
    """Explicit primary keys, so that grade chains and pointers are known while seeding."""

    person: int = 0
    customer: int = 0
    grade: int = 0


def _people(conn: Connection, ws: int, n: int, ids: Ids, now: datetime) -> list[int]:
    first = ids.person + 1
    cols = ("id", "workspace_id", "external_id", "display_name", "email", "role",
            "created_at")
    at = _stamp(conn)(now)
    _copy(conn, Person.__table__, cols, (  # type: ignore[attr-defined]
        (first + i, ws, f"U{ws}X{i:06d}", f"Rep {i}", f"rep{i}.{ws}@example.com", "rep", at)
        for i in range(n)))
    ids.person += n
    return list(range(first, first + n))


def _customers(conn: Connection, ws: int, owners: Sequence[int], per_owner: int, ids: Ids,
               rng: random.Random, now: datetime, names_out: list[str] | None = None
               ) -> list[int]:
    cols = ("id", "workspace_id", "name", "normalized_name", "owner_id", "segment", "status",
            "external_ref", "archived", "created_at", "updated_at")
    first = ids.customer + 1
    at = _stamp(conn)(now)

    def rows() -> Iterator[tuple[Any, ...]]:
        cid = first
        for owner in owners:
            for _ in range(per_owner):
                name = (f"{rng.choice(WORDS)} {rng.choice(WORDS)} {cid:07d} "
                        f"{rng.choice(SUFFIXES)}")
                if names_out is not None:
                    names_out.append(name)
                roll = rng.random()
                status = "former" if roll < 0.02 else "prospect" if roll < 0.10 else "customer"
                yield (cid, ws, name, normalize_name(name), owner, SEGMENTS[cid % 3], status,
                       f"CRM-{cid}", roll > 0.99, at, at)
                cid += 1

    n = _copy(conn, Customer.__table__, cols, rows())  # type: ignore[attr-defined]
    ids.customer += n
    return list(range(first, first + n))


GRADE_COLS = ("id", "workspace_id", "customer_id", "previous_grade_id", "grader_id", "cadence",
              "period", "worksheet_id", "worksheet_version", "total", "letter",
              "recommendation", "profile", "coverage", "dimensions", "goods", "explanation",
              "answers", "created_at")
SEGMENTS = ("SMB", "Mid", "Enterprise")
PROFILES = ("good_for_you", "good_at_it", "good_for_others")
POOL = 100_000  # distinct grading times drawn from, in order


def _grades(conn: Connection, ws: int, customers: Sequence[int], owners_of: Callable[[int], int],
            per_customer: int, span_days: int, ids: Ids, rng: random.Random) -> int:
    """``per_customer`` grades for each customer, spread over the last ``span_days`` days in
    time order, each pointing at the previous one."""
    end = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC)
    start = end - timedelta(days=span_days)
    stamp = _stamp(conn)
    times = sorted(start + timedelta(seconds=rng.randrange(span_days * 86_400))
                   for _ in range(POOL))
    pool = [(stamp(t), str(t.year)) for t in times]
    slot = POOL // per_customer
    dims = json.dumps({"value": 70.0, "fit": 60.0})
    goods = json.dumps({"good_for_you": 70.0})
    expl = json.dumps(["Lifted by Pays now"])
    answers = json.dumps({"pays_now": 4})
    graded = [(letter, RECS[letter], base + tenth)
              for letter, base in (("A", 85.0), ("B", 70.0), ("C", 55.0), ("D", 30.0))
              for tenth in range(0, 90, 7)]
    rand = rng.randrange

    def rows() -> Iterator[tuple[Any, ...]]:
        gid = ids.grade
        for cid in customers:
            prev = None
            owner = owners_of(cid)
            for k in range(per_customer):
                gid += 1
                at, period = pool[k * slot + rand(slot)]
                letter, rec, total = graded[rand(len(graded))]
                yield (gid, ws, cid, prev, owner, "annual", period, "default", 1, total / 1,
                       letter, rec, PROFILES[gid % 3], 1.0, dims, goods, expl, answers, at)
                prev = gid

    n = _copy(conn, Grade.__table__, GRADE_COLS, rows())  # type: ignore[attr-defined]
    ids.grade += n
    return n


def _workspace(conn: Connection, external_id: str, now: datetime) -> int:
    return conn.execute(text(
        "INSERT INTO workspace (platform, external_id, name, settings, created_at) "
        "VALUES ('slack', :e, :e, '{}', :now) RETURNING id"),
        {"e": external_id, "now": _stamp(conn)(now)}).scalar_one()


@dataclass
class Seeded:
    lookup_ws: int
    plan_ws: int
    names: list[str]
    reps: list[int]
    customers: int
    grades: int
    plan_customers: int
    plan_reps: int
    seconds: float


def seed(engine: Engine, customers: int, plan_reps: int, plan_per_rep: int,
         rng: random.Random) -> Seeded:
    t0 = time.perf_counter()
    now = datetime(2026, 5, 1, tzinfo=UTC)
    ids = Ids()
    names: list[str] = []
    n_reps = max(1, customers // BOOK_SIZE)
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":  # a big page cache while bulk-loading indexed tables
            conn.exec_driver_sql("PRAGMA cache_size=-400000")
        ws = _workspace(conn, "T0LOOKUP", now)
        reps = _people(conn, ws, n_reps, ids, now)
        cids = _customers(conn, ws, reps, BOOK_SIZE, ids, rng, now, names)
        first_c = cids[0]
        grades = _grades(conn, ws, cids, lambda c: reps[(c - first_c) // BOOK_SIZE],
                         GRADES_PER_CUSTOMER, 3 * 365, ids, rng)
        plan_ws = _workspace(conn, "T0PLAN", now)
        plan_people = _people(conn, plan_ws, plan_reps, ids, now)
        plan_cids = _customers(conn, plan_ws, plan_people, plan_per_rep, ids, rng, now)
        first_p = plan_cids[0]
        graded = [c for c in plan_cids if rng.random() < 0.9]
        grades += _grades(conn, plan_ws, graded,
                          lambda c: plan_people[(c - first_p) // plan_per_rep], 1, 2 * 365,
                          ids, rng)
        _log(f"  rows loaded in {time.perf_counter() - t0:.1f} s")
        # the latest-grade pointers and their copies of letter and time: one UPDATE
        conn.execute(text("UPDATE customer SET latest_grade_id = g.id, latest_letter = g.letter, "
                          "latest_graded_at = g.created_at FROM (SELECT customer_id, max(id) "
                          "AS id FROM grade GROUP BY customer_id) AS latest JOIN grade AS g "
                          "ON g.id = latest.id WHERE latest.customer_id = customer.id"))
        if conn.dialect.name == "postgresql":
            for table in ("person", "customer", "grade"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
        _log(f"  pointers set in {time.perf_counter() - t0:.1f} s")
    _log(f"  committed in {time.perf_counter() - t0:.1f} s")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql"
                          else "ANALYZE"))
    return Seeded(ws, plan_ws, names, reps, len(cids), grades, len(plan_cids), plan_reps,
                  time.perf_counter() - t0)


def _log(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------- measuring


def _pct(xs: Sequence[float], p: int) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[p - 1]


def _us(x: float) -> str:
    return f"{x * 1e6:,.0f} µs"


def _ms(x: float) -> str:
    return f"{x * 1e3:,.1f} ms"


# the plain indexed query for the same row (every look-up customer has grades)
RAW_SQL = ("SELECT customer.id, customer.name, customer.owner_id, grade.id, grade.letter, "
           "grade.total, grade.recommendation, grade.created_at FROM customer "
           "JOIN grade ON grade.id = customer.latest_grade_id "
           "WHERE customer.workspace_id = {p} AND customer.normalized_name = {p}")


def measure(engine: Engine, seeded: Seeded, backend: str, rng: random.Random) -> list[Row]:
    out: list[Row] = []
    clock = time.perf_counter
    names = rng.sample(seeded.names, min(LOOKUPS, len(seeded.names)))
    ws = seeded.lookup_ws
    with session_scope(engine) as s:
        dbapi = s.connection().connection.driver_connection
        sql = RAW_SQL.format(p="?" if backend == "sqlite" else "%s")
        cur = dbapi.cursor()  # type: ignore[union-attr]

        def raw(key: str) -> Any:
            cur.execute(sql, (ws, key))
            return cur.fetchone()

        for name in names[:200]:  # warm-up: caches, prepared statements
            latest_grade_by_name(s, ws, name)
            raw(normalize_name(name))
        fn_t: list[float] = []
        raw_t: list[float] = []
        for i, name in enumerate(names):
            key = normalize_name(name)  # the raw path gets the key for free
            pair = ((raw, key, raw_t), (lambda n: latest_grade_by_name(s, ws, n), name, fn_t))
            for f, arg, times in (pair if i % 2 else pair[::-1]):
                t = clock()
                row = f(arg)
                times.append(clock() - t)
                assert row is not None, name
        cur.close()
        assert latest_grade_by_name(s, ws, names[0]).grade_id is not None  # type: ignore
        out.append(Row(backend, "latest_grade_by_name", _us(_pct(fn_t, 50)),
                       _us(_pct(fn_t, 95))))
        out.append(Row(backend, "  raw indexed SELECT (DB-API cursor)", _us(_pct(raw_t, 50)),
                       _us(_pct(raw_t, 95))))
        ratio50 = _pct(fn_t, 50) / _pct(raw_t, 50)
        ratio95 = _pct(fn_t, 95) / _pct(raw_t, 95)
        out.append(Row(backend, "  ratio function / raw", f"{ratio50:.2f}×", f"{ratio95:.2f}×",
                       f"p95 ≤ {TARGET_RATIO:g}×", ratio95 <= TARGET_RATIO))

        out.extend(_did_you_mean(s, ws, backend, names[:TYPOS], rng))

        books: list[float] = []
        for rep in rng.sample(seeded.reps, min(BOOKS, len(seeded.reps))):
            t = clock()
            entries = rep_book(s, rep)
            books.append(clock() - t)
            assert len(entries) > BOOK_SIZE * 0.9, len(entries)
        out.append(Row(backend, f"rep_book ({BOOK_SIZE} customers)", _ms(_pct(books, 50)),
                       _ms(_pct(books, 95)), f"p95 ≤ {TARGET_BOOK_MS:g} ms",
                       _pct(books, 95) * 1e3 <= TARGET_BOOK_MS))

        plans: list[float] = []
        due_count = 0
        s.rollback()
        due_customers(s, seeded.plan_ws, TODAY)  # warm-up
        for _ in range(PLAN_RUNS):
            s.rollback()
            t = clock()
            due = due_customers(s, seeded.plan_ws, TODAY)
            plans.append(clock() - t)
            due_count = sum(len(v) for v in due.values())
        assert due_count > 0
        med = statistics.median(plans)
        out.append(Row(backend, f"due_customers ({seeded.plan_reps:,} reps / "
                                f"{seeded.plan_customers:,} customers, {due_count:,} due)",
                       f"{med:.2f} s", f"max {max(plans):.2f} s", f"≤ {TARGET_PLAN_S:g} s",
                       med <= TARGET_PLAN_S))
    return out


def _typo(name: str, rng: random.Random, where: int) -> str:
    """``name`` with one letter replaced: the first one, or one later in the name."""
    i = where if where == 0 else rng.randrange(1, len(name))
    return name[:i] + ("q" if name[i].lower() != "q" else "z") + name[i + 1:]


def _did_you_mean(s: Any, ws: int, backend: str, names: Sequence[str],
                  rng: random.Random) -> list[Row]:
    """(d) a look-up that misses: how long "did you mean" takes and how often the name meant is
    among the suggestions, against a plain scan of the workspace's names (the least any
    comparison with every name must read)."""
    cur = s.connection().connection.driver_connection.cursor()
    p = "?" if backend == "sqlite" else "%s"
    scan_sql = f"SELECT normalized_name FROM customer WHERE workspace_id = {p}"
    fn_t: list[float] = []
    scan_t: list[float] = []
    found = 0
    for i, name in enumerate(names):
        typed = _typo(name, rng, 0 if i % 2 else 1)
        t = time.perf_counter()
        cur.execute(scan_sql, (ws,))
        cur.fetchall()
        scan_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        match = find_customer(s, ws, typed)
        fn_t.append(time.perf_counter() - t)
        found += any(c.name == name for c in match.suggestions)
    cur.close()
    archived = sum(1 for n in names if find_customer(s, ws, n).exact is None)
    ratio = statistics.median(fn_t) / statistics.median(scan_t)
    return [Row(backend, f"did you mean ({len(names)} typos, half in the first letter; "
                         f"suggested {found} of the {len(names) - archived} not archived)",
                _ms(_pct(fn_t, 50)), _ms(_pct(fn_t, 95))),
            Row(backend, "  plain scan of the workspace's names (DB-API cursor)",
                _ms(_pct(scan_t, 50)), _ms(_pct(scan_t, 95))),
            Row(backend, "  ratio function / scan", f"{ratio:.2f}×", "")]


# --------------------------------------------------------------------------- running


@contextmanager
def database(backend: str, postgres_url: str | None) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="gb_bench_") as d:
            yield f"sqlite:///{Path(d) / 'bench.db'}"
        return
    from tests.conftest import temporary_postgres_database

    assert postgres_url is not None
    with temporary_postgres_database(postgres_url, prefix="gb_bench_") as url:
        yield url


def run_backend(backend: str, args: argparse.Namespace) -> list[Row]:
    rng = random.Random(args.seed)
    with database(backend, args.postgres_url) as url:
        t = time.perf_counter()
        upgrade(url)
        engine = make_engine(url)
        try:
            seeded = seed(engine, args.customers, args.plan_reps, PLAN_PER_REP, rng)
            print(f"[{backend}] seeded {seeded.customers:,} + {seeded.plan_customers:,} "
                  f"customers and {seeded.grades:,} grades in {seeded.seconds:.1f} s",
                  flush=True)
            rows = measure(engine, seeded, backend, rng)
        finally:
            engine.dispose()
        rows.append(Row(backend, f"(seeding {seeded.seconds:.0f} s, total "
                                 f"{time.perf_counter() - t:.0f} s)", "", ""))
        return rows


def print_table(rows: Sequence[Row]) -> None:
    w = max(len(r.what) for r in rows)
    head = f"{'backend':<9}{'measure':<{w + 2}}{'p50':>12}{'p95':>14}  {'target':<14}result"
    print(head)
    print("-" * len(head))
    for r in rows:
        result = "" if r.ok is None else ("ok" if r.ok else "MISSED")
        print(f"{r.backend:<9}{r.what:<{w + 2}}{r.p50:>12}{r.p95:>14}  {r.target:<14}{result}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_storage",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--customers", type=int, default=100_000,
                        help="customers of the look-up workspace (10 grades each)")
    parser.add_argument("--plan-reps", type=int, default=PLAN_REPS,
                        help=f"reps of the planning workspace ({PLAN_PER_REP} customers each)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply both data sets (e.g. 0.1 for a quick check)")
    parser.add_argument("--postgres-url", default=os.environ.get("GRADEBOT_TEST_POSTGRES_URL"),
                        help="server to create the benchmark database on "
                             "(default: $GRADEBOT_TEST_POSTGRES_URL)")
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args(argv)
    args.customers = max(BOOK_SIZE, int(args.customers * args.scale))
    args.plan_reps = max(1, int(args.plan_reps * args.scale))
    if args.postgres_url:
        args.postgres_url = normalize_url(args.postgres_url)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    if "postgres" in backends and not args.postgres_url:
        if args.backend == "postgres":
            parser.error("PostgreSQL needs --postgres-url or GRADEBOT_TEST_POSTGRES_URL")
        print("postgres: skipped (set GRADEBOT_TEST_POSTGRES_URL or pass --postgres-url)")
        backends.remove("postgres")
    rows: list[Row] = []
    load = os.getloadavg()[0]
    for backend in backends:
        rows.extend(run_backend(backend, args))
    print()
    print_table(rows)
    print(f"\n(load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, on "
          f"{os.cpu_count()} CPUs: figures from a busy machine are pessimistic)")
    missed = [r for r in rows if r.ok is False]
    if args.scale != 1.0:
        print(f"\n(scaled ×{args.scale:g}: the targets are meant for the full size)")
    if missed:
        print(f"\n{len(missed)} target(s) missed.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
