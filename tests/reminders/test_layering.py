"""The reminder jobs know the platforms only through ``bot.notify.Notifier`` (built by
``bot.notifiers``): checked on the source, so a new import that breaks the rule fails here
rather than in review. (That the notifiers import no ``storage`` is tests/test_layering.py.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def offending(path: Path, *forbidden: str) -> list[str]:
    """The imports of ``path`` from any of the ``forbidden`` packages."""
    return sorted(
        m for m in imported(path) if any(m == p or m.startswith(p + ".") for p in forbidden)
    )


@pytest.mark.parametrize(
    "path", sorted((ROOT / "bot" / "reminders").glob("*.py")), ids=lambda p: p.name
)
def test_reminders_import_no_channel(path: Path) -> None:
    assert offending(path, "bot.slack", "bot.teams") == []


def test_the_check_sees_a_lazy_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f():\n    from bot.slack.notify import SlackNotifier\n    import bot.teams\n"
    )
    assert offending(bad, "bot.slack", "bot.teams") == [
        "bot.slack.notify",
        "bot.slack.notify.SlackNotifier",
        "bot.teams",
    ]
