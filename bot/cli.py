"""The ``gradebot`` command line: run the bot, grade in the terminal, look-ups, admin tasks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlmodel import Session

from bot.cli_data import WorkspaceOption, db_app, export_app, import_app, workspace_named
from bot.cli_settings import settings_app
from bot.config import ConfigError, load_settings
from bot.services import Services, build_services
from scoring import WorksheetError, load_worksheet
from storage import people as people_db
from storage.errors import InvalidInput
from storage.models import Person, Workspace

app = typer.Typer(
    name="gradebot",
    help="Grade your customers so you invest more in the good ones.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
worksheet_app = typer.Typer(help="Inspect and validate worksheet files.", no_args_is_help=True)
app.add_typer(worksheet_app, name="worksheet")
people_app = typer.Typer(help="Roles: reps, managers and admins.", no_args_is_help=True)
app.add_typer(people_app, name="people")
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(settings_app, name="settings")

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)
T = TypeVar("T")

AsOption = Annotated[str | None, typer.Option("--as", help="Who you are (default: your login)")]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one clear line (no traceback) and exit."""
    err.print(f"[red]✗[/red] {message}", markup=True, soft_wrap=True)
    return typer.Exit(code)


def services(**kw: object) -> Services:
    try:
        return build_services(load_settings(), **kw)  # type: ignore[arg-type]
    except ConfigError as exc:
        raise fail(str(exc)) from None


def guarded(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except ConfigError as exc:
        raise fail(str(exc)) from None


@app.command()
def chat(
    customer: Annotated[str | None, typer.Argument(help="Start grading this customer")] = None,
    as_: AsOption = None,
) -> None:
    """Grade customers in the terminal (the same conversation as in Slack)."""
    from bot.terminal import TerminalChat

    sv = services()
    actor, person = sv.local_actor(as_)
    console.print(f"[dim]Database: {sv.settings.database_url} · you are "
                  f"{person.display_name}[/dim]", markup=True)
    describe = getattr(sv.interpreter, "describe", None)
    if describe is not None:  # which model reads free text, and whether it only suggests
        console.print(f"[dim]{escape(describe())}[/dim]", markup=True)
    TerminalChat(sv, actor, console, lambda p: console.input(p, markup=False)).run(customer)


@app.command("customer")
def customer_cmd(name: Annotated[str, typer.Argument(help="Customer name")],
                 as_: AsOption = None) -> None:
    """Show a customer's latest grade (exit code 1 when there is no such customer to see).
    Managers: "Acme override B until 2027-03-01 because …", "Acme override remove",
    "Acme overrides" (docs/opinions.md)."""
    from bot.lookups import CustomerCard
    from bot.terminal import render_card, render_text_view
    from bot.trust import OverrideResult, TextView

    sv = services()
    _, person = sv.local_actor(as_)
    result = sv.customer(person, name)
    if not isinstance(result, OverrideResult):
        render_card(console, result, sv.dimension_names)
        if not isinstance(result, CustomerCard):
            raise typer.Exit(1)
        return
    render_text_view(console, result.view)
    for who, said in result.notices:  # (the terminal has no one else's chat to write to)
        console.print(f"[dim]→ for {escape(who.display_name)}: {escape(said)}[/dim]")
    if not isinstance(result.view, TextView):
        raise typer.Exit(1)


@app.command("grades")
def grades_cmd(arg: Annotated[str, typer.Argument(help="overdue, or a person")] = "",
               as_: AsOption = None) -> None:
    """List your book sorted by grade (or someone's, if you manage them)."""
    from bot.lookups import Denied, book_view
    from bot.terminal import render_book

    sv = services()
    _, person = sv.local_actor(as_)
    with sv.session() as s:
        view = book_view(s, person, arg, sv.clock())
        render_book(console, view)
    if isinstance(view, Denied):
        raise typer.Exit(1)  # refused: scripts must not take it for an answer


@app.command("portfolio")
def portfolio_cmd(as_: AsOption = None,
                  team: Annotated[bool, typer.Option(help="Your team's book")] = False,
                  optimism: Annotated[bool, typer.Option(
                      help="Managers: each rep's grades against second opinions")] = False
                  ) -> None:
    """The balance of the three goods in your book against the target."""
    from bot.lookups import Denied, portfolio_view
    from bot.terminal import render_portfolio, render_text_view
    from bot.trust import Refused

    sv = services()
    _, person = sv.local_actor(as_)
    if optimism:
        view = sv.optimism(person)
        render_text_view(console, view)
        if isinstance(view, Refused):
            raise typer.Exit(1)
        return
    with sv.session() as s:
        view = portfolio_view(s, person, sv.worksheet, sv.clock(), team=team)
        render_portfolio(console, view)
    if isinstance(view, Denied):
        raise typer.Exit(1)  # a rep asking for --team: told it needs a manager role


llm_app = typer.Typer(help="The language model that reads free-text answers (optional).",
                      no_args_is_help=True)
app.add_typer(llm_app, name="llm")


@llm_app.command("check")
def llm_check(
    suite: Annotated[str, typer.Option(
        help="eval_cases, eval_holdout, both, or a YAML file of cases")] = "both",
    workers: Annotated[int, typer.Option(help="Calls in parallel (1 for a CPU model)")] = 1,
    save: Annotated[bool, typer.Option(help="Remember the verdict for start-up")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v",
                                          help="Print every reply, not only wrong ones")] = False,
) -> None:
    """Score the configured model on the evaluation set: correct / wrong / refused, latency
    per call. Exit 1 when it misreads too much (the bot then only suggests with it)."""
    from bot.llm import LLMInterpreter
    from bot.llm_check import load_cases, run_check
    from bot.llm_check import save as save_verdict

    settings = guarded(load_settings)
    if not settings.llm_configured:
        raise fail("No model configured: set GRADEBOT_LLM_MODEL and OPENAI_BASE_URL or "
                   "OPENAI_API_KEY (see docs/llm.md).")
    ws = guarded(settings.load_worksheet)
    interp = LLMInterpreter.from_settings(settings, cooldown=0.0)  # measured as if trusted
    names = ["eval_cases", "eval_holdout"] if suite == "both" else [suite]
    try:
        cases = [c for n in names for c in load_cases(n)]
    except (OSError, ValueError, KeyError) as exc:
        raise fail(f"cannot read the cases: {exc}") from None
    cases = [c for c in cases if c.q in ws.question_map]

    def show(r: Any) -> None:
        if verbose or r.status in ("wrong", "failed"):
            mark = {"correct": "[green]✓[/green]", "wrong": "[red]✗[/red]",
                    "refused": "[yellow]·[/yellow]", "failed": "[red]![/red]"}[r.status]
            rec = " [red]RECORDED[/red]" if r.status == "wrong" and r.recorded else ""
            console.print(f"{mark} {r.seconds:5.2f}s {r.outcome:8} {escape(r.case.q)}: "
                          f"{escape(repr(r.case.text))} → {escape(repr(r.value))}"
                          f" (expected {escape(repr(r.case.expect))}){rec}", markup=True)

    report = run_check(interp, ws, cases, model=str(settings.llm_model),
                       base_url=settings.openai_base_url or "", suite="+".join(names),
                       workers=workers, progress=show)
    for line in report.summary_lines():
        console.print(escape(line), markup=True)
    if save:
        console.print(f"[dim]Saved to {escape(str(save_verdict(settings, report)))}[/dim]",
                      markup=True)
    if not report.passed:
        raise typer.Exit(1)


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="HTTP port (HTTP mode, and /healthz)")] = 3000,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "0.0.0.0",
) -> None:
    """Run the bot: socket mode when SLACK_APP_TOKEN is set, else HTTP at /slack/events."""
    from bot.runner import run_server

    sv = services()
    try:
        run_server(sv, host=host, port=port)
    except ConfigError as exc:
        raise fail(str(exc)) from None


