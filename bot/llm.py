"""The LLM interpreter (openai). Until it is configured, the rules do all the reading."""

from __future__ import annotations

from bot.config import Settings
from bot.interpret import Interpreter, RulesInterpreter


def build_interpreter(settings: Settings) -> Interpreter:
    return RulesInterpreter()
