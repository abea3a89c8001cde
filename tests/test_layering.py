"""The channels translate; they do not reach into the database.

Slack, Teams and the terminal call bot-level services (``bot.services``, ``bot.threads``,
``bot.people``, ``bot.lookups``, the engine) and never import ``storage``: no SQL, no
transaction, no model of their own. This reads every adapter module's imports (the AST, so
an import inside a function counts too) and fails on any ``storage`` import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ADAPTERS = sorted(
    [*ROOT.glob("bot/slack/*.py"), *ROOT.glob("bot/teams/*.py"), ROOT / "bot" / "terminal.py"]
)

# modules still importing storage, listed so the rest stays checked (none left)
PENDING: set[str] = set()


def storage_imports(path: Path) -> list[str]:
    """``storage`` modules imported anywhere in ``path`` (line: module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [
            f"{node.lineno}: {n}" for n in names if n == "storage" or n.startswith("storage.")
        ]
    return found


def test_there_are_adapters_to_check():
    rel = {p.relative_to(ROOT).as_posix() for p in ADAPTERS}
    assert {"bot/slack/app.py", "bot/teams/app.py", "bot/terminal.py"} <= rel


@pytest.mark.parametrize("path", ADAPTERS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_adapter_imports_storage(path: Path):
    rel = path.relative_to(ROOT).as_posix()
    found = storage_imports(path)
    if rel in PENDING and found:  # (once it imports none, it is checked like the rest)
        pytest.xfail(f"{rel}: storage imports still pending ({len(found)})")
    assert found == [], f"{rel} imports storage: {found}"


def test_the_scan_sees_imports_inside_functions(tmp_path: Path):
    f = tmp_path / "x.py"
    f.write_text(
        "import os\n\ndef f():\n    from storage.errors import InvalidInput\n"
        "    import storage.models as m\n"
    )
    assert storage_imports(f) == ["4: storage.errors", "5: storage.models"]


def test_the_codec_does_not_load_the_conversation_engine():
    """A look-up's buttons (``bot.lookups`` → ``bot.engine.options``) must not import the
    whole engine: every CLI look-up pays for what it imports at start-up."""
    import subprocess
    import sys

    code = (
        "import sys, bot.lookups, bot.engine.options; "
        "print('bot.engine.conversation' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "False"


LOOK_UPS = {"customer_card", "override", "book", "portfolio", "optimism", "calibration"}


def look_up_calls(path: Path) -> list[str]:
    """Calls of the per-look-up services (``sv.book(…)`` …) in ``path`` (line: name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        f"{node.lineno}: {node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in LOOK_UPS
        and isinstance(node.value, ast.Attribute) and node.value.attr == "sv"
    ]


@pytest.mark.parametrize("path", ADAPTERS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_adapter_decides_which_look_up_a_command_asks(path: Path):
    """``bot.look_up.asked`` reads the words once and ``Services.look_up`` answers; a
    channel that called ``sv.book`` or ``sv.optimism`` itself would be routing again."""
    assert look_up_calls(path) == []


def test_the_look_up_scan_sees_a_routing_channel(tmp_path: Path):
    f = tmp_path / "x.py"
    f.write_text("async def f(self, p):\n    if 1:\n        self.sv.optimism(p)\n"
                 "    return self.sv.look_up(p, 'x', '')\n")
    assert look_up_calls(f) == ["3: optimism"]
