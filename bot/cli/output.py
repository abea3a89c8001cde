"""The command line's one place to print: one console for results, one for errors, one ``fail``.

Every command prints through ``console`` (standard output) and reports a refusal or a bad
setting through ``fail`` (one red line on standard error, then the exit code), so scripts can
rely on the same streams and codes everywhere and tests can widen one console.
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)

# Exit codes (a contract, see docs/cli.md): 0 done, 1 the command ran and the answer is "no"
# (refused, rows not imported, a check failed), 2 it could not run (bad input or setting).
REFUSED = 1
USAGE = 2


def fail(message: str, code: int = USAGE) -> NoReturn:
    """Print one clear line (no traceback, the message taken literally) and exit with
    ``code``. It raises, so it ends the command wherever it is called."""
    err.print(Text.assemble(("✗ ", "red"), message), soft_wrap=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    """One yellow line on standard error: something went wrong beside the command's work,
    which itself is done (a Slack look-up after an import, a file that could not be kept)."""
    err.print(Text(f"! {message}", style="yellow"), soft_wrap=True)
