"""The channel-neutral conversation engine: inputs in, prompts (plain data) out."""

from bot.engine.conversation import Actor, Conversation
from bot.engine.inputs import Choose, Input, Start, Text, parse_grade_args
from bot.engine.prompts import Kind, Option, Prompt, Reply

__all__ = ["Actor", "Choose", "Conversation", "Input", "Kind", "Option", "Prompt", "Reply",
           "Start", "Text", "parse_grade_args"]
