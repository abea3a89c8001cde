"""Which Teams card of a grading a rep can still tap: only the latest one.

Slack's delivery retires old messages; Teams must too, or a tap on a card left over from
before a typed answer lands on a question that has moved on. So every conversation card the
bot posts for a grading is remembered on the session (``refs["teams:live"]``: the activity id
and the card itself), and whatever replaces it — a typed answer, back, change, save, the next
card — first takes its buttons away (an update of that activity through the Bot Connector).
Only "Change" buttons survive: changing an answer is always a fair thing to ask for.

The engine still refuses a stale tap on its own (the tap carries its question id), so a card
that could not be retired (a failed update) never changes an answer silently.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from sqlalchemy import Engine

from bot.engine import Prompt
from bot.engine import options as opts
from bot.services import Conflict, NotFound
from bot.threads import Threads

log = logging.getLogger("gradebot.teams")
KEY = "teams:live"


def _kept(value: object) -> bool:
    """The buttons a retired card keeps: Change (changing an answer is always fair)."""
    chosen = opts.decode_or_none(str(value))
    return isinstance(chosen, opts.Command) and chosen.word == "change"


def session_of(prompts: list[Prompt]) -> int | None:
    return next((p.session_id for p in prompts if p.session_id is not None), None)


def asks(card: dict[str, Any], question_id: str) -> bool:
    """Whether ``card`` (as JSON) offers answers to ``question_id``: the card a typed answer
    to that question answers, like a tap on it would."""
    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                yield opts.decode_or_none(str((node.get("data") or {}).get("value", "")))
            for v in node.values():
                yield from walk(v)
        elif isinstance(node, list):
            for v in node:
                yield from walk(v)

    return any(isinstance(o, opts.Answer | opts.Confirm) and o.question_id == question_id
               for o in walk(card))


def retired(card: dict[str, Any]) -> dict[str, Any]:
    """``card`` without the buttons and menus a rep could still tap (Change stays)."""
    out = copy.deepcopy(card)

    def keep(node: Any) -> bool:
        if not isinstance(node, dict):
            return True
        if node.get("type") == "Input.ChoiceSet" and str(node.get("id", "")).startswith("menu_"):
            return False
        if node.get("type") == "Action.Execute":
            return _kept((node.get("data") or {}).get("value", ""))
        return True

    def prune(node: Any) -> Any:
        if isinstance(node, dict):
            for k, v in list(node.items()):
                if isinstance(v, list):
                    node[k] = [prune(x) for x in v if keep(x)]
                    if k == "actions" and not node[k]:
                        node.pop(k)
                else:
                    node[k] = prune(v)
        return node

    prune(out)

    def drop_empty_sets(node: Any) -> Any:
        if isinstance(node, dict):
            for k, v in list(node.items()):
                if isinstance(v, list):
                    node[k] = [drop_empty_sets(x) for x in v
                               if not (isinstance(x, dict) and x.get("type") == "ActionSet"
                                       and not x.get("actions"))]
        return node

    return drop_empty_sets(out)


def load(db: Engine, session_id: int) -> dict[str, Any] | None:
    """{"id": activity id, "card": card JSON} of the session's live card, if any."""
    thread = Threads(db).find(session_id)
    live = thread.refs.get(KEY) if thread is not None else None
    return dict(live) if isinstance(live, dict) and live.get("id") else None


def store(db: Engine, session_id: int, live: dict[str, Any] | None) -> None:
    """Remember the live card (None: no card of this grading can be tapped any more)."""
    threads = Threads(db)
    try:
        if live is None:
            threads.update(session_id, drop=(KEY,))
        else:
            threads.update(session_id, refs={KEY: live})
    except NotFound:
        return
    except Conflict:
        log.warning("Teams: could not store the live card of session %s", session_id)