@app.command()
def remind(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show who would be reminded "
                                          "(nothing is claimed or sent)")] = False,
    now: Annotated[bool, typer.Option("--now", help="Run one real sweep through Slack")] = False,
    at: Annotated[str | None, typer.Option(help="With --dry-run: the moment to plan for, ISO "
                                           "(no offset: GRADEBOT_TIMEZONE)")] = None,
    workspace: Annotated[str | None, typer.Option(help="Only this workspace "
                                                  "(platform:id)")] = None,
) -> None:
    """Reminders: who is due (--dry-run [--at 2027-01-04T09:30]) or send them (--now)."""
    from bot.reminders import cli as remind_cli

    if dry_run == now:
        raise fail("Use exactly one of --dry-run or --now.")
    sv = services()
    try:
        if dry_run:
            when = remind_cli.parse_at(at, sv.settings.timezone, sv.clock())
            remind_cli.render_plan(console, remind_cli.dry_run(sv, when, workspace), when)
            remind_cli.render_unreachable(console, remind_cli.unreachable(sv, when, workspace))
        else:
            code = remind_cli.print_report(console, err, remind_cli.sweep_now(sv))
            if code:
                raise typer.Exit(code)
    except ConfigError as exc:
        raise fail(str(exc)) from None


def _person(s: Session, ws: Workspace, key: str) -> Person:
    person = people_db.find_person(s, ws.id, key)  # type: ignore[arg-type]
    if person is None:
        raise fail(f"No person {key!r} in this workspace (use a user id, email or name).")
    return person


