"""A pytest plugin loaded before all others (``-p tests.bytecode`` in pyproject's
``addopts``): pytest may keep the modules it rewrites in ``__pycache__`` even where
``PYTHONDONTWRITEBYTECODE=1`` is set, as on this machine.

pytest rewrites the asserts of every test file and conftest, and of every module of the
packages that ship a pytest plugin (hypothesis, anyio, xdist …). Not allowed to cache that,
each xdist worker parsed and compiled them all again on every run: about 10 s of CPU per
worker (20 s of a 1-worker collection were 11 s with the cache). Loaded this early, the
controller caches the plugins' modules before it starts the workers, and a second run finds
the test files cached as well. The processes the tests start (``gradebot serve``, ``gradebot
chat``) keep the machine's setting: they only read the bytecode compiled at install.
"""

from __future__ import annotations

import sys

sys.dont_write_bytecode = False
