"""Benchmarks: scripts, not tests (pytest ignores this folder). ``python -m tests.bench`` runs
every ``bench_*.py`` module's ``main()`` in turn; each prints a table and returns non-zero when
a target is missed."""
