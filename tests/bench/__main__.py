"""Run every ``bench_*.py`` module in this folder, in name order; exit non-zero if any missed
a target (or failed).

Each module exposes ``main()`` returning an exit status (0 = every target met); a ``main`` that
takes arguments is called with none (``main([])``), so each runs with its own defaults."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import traceback

import tests.bench as package


def main() -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__)
                   if m.name.startswith("bench_") and not m.ispkg)
    failed: list[str] = []
    for name in names:
        print(f"== {package.__name__}.{name}", flush=True)
        try:
            module = importlib.import_module(f"{package.__name__}.{name}")
            takes_args = bool(inspect.signature(module.main).parameters)
            code = module.main([]) if takes_args else module.main()
        except SystemExit as exc:
            code = exc.code
        except Exception:
            traceback.print_exc()
            code = 1
        if code:
            failed.append(name)
        print(flush=True)
    if not names:
        print("no bench_*.py modules found", file=sys.stderr)
        return 1
    print(f"{len(names) - len(failed)} of {len(names)} benchmark modules met their targets"
          + (f"; missed: {', '.join(failed)}" if failed else "."))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
