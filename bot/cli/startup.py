"""The garbage collector during start-up: paused while a command loads its modules.

A look-up loads ~100 000 objects that live until the process ends (modules, classes,
SQLAlchemy's and pydantic's structures). The cyclic collector scans them again and again as
they pile up — 270 collections, two of them full ones, ~0.2 s of a ~1.5 s ``gradebot grades``
— and finds almost nothing to free. So ``main`` pauses it, and once the command has loaded what
it needs (``context.settings``, which every command calls before its work) it is resumed with
everything loaded so far frozen out of its scans: the pattern the ``gc.freeze`` documentation
gives for servers, which ``gradebot serve`` then also benefits from.
"""

from __future__ import annotations

import gc

_paused = False


def pause_collector() -> None:
    """Stop cyclic collection until ``resume_collector`` (reference counting still frees)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_collector() -> None:
    """Collect again, leaving what is loaded now out of every later collection; a no-op unless
    ``pause_collector`` paused it (the Typer application run by tests, a collector someone
    else turned off)."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
