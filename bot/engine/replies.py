"""The two plainest prompts, shared by the conversation and the strategic review."""

from __future__ import annotations

from bot.engine.prompts import Kind, Prompt
from storage.models import GradingSession


def info(gs: GradingSession | None, text: str, detail: str = "") -> Prompt:
    return Prompt(kind=Kind.INFO, text=text, detail=detail, session_id=gs.id if gs else None)


def error(text: str, gs: GradingSession | None = None) -> Prompt:
    return Prompt(kind=Kind.ERROR, text=text, session_id=gs.id if gs else None)
