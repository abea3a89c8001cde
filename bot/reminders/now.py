"""One sweep now, on every configured platform (``gradebot remind --now``).

Each platform is swept by a ``Sweeper`` of its own, one after the other, so the report says
what happened where; a platform that is not configured is reported as skipped, never
silently left out. The database claims make this safe beside running bots: a reminder the
serve process already sent (or is sending) is not sent again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from bot import notifiers as platforms
from bot.config import ConfigError, Settings
from bot.reminders.sweep import Sweeper, SweepReport
from scoring.worksheet import GradingRules
from storage.engine import make_engine
from storage.types import utcnow


@dataclass(frozen=True)
class PlatformSweep:
    platform: str
    report: SweepReport | None = None  # None: not swept
    skipped: str | None = None  # why not (the platform is not configured)


@dataclass(frozen=True)
class SweepNowReport:
    platforms: list[PlatformSweep]

    @property
    def errors(self) -> list[str]:
        return [f"{p.platform}: {e}" for p in self.platforms if p.report for e in p.report.errors]

    def of(self, platform: str) -> PlatformSweep:
        return next(p for p in self.platforms if p.platform == platform)


def sweep_now(
    settings: Settings,
    *,
    db: Engine | None = None,
    clock: Callable[[], datetime] = utcnow,
    rules: GradingRules | None = None,
) -> SweepNowReport:
    """Sweep every configured platform once, with the worksheet's grading ``rules`` (default:
    the configured worksheet's, so a due line says "stale" exactly when the card does).
    Raises ``ConfigError`` when no platform is configured (there is nothing to send
    through)."""
    reasons = {p: platforms.why_not(settings, p) for p in platforms.PLATFORMS}
    if all(reasons.values()):
        raise ConfigError(
            "no platform to send reminders through: "
            + "; ".join(f"{p}: {why}" for p, why in reasons.items())
            + " (see the Slack and Teams set-up)"
        )
    rules = rules or settings.load_worksheet().grading
    engine = db or make_engine(settings.database_url)
    try:
        return asyncio.run(_sweep_all(settings, engine, clock, rules))
    finally:
        if db is None:
            engine.dispose()


async def _sweep_all(
    settings: Settings, db: Engine, clock: Callable[[], datetime], rules: GradingRules
) -> SweepNowReport:
    out: list[PlatformSweep] = []
    names = {d.id: d.name for d in settings.load_worksheet().dimensions}
    async with platforms.configured(settings, db) as conf:
        for platform in platforms.PLATFORMS:
            notifier = conf.notifiers.get(platform)
            if notifier is None:
                out.append(PlatformSweep(platform, skipped=conf.skipped[platform]))
                continue
            report = await Sweeper(db, [notifier], clock=clock, rules=rules,
                                   dimension_names=names).sweep()
            out.append(PlatformSweep(platform, report=report))
    return SweepNowReport(out)
