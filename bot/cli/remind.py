"""What ``gradebot remind`` does: show what a sweep would send (``--dry-run``) or run one
(``--now``).

The command itself is declared in ``bot.cli.run``; this module is imported only when it runs
(it pulls the reminder planner and the database), never to build ``--help``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from bot.config import ConfigError
from bot.notifiers import PLATFORMS
from bot.reminders.now import SweepNowReport
from bot.reminders.now import sweep_now as sweep_platforms
from bot.reminders.plan import Planned, Unreachable, not_reachable, plan
from bot.services import Services
from bot.zones import zone
from storage import people as people_db
from storage import reminders as reads


def parse_at(value: str | None, default_tz: str, now: datetime) -> datetime:
    """``--at``: an ISO date-time; without an offset it is read in ``default_tz``."""
    if not value:
        return now
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--at: {value!r} is not an ISO date-time like 2027-01-04T09:30")\
            from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=zone(default_tz))
    return at.astimezone(UTC)


def workspace_id(s: Session, spec: str | None) -> int | None:
    if not spec:
        return None
    platform, _, external = spec.partition(":")
    ws = people_db.find_workspace(s, platform, external)
    if ws is None:
        raise ConfigError(f"--workspace: no workspace {spec!r} yet")
    return ws.id


def dry_run(sv: Services, at: datetime, workspace: str | None = None) -> list[Planned]:
    """The reminders a sweep at ``at`` would send, without claiming anything."""
    with sv.session() as s:
        return plan(s, at, platforms=PLATFORMS, workspace_id=workspace_id(s, workspace))


def unreachable(sv: Services, at: datetime, workspace: str | None = None
                ) -> list[Unreachable]:
    """Reps with customers due at ``at`` whom no reminder can reach yet."""
    with sv.session() as s:
        return [u for ws in reads.workspaces(s, PLATFORMS, workspace_id(s, workspace))
                for u in not_reachable(s, ws, at)]


def render_unreachable(console: Console, people: Sequence[Unreachable]) -> None:
    if not people:
        return
    t = Table(title="Not reachable yet (no reminder until they are)")
    for name in ("Person", "Email", "Customers due", "Why"):
        t.add_column(name, overflow="fold")
    for u in people:
        t.add_row(u.person_name, u.email or "", str(u.due), u.why)
    console.print(t)


def render_plan(console: Console, plans: Sequence[Planned], at: datetime) -> None:
    stamp = at.isoformat(timespec="minutes").replace("+00:00", "Z")
    if not plans:
        console.print(f"No reminders due at {stamp}. (Reminders go to Slack and Teams users; "
                      "people who only use gradebot chat are not reminded.)")
        return
    t = Table(title=f"Reminders due at {stamp} (dry run: nothing claimed or sent)")
    for name in ("Person", "Cadence", "Period", "Due since (local)", "Why"):
        t.add_column(name, overflow="fold")
    for p in plans:
        t.add_row(p.person_name, p.cadence.value, p.period,
                  f"{p.at.strftime('%a %Y-%m-%d %H:%M')} {p.timezone}", p.why())
    console.print(t)
    people = len({p.person_id for p in plans})
    console.print(f"{len(plans)} reminder{'s' if len(plans) != 1 else ''} to "
                  f"{people} {'person' if people == 1 else 'people'}.")


def print_report(console: Console, err: Console, report: SweepNowReport) -> int:
    """Print each platform's sweep (and each error on stderr); the exit code."""
    for p in report.platforms:
        if p.report is None:
            console.print(f"{p.platform.capitalize()}: not swept — {p.skipped}.",
                          markup=False)
        else:
            console.print(f"{p.platform.capitalize()}: sweep done: {p.report.summary()}.",
                          markup=False)
    for line in report.errors:
        err.print(f"✗ {line}", markup=False, soft_wrap=True)
    return 1 if report.errors else 0


def sweep_now(sv: Services) -> SweepNowReport:
    """One real sweep on every configured platform (``bot.reminders.now``)."""
    return sweep_platforms(sv.settings, db=sv.db, clock=sv.clock,
                           rules=sv.worksheet.grading)
