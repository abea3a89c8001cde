"""The one Block Kit reader: the blocks of a recorded Web API call, and the texts in them.

Assertions read what a rep would read, so they walk the payload the fake Slack Web API
recorded (``Call.args``) rather than anything the app kept in memory.
"""

from __future__ import annotations

import json
from typing import Any

TEXT_KINDS = ("plain_text", "mrkdwn")


def blocks_of(args: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``blocks`` of a call's arguments (the SDK sends them as JSON text in forms)."""
    blocks = args.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def text_objects(node: Any, kind: str | None = None) -> list[str]:
    """Every text object's text in ``node`` (blocks, a view, a whole payload), in order;
    ``kind``: only ``plain_text`` or only ``mrkdwn`` ones."""
    out: list[str] = []
    if isinstance(node, dict):
        if (
            node.get("type") in TEXT_KINDS
            and isinstance(node.get("text"), str)
            and (kind is None or node["type"] == kind)
        ):
            out.append(node["text"])
        for v in node.values():
            out += text_objects(v, kind)
    elif isinstance(node, list):
        for v in node:
            out += text_objects(v, kind)
    return out


def unescape(text: str) -> str:
    """Slack shows the three entities every text object is escaped with as characters."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def texts(node: Any) -> str:
    """All visible text of ``node``, as a rep reads it, one text object per line."""
    return unescape("\n".join(text_objects(node)))


def buttons(blocks: list[Any] | None) -> list[dict[str, Any]]:
    """Every button in a message's blocks (actions blocks and section accessories), in
    order; a block may still be JSON text."""
    out: list[dict[str, Any]] = []
    for b in blocks or []:
        if isinstance(b, str):
            b = json.loads(b)
        if b.get("type") == "actions":
            out += [e for e in b.get("elements", []) if e.get("type") == "button"]
        acc = b.get("accessory")
        if acc and acc.get("type") == "button":
            out.append(acc)
    return out


def shown(args: dict[str, Any]) -> str:
    """What a rep sees of a posted message (a call's ``args``): its blocks' text, else its
    top-level text."""
    return texts(blocks_of(args)) or str(args.get("text") or "")
