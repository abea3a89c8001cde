"""The channel-neutral conversation engine: inputs in, prompts (plain data) out.

``docs/protocol.md`` describes the protocol: option values (``bot.engine.options``), prompts,
echoes, the end of a session, and the shared API channels call.
"""

from bot.engine.conversation import Actor, Conversation
from bot.engine.form import FormRefused, FormState
from bot.engine.inputs import Choose, Input, Start, Text, parse_grade_args
from bot.engine.kinds import SessionKind
from bot.engine.prompts import Kind, Option, Prompt, Reply

__all__ = ["Actor", "Choose", "Conversation", "FormRefused", "FormState", "Input", "Kind",
           "Option", "Prompt", "Reply", "SessionKind", "Start", "Text", "parse_grade_args"]
