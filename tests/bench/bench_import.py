"""Importing a big CRM export: ``uv run --extra dev python -m tests.bench.bench_import``
``[--rows 50000] [--reps 40]``.

A Salesforce-style export (its own headers and statuses, a BOM, CRLF) of ``--rows`` accounts
owned by ``--reps`` imported people goes into an empty SQLite database through the code
``gradebot import customers`` runs (``bot.imports.run_import``: header mapping, every check
of every row, look-alike names, one transaction), with the command's rich progress bar. The
baseline, measured in the same run: a plain ``executemany`` of the same finished rows into
the same table of another empty database (no reading, no checks). Then the real command, as
a subprocess, end to end (start-up, migrations, report). Target: < 30 s for 50,000 rows.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.imports import ImportKind, ImportOptions, run_import
from storage import people as people_db
from storage import people_csv
from storage.engine import make_engine, session_scope, upgrade
from storage.names import normalize_name

TARGET_S = 30.0
STATUSES = ("Customer - Direct", "Customer - Channel", "Prospect", "Former Customer")
INDUSTRIES = ("Manufacturing", "Energy", "Software", "Retail", "Healthcare", "Finance")
WORDS = ("North", "Blue", "Apex", "River", "Stone", "Bright", "Cedar", "Nova", "Summit", "Iron",
         "Harbor", "Pixel", "Atlas", "Maple", "Orbit", "Quartz")


def make_files(tmp: Path, rows: int, reps: int) -> tuple[Path, Path, list[tuple[str, ...]]]:
    rng = random.Random(16)
    people = tmp / "people.csv"
    people.write_text("name,email,role\n" + "".join(
        f"Rep {i},rep{i}@example.com,rep\n" for i in range(reps)), encoding="utf-8")
    lines = ["\ufeffAccount Name,Account Owner Email,Type,Industry,Account ID,Billing City"]
    data: list[tuple[str, ...]] = []
    for i in range(rows):
        name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i:06d}"
        row = (name, f"rep{rng.randrange(reps)}@example.com", rng.choice(STATUSES),
               rng.choice(INDUSTRIES), f"001{i:09d}", "Springfield")
        data.append(row)
        lines.append(",".join(row))
    accounts = tmp / "accounts.csv"
    accounts.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return people, accounts, data


def timed_import(url: str, people: Path, accounts: Path, console: Console) -> tuple[float, int]:
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            ws = people_db.get_or_create_workspace(s, "slack", "T0BENCH")
            people_csv.import_people(s, ws, people.read_text(encoding="utf-8"))
        data = accounts.read_bytes()
        progress = Progress(TextColumn("Importing customers"), BarColumn(),
                            MofNCompleteColumn(), TimeElapsedColumn(), console=console)
        task = progress.add_task("import", total=None)
        started = time.perf_counter()
        with progress:
            report = run_import(engine, ws, ImportKind.CUSTOMERS, data, ImportOptions(),
                                source=accounts.name,
                                progress=lambda d, t: progress.update(task, completed=d,
                                                                      total=t))
        took = time.perf_counter() - started
        if not report.committed or report.skipped:
            raise AssertionError(f"the import refused rows: {report.problems}")
        return took, report.created
    finally:
        engine.dispose()


def timed_executemany(url: str, data: list[tuple[str, ...]], reps: int) -> float:
    """The same rows, already resolved, straight into ``customer`` with one executemany."""
    upgrade(url)
    path = url.removeprefix("sqlite:///")
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("INSERT INTO workspace (platform, external_id, name, settings, created_at) "
                    "VALUES ('slack', 'T0BASE', '', '{}', '2027-01-01 00:00:00')")
        con.executemany("INSERT INTO person (workspace_id, external_id, display_name, email, "
                        "role, created_at) VALUES (1, ?, ?, ?, 'rep', '2027-01-01 00:00:00')",
                        [(f"email:rep{i}@example.com", f"Rep {i}", f"rep{i}@example.com")
                         for i in range(reps)])
        con.commit()
        status = {"Customer - Direct": "customer", "Customer - Channel": "customer",
                  "Prospect": "prospect", "Former Customer": "former"}
        started = time.perf_counter()
        rows = [(1, name, normalize_name(name), int(owner[3:owner.index("@")]) + 1, seg,
                 status[st], ref) for name, owner, st, seg, ref, _ in data]
        con.executemany(
            "INSERT INTO customer (workspace_id, name, normalized_name, owner_id, segment, "
            "status, external_ref, archived, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, "
            "?, 0, '2027-01-01 00:00:00', '2027-01-01 00:00:00')", rows)
        con.commit()
        return time.perf_counter() - started
    finally:
        con.close()


def timed_cli(tmp: Path, accounts: Path, people: Path) -> float:
    url = f"sqlite:///{tmp / 'cli.db'}"
    env = {"DATABASE_URL": url, "PATH": "/usr/bin:/bin", "COLUMNS": "120"}
    cmd = [sys.executable, "-m", "bot.cli", "import"]
    subprocess.run([*cmd, "people", str(people), "--workspace", "slack:T0CLI"], env=env,
                   check=True, capture_output=True)
    started = time.perf_counter()
    subprocess.run([*cmd, "customers", str(accounts), "--workspace", "slack:T0CLI"], env=env,
                   check=True, capture_output=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--skip-cli", action="store_true")
    args = ap.parse_args(argv)
    console = Console()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        people, accounts, data = make_files(tmp, args.rows, args.reps)
        base = timed_executemany(f"sqlite:///{tmp / 'base.db'}", data, args.reps)
        took, created = timed_import(f"sqlite:///{tmp / 'import.db'}", people, accounts,
                                     console)
        cli = None if args.skip_cli else timed_cli(tmp, accounts, people)
    print(f"rows={created}  import={took:.2f}s  executemany={base:.2f}s  "
          f"ratio={took / base:.1f}x" + (f"  cli end-to-end={cli:.2f}s" if cli else ""))
    worst = max(took, cli or 0)
    ok = created == args.rows and worst < TARGET_S
    print(("✓" if ok else "✗") + f" target: {args.rows:,} customers in < {TARGET_S:.0f} s "
          f"(worst {worst:.2f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