@people_app.command("list")
def people_list(workspace: WorkspaceOption = "cli:local") -> None:
    """Everyone the bot knows in a workspace, with role and manager."""
    from rich.table import Table

    sv = services()
    with sv.session() as s:
        ws = workspace_named(s, workspace, create_local=False)
        people = people_db.people_of(s, ws.id)  # type: ignore[arg-type]
        names = {p.id: p.display_name for p in people}
        t = Table()
        for col in ("User id", "Name", "Email", "Role", "Manager"):
            t.add_column(col)
        for p in people:
            uid = "(not seen yet)" if people_db.is_pending(p) else p.external_id
            t.add_row(uid, p.display_name, p.email or "", p.role,
                      names.get(p.manager_id, "") if p.manager_id else "")
        console.print(t)


@people_app.command("set-role")
def people_set_role(
    who: Annotated[str, typer.Argument(help="User id, email or display name")],
    role: Annotated[str, typer.Argument(help="rep, manager or admin")],
    manager: Annotated[str | None, typer.Option(help="Their manager (id, email or name)")] = None,
    workspace: WorkspaceOption = "cli:local",
) -> None:
    """Make someone a rep, manager or admin, and optionally set their manager."""
    sv = services()
    with sv.session() as s:
        ws = workspace_named(s, workspace, create_local=False)
        person = _person(s, ws, who)
        boss = _person(s, ws, manager) if manager else None
        try:
            people_db.set_role(s, person, role, boss)
        except InvalidInput as exc:
            raise fail(str(exc)) from None
        console.print(f"✓ {person.display_name} is now a {role}"
                      + (f" reporting to {boss.display_name}" if boss else "") + ".")


@worksheet_app.command("check")
def worksheet_check(
    path: Annotated[Path | None, typer.Argument(help="Worksheet YAML (default: the shipped one)")]
    = None,
) -> None:
    """Validate a worksheet file and summarise it."""
    try:
        ws = load_worksheet(path)
    except WorksheetError as exc:
        raise fail(str(exc)) from None
    console.print(f"[green]✓[/green] {ws.title} (id {ws.id}, version {ws.version}): "
                  f"{len(ws.dimensions)} dimensions, "
                  f"{len(ws.questions_for('annual'))} annual and "
                  f"{len(ws.questions_for('quarterly'))} quarterly questions")


@worksheet_app.command("rescore")
def worksheet_rescore(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the changes, write nothing "
                                                            "(the only mode)")] = False,
    workspace: Annotated[str | None, typer.Option(
        help="Only this workspace (platform:external_id, e.g. slack:T0123)")] = None,
    show: Annotated[int, typer.Option(help="List at most this many changed grades")] = 20,
) -> None:
    """How every stored grade would change under the current worksheet: letter before →
    after, with counts. Stored grades are never rewritten (they keep the worksheet version
    they were made with), so only --dry-run exists."""
    from bot.rescore import NO_LETTER, rescore
    from storage import grades as grades_db
    from storage.engine import session_scope

    if not dry_run:
        raise fail("Stored grades are never rewritten; run it with --dry-run to see what the "
                   "current worksheet would change.")
    sv = services(migrate=False)
    with session_scope(sv.db) as s:
        ws_id = workspace_named(s, workspace, create_local=False).id if workspace else None
        report = rescore(sv.worksheet, grades_db.stored_grades(s, ws_id))
        s.rollback()  # a dry run: nothing was changed, and nothing is kept
    console.print(f"Re-scoring {report.grades:,} stored grades with worksheet "
                  f"{report.worksheet} (dry run: nothing is written).")
    if not report.grades:
        return
    t = Table(title="Letter before → after")
    for column in ("before", "after", "grades"):
        t.add_column(column, justify="right" if column == "grades" else "left")
    for (before, after), n in sorted(report.transitions.items()):
        t.add_row(before, after if after != before else f"{after} (same)", f"{n:,}")
    console.print(t)
    console.print(f"{len(report.changed):,} would change letter, {report.unchanged:,} "
                  f"would keep it ({sum(1 for r in report.changed if r.letter == NO_LETTER):,}"
                  " would have too few answers for a letter).")
    for r in report.changed[:show]:
        g = r.stored
        now = "no letter" if r.total is None or r.letter == NO_LETTER else \
            f"{r.letter} {r.total:g}" + (" provisional" if r.provisional else "")
        console.print(f"  {escape(g.customer)} · {g.created_at.date().isoformat()} "
                      f"{g.cadence} (v{g.worksheet_version}): {g.letter} {g.total:g} → {now}")
    if len(report.changed) > show:
        console.print(f"  …and {len(report.changed) - show:,} more (--show N).")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
