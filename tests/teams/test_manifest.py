"""The Teams app package: manifest.json and its two icons."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from bot.teams.app import COMMANDS

PACKAGE = Path(__file__).resolve().parents[2] / "teams"


def size(png: Path) -> tuple[int, int]:
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_manifest_and_icons() -> None:
    m = json.loads((PACKAGE / "manifest.json").read_text())
    major, minor = (int(x) for x in m["manifestVersion"].split("."))
    assert (major, minor) >= (1, 17)
    assert m["$schema"].endswith(f"v{m['manifestVersion']}/MicrosoftTeams.schema.json")
    (bot,) = m["bots"]
    assert bot["scopes"] == ["personal"]
    commands = bot["commandLists"][0]["commands"]
    assert [c["title"] for c in commands] == ["grade", "customer", "grades", "portfolio", "help"]
    assert all(c["title"] in COMMANDS for c in commands)
    assert all(len(c["title"]) <= 32 and len(c["description"]) <= 128 for c in commands)
    assert len(m["description"]["short"]) <= 80
    assert m["validDomains"]
    assert size(PACKAGE / m["icons"]["color"]) == (192, 192)
    assert size(PACKAGE / m["icons"]["outline"]) == (32, 32)
