"""Who is talking to the engine: ids in our database, resolved by the channels.

A module of its own (``bot.engine.conversation`` re-exports it) so that resolving the person
behind a look-up (``Services.actor``) does not load the whole conversation engine.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is talking: ids in our database (channels resolve platform ids to these)."""

    workspace_id: int
    person_id: int
    platform: str = "cli"
    # where they talk from, when one person may have a grading open in several places at
    # once (each ``gradebot chat`` process is a place of its own); default: the platform
    place: str = ""

    @property
    def where(self) -> str:
        return self.place or self.platform
