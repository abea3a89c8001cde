"""Block Kit limits, checked on the JSON the app actually sent (not on our own builders).

``check_payload(method, args)`` returns a list of problems (empty when the payload is one
Slack would accept). Limits are Slack's documented ones.
"""

from __future__ import annotations

import json
from typing import Any

MESSAGE_METHODS = {"chat.postMessage", "chat.update", "chat.postEphemeral", "chat.scheduleMessage",
                   "response_url", "ack"}
VIEW_METHODS = {"views.open", "views.publish", "views.update", "views.push"}

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
OPTION_TEXT = 75
OPTION_VALUE = 150
SELECT_OPTIONS = 100
RADIO_OPTIONS = 10
INPUT_LABEL = 2000
INPUT_HINT = 2000
PLACEHOLDER = 150
VIEW_TITLE = 24
PRIVATE_METADATA = 3000
ID_MAX = 255
TOP_TEXT = 40000


def _loads(v: Any) -> Any:
    return json.loads(v) if isinstance(v, str) else v


def check_payload(method: str, args: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if method in MESSAGE_METHODS:
        blocks = _loads(args.get("blocks")) or []
        if len(blocks) > MESSAGE_BLOCKS:
            problems.append(f"{len(blocks)} blocks in a message (max {MESSAGE_BLOCKS})")
        text = args.get("text")
        if isinstance(text, str) and len(text) > TOP_TEXT:
            problems.append(f"top-level text of {len(text)} chars")
        if method in ("chat.postMessage", "chat.update") and not (text or blocks):
            problems.append("a message with neither text nor blocks")
        problems += check_blocks(blocks)
    elif method in VIEW_METHODS:
        view = _loads(args.get("view")) or {}
        blocks = view.get("blocks") or []
        if len(blocks) > VIEW_BLOCKS:
            problems.append(f"{len(blocks)} blocks in a view (max {VIEW_BLOCKS})")
        for key in ("title", "submit", "close"):
            if key in view:
                problems += _text(view[key], f"view {key}", VIEW_TITLE, plain_only=True)
        if view.get("type") == "modal" and "title" not in view:
            problems.append("a modal without a title")
        if len(view.get("private_metadata") or "") > PRIVATE_METADATA:
            problems.append("private_metadata over 3000 chars")
        problems += check_blocks(blocks)
    return problems


def check_blocks(blocks: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    block_ids: list[str] = []
    for i, b in enumerate(blocks):
        where = f"block {i} ({b.get('type')})"
        if "block_id" in b:
            block_ids.append(b["block_id"])
            if len(b["block_id"]) > ID_MAX:
                problems.append(f"{where}: block_id over {ID_MAX} chars")
        t = b.get("type")
        if t == "section":
            if "text" not in b and "fields" not in b:
                problems.append(f"{where}: a section needs text or fields")
            if "text" in b:
                problems += _text(b["text"], where, SECTION_TEXT)
            fields = b.get("fields") or []
            if len(fields) > SECTION_FIELDS:
                problems.append(f"{where}: {len(fields)} fields (max {SECTION_FIELDS})")
            for f in fields:
                problems += _text(f, f"{where} field", FIELD_TEXT)
            if "accessory" in b:
                problems += _element(b["accessory"], f"{where} accessory")
        elif t == "header":
            problems += _text(b.get("text"), where, HEADER_TEXT, plain_only=True)
        elif t == "context":
            els = b.get("elements") or []
            if not els or len(els) > CONTEXT_ELEMENTS:
                problems.append(f"{where}: {len(els)} elements (1 to {CONTEXT_ELEMENTS})")
            for e in els:
                if e.get("type") in ("plain_text", "mrkdwn"):
                    problems += _text(e, where, 2000)
        elif t == "actions":
            els = b.get("elements") or []
            if not els or len(els) > ACTIONS_ELEMENTS:
                problems.append(f"{where}: {len(els)} elements (1 to {ACTIONS_ELEMENTS})")
            ids = [e.get("action_id") for e in els if e.get("action_id")]
            if len(ids) != len(set(ids)):
                problems.append(f"{where}: duplicate action_ids {ids}")
            for e in els:
                problems += _element(e, where)
        elif t == "input":
            problems += _text(b.get("label"), f"{where} label", INPUT_LABEL, plain_only=True)
            if "hint" in b:
                problems += _text(b["hint"], f"{where} hint", INPUT_HINT, plain_only=True)
            problems += _element(b.get("element") or {}, where)
        elif t in ("divider", "image", "rich_text", "file", "video", "markdown"):
            pass
        else:
            problems.append(f"{where}: unknown block type")
    if len(block_ids) != len(set(block_ids)):
        problems.append(f"duplicate block_ids {block_ids}")
    return problems


def _element(e: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    t = e.get("type")
    where = f"{where} {t}"
    if len(e.get("action_id") or "") > ID_MAX:
        problems.append(f"{where}: action_id over {ID_MAX} chars")
    if t == "button":
        problems += _text(e.get("text"), where, BUTTON_TEXT, plain_only=True)
        if len(e.get("value") or "") > BUTTON_VALUE:
            problems.append(f"{where}: value of {len(e['value'])} chars (max {BUTTON_VALUE})")
        if e.get("style") not in (None, "primary", "danger"):
            problems.append(f"{where}: style {e.get('style')!r}")
    if "placeholder" in e:
        problems += _text(e["placeholder"], f"{where} placeholder", PLACEHOLDER,
                          plain_only=True)
    opts = e.get("options")
    if opts is not None:
        limit = RADIO_OPTIONS if t in ("radio_buttons", "checkboxes") else SELECT_OPTIONS
        if not opts or len(opts) > limit:
            problems.append(f"{where}: {len(opts)} options (1 to {limit})")
        values = [o.get("value") for o in opts]
        if len(values) != len(set(values)):
            problems.append(f"{where}: duplicate option values")
        for o in opts:
            problems += _option(o, where)
    if "initial_option" in e:
        problems += _option(e["initial_option"], f"{where} initial")
        if opts is not None and e["initial_option"] not in opts:
            problems.append(f"{where}: initial_option is not one of the options")
    return problems


def _option(o: dict[str, Any], where: str) -> list[str]:
    problems = _text(o.get("text"), f"{where} option", OPTION_TEXT)
    if not o.get("value") or len(o["value"]) > OPTION_VALUE:
        problems.append(f"{where}: option value of {len(o.get('value') or '')} chars "
                        f"(1 to {OPTION_VALUE})")
    return problems


def _text(obj: Any, where: str, limit: int, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        return [f"{where}: not a text object: {obj!r}"[:200]]
    if plain_only and obj["type"] != "plain_text":
        return [f"{where}: must be plain_text"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"{where}: empty text"]
    if len(text) > limit:
        return [f"{where}: text of {len(text)} chars (max {limit})"]
    return []
