"""The channel-neutral conversation engine: inputs in, prompts (plain data) out.

``docs/protocol.md`` describes the protocol: option values (``bot.engine.options``), prompts,
echoes, the end of a session, and the shared API channels call.

The names below are loaded when first used (PEP 562): ``from bot.engine.options import
pick`` (a look-up's button) must not pay for importing the whole conversation engine, which
every CLI look-up would otherwise do at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.engine.actor import Actor
    from bot.engine.conversation import Conversation
    from bot.engine.form import FormRefused, FormState
    from bot.engine.inputs import Choose, Input, Start, Text, parse_grade_args
    from bot.engine.kinds import SessionKind
    from bot.engine.prompts import Kind, Option, Prompt, Reply

_WHERE = {
    "Actor": "actor", "Conversation": "conversation",
    "FormRefused": "form", "FormState": "form",
    "Choose": "inputs", "Input": "inputs", "Start": "inputs", "Text": "inputs",
    "parse_grade_args": "inputs",
    "SessionKind": "kinds",
    "Kind": "prompts", "Option": "prompts", "Prompt": "prompts", "Reply": "prompts",
}

__all__ = ["Actor", "Choose", "Conversation", "FormRefused", "FormState", "Input", "Kind",
           "Option", "Prompt", "Reply", "SessionKind", "Start", "Text", "parse_grade_args"]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'bot.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"bot.engine.{module}"), name)
    globals()[name] = value  # once
    return value
