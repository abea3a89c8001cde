"""Start-up benchmark: what ``gradebot --help`` and a look-up cost, beside ``python -c pass``.

    uv run --extra dev python -m tests.bench.bench_startup [--runs 7] [--customers 50]

Every command runs as its own process, the way a person types it (the installed ``gradebot``
script, else ``python -m bot.cli``), on a small SQLite database in a temporary directory
(a rep with ``--customers`` customers). The baseline, ``python -c pass`` with the same
interpreter, runs interleaved with them in the same run, so a busy machine slows both.

Warm machine: bytecode is cached (a private ``PYTHONPYCACHEPREFIX``, filled by two warm-up
runs of each command, whatever ``PYTHONDONTWRITEBYTECODE`` says), the database exists and
is migrated. Medians over ``--runs`` runs; CPU is user + system time of the child.

Targets (issue 15):
(i)  ``gradebot --help``: CPU <= 4x the baseline's CPU.
(ii) a look-up (``gradebot grades --as rep``, ``gradebot customer "Acme 1" --as rep``):
     <= 1 s wall, printed with its ratio to ``python -c pass``'s wall in the same run. On a
     machine busy with other work wall time exceeds CPU time; the CPU figure and the load
     average are printed beside it.
For information: ``gradebot import --help`` (Typer renders it) and one cold run of each
(no bytecode: every module compiled from source, as with PYTHONDONTWRITEBYTECODE and a fresh
install). Returns 1 (exit status) when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HELP_RATIO_TARGET = 4.0
LOOKUP_WALL_TARGET_S = 1.0


@dataclass(frozen=True)
class Cost:
    cpu: float
    wall: float


def gradebot() -> list[str]:
    script = Path(sys.executable).parent / ("gradebot.exe" if os.name == "nt" else "gradebot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> Cost:
    """One process: its CPU (user + system, from the children's rusage) and wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # 1: a look-up that finds nothing is still a look-up
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Cost(cpu, wall)


def prepare(tmp: Path, env: dict[str, str], customers: int) -> None:
    """A migrated database with a rep (``rep``, the local user) owning ``customers``."""
    for args in (["db", "upgrade"], ["grades", "--as", "rep"]):
        run([*gradebot(), *args], env, tmp)
    rows = "".join(f"Acme {i},rep,customer\n" for i in range(1, customers + 1))
    (tmp / "customers.csv").write_text("name,owner,status\n" + rows, encoding="utf-8")
    run([*gradebot(), "import", "customers", "customers.csv"], env, tmp)


def median(costs: list[Cost]) -> Cost:
    return Cost(statistics.median(c.cpu for c in costs), statistics.median(c.wall for c in costs))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--customers", type=int, default=50)
    args = ap.parse_args(argv)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        env = {k: v for k, v in os.environ.items()
               if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith(("SLACK_", "OPENAI_",
                                                                        "GRADEBOT_"))}
        env |= {"PYTHONPYCACHEPREFIX": str(tmp / "pycache"), "DATABASE_URL":
                f"sqlite:///{tmp / 'gradebot.db'}", "COLUMNS": "120"}
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "gradebot --help": [*gradebot(), "--help"],
            "gradebot import --help": [*gradebot(), "import", "--help"],
            "gradebot grades --as rep": [*gradebot(), "grades", "--as", "rep"],
            'gradebot customer "Acme 1"': [*gradebot(), "customer", "Acme 1", "--as", "rep"],
        }
        cold_env = {**env, "PYTHONDONTWRITEBYTECODE": "1",
                    "PYTHONPYCACHEPREFIX": str(tmp / "no-cache")}
        prepare(tmp, env, args.customers)
        cold = {name: run(cmd, cold_env, tmp) for name, cmd in commands.items()}
        for _ in range(2):  # warm-up: bytecode written, files in the page cache
            for cmd in commands.values():
                run(cmd, env, tmp)
        samples: dict[str, list[Cost]] = {name: [] for name in commands}
        for _ in range(args.runs):  # interleaved: a busy moment slows every command alike
            for name, cmd in commands.items():
                samples[name].append(run(cmd, env, tmp))
    costs = {name: median(s) for name, s in samples.items()}
    base = costs["python -c pass"]
    print(f"{'command':30} {'CPU s':>7} {'× pass':>7} {'wall s':>7} {'× pass':>7} "
          f"{'cold CPU s':>10}")
    for name, c in costs.items():
        print(f"{name:30} {c.cpu:7.3f} {c.cpu / base.cpu:7.1f} {c.wall:7.3f} "
              f"{c.wall / base.wall:7.1f} {cold[name].cpu:10.3f}")
    ratio = costs["gradebot --help"].cpu / base.cpu
    look_ups = [n for n in costs if n.startswith(("gradebot grades", "gradebot customer"))]
    worst = max(costs[n].wall for n in look_ups)
    ok_help = ratio <= HELP_RATIO_TARGET
    ok_lookup = worst <= LOOKUP_WALL_TARGET_S
    print(("✓" if ok_help else "✗") + f" target: gradebot --help CPU <= "
          f"{HELP_RATIO_TARGET:g}x python -c pass (got {ratio:.1f}x)")
    print(("✓" if ok_lookup else "✗") + f" target: a look-up <= {LOOKUP_WALL_TARGET_S:g} s "
          f"wall (worst median {worst:.2f} s = {worst / base.wall:.0f}x python -c pass's "
          f"{base.wall:.3f} s; CPU {max(costs[n].cpu for n in look_ups):.2f} s)")
    if hasattr(os, "getloadavg"):  # a busy machine: wall time is partly waiting for a CPU
        print(f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on "
              f"{os.cpu_count()} CPUs (above that count, wall exceeds CPU time)")
    return 0 if ok_help and ok_lookup else 1


if __name__ == "__main__":
    sys.exit(main())
