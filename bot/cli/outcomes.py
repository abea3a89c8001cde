"""Outcome and calibration commands: ``gradebot outcome add|list|due``, ``gradebot import
outcomes FILE.csv`` and ``gradebot calibrate [--chart FILE.png]``.

Heavy imports (the database, scikit-learn, matplotlib) happen inside the commands, so
``gradebot --help`` and every other command stay fast, and a missing optional extra is one
line saying how to install it.

Exit codes: 0 done; 1 refused (no such customer, too few outcomes, scikit-learn missing,
rows not imported); 2 a wrong argument or setting.
"""

from __future__ import annotations

import getpass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.context import WorkspaceOption, open_database, settings, workspace_named
from bot.cli.importing import ImportWorkspaceOption, MapOption, _options, _run_import, import_app
from bot.cli.output import REFUSED, console, fail

if TYPE_CHECKING:
    from sqlmodel import Session

    from storage.models import Customer, Person, Workspace

# storage.outcomes.KIND_CHOICES, spelt out: the help text is built with the command tree, and
# importing storage for it would load SQLModel on every `gradebot` (tests/cli/test_outcomes.py
# checks that the two agree).
KINDS = "renewed, expanded, churned, defaulted_or_paid_late, referred, exited_by_us"

outcome_app = typer.Typer(
    help="Outcomes: what happened to customers (renewed, churned, …).", no_args_is_help=True
)


def local_today() -> date:
    """Today in GRADEBOT_TIMEZONE: an outcome dated after it is refused."""
    from bot.zones import zone

    return datetime.now(zone(settings().timezone)).date()


def _customer(s: Session, ws: Workspace, name: str) -> Customer:
    from storage import customers as customers_db

    match = customers_db.find_customer(s, ws.id, name, include_archived=True)
    if match.exact is not None:
        return match.exact
    hint = ", ".join(c.name for c in match.suggestions)
    fail(
        f"No customer {name.strip()[:80]!r}" + (f" (did you mean {hint}?)" if hint else "") + ".",
        code=REFUSED,
    )


def _recorder(s: Session, ws: Workspace, who: str | None) -> Person | None:
    """``--by`` (must be known), else your login if the workspace knows it, else nobody."""
    from storage import people as people_db

    if who:
        person = people_db.find_person(s, ws.id, who)
        if person is None:
            fail(f"--by {who!r}: no such person in this workspace (a user id, email or name).")
        return person
    return people_db.find_person(s, ws.id, getpass.getuser())


@outcome_app.command("add")
def outcome_add(
    customer: Annotated[str, typer.Argument(help="Customer name")],
    kind: Annotated[str, typer.Argument(help=f"One of: {KINDS}")],
    on: Annotated[
        str | None, typer.Option("--on", help="The day it happened, YYYY-MM-DD (default today)")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Why, in a sentence")] = None,
    by: Annotated[
        str | None, typer.Option(help="Who records it (default: your login, if known)")
    ] = None,
    workspace: WorkspaceOption = "cli:local",
) -> None:
    """Record what happened to a customer (stored once per customer, kind and day)."""
    from rich.text import Text

    from storage import outcomes as outcomes_db
    from storage.days import parse_day
    from storage.engine import session_scope
    from storage.errors import InvalidInput, StorageError
    from storage.models import OutcomeSource
    try:
        what = outcomes_db.parse_kind(kind)
        today = local_today()
        day = parse_day(on, today) if on else today
        outcomes_db.clean_note(note)
    except InvalidInput as exc:
        fail(str(exc))
    with open_database(migrate=False) as engine, session_scope(engine) as s:
        ws = workspace_named(s, workspace, create_local=False)
        c = _customer(s, ws, customer)
        try:
            done = outcomes_db.record_outcome(
                s,
                c,
                what,
                day,
                source=OutcomeSource.CLI,
                today=today,
                recorded_by=_recorder(s, ws, by),
                note=note,
            )
        except InvalidInput as exc:
            fail(str(exc))
        except StorageError as exc:
            fail(str(exc), code=REFUSED)
        name = c.name
    said = "Recorded" if done.created else "Already recorded"
    console.print(Text(f"✓ {said}: {name} {what.value.replace('_', ' ')} on {day.isoformat()}."))


@outcome_app.command("list")
def outcome_list(
    customer: Annotated[str | None, typer.Argument(help="Only this customer")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many")] = 50,
    workspace: WorkspaceOption = "cli:local",
) -> None:
    """The newest outcomes first (of one customer, or all)."""
    from rich.table import Table
    from rich.text import Text

    from storage import outcomes as outcomes_db
    from storage.engine import session_scope
    with open_database(migrate=False) as engine, session_scope(engine) as s:
        ws = workspace_named(s, workspace, create_local=False)
        cid = _customer(s, ws, customer).id if customer else None
        rows = outcomes_db.list_outcomes(s, ws.id, cid, limit)
        total = outcomes_db.count_outcomes(s, ws.id)
    if not rows:
        console.print(
            "No outcomes recorded yet (gradebot outcome add, or gradebot import outcomes FILE.csv)."
        )
        return
    t = Table()
    for column in ("Day", "Customer", "Outcome", "Source", "Recorded by", "Note"):
        t.add_column(column, overflow="fold")
    for r in rows:
        t.add_row(
            r.happened_on.isoformat(),
            Text(r.customer),
            r.kind.replace("_", " "),
            r.source,
            Text(r.recorded_by or ""),
            Text(r.note or ""),
        )
    console.print(t)
    if customer is None and total > len(rows):
        console.print(f"{len(rows)} of {total:,} shown (--limit N).")


@outcome_app.command("due")
def outcome_due(workspace: WorkspaceOption = "cli:local") -> None:
    """Customers whose renewal date has passed with no renewal, expansion, churn or exit
    recorded for it, oldest first: ask their owners what happened, then record it."""
    from rich.table import Table
    from rich.text import Text

    from storage import outcomes as outcomes_db
    from storage.engine import session_scope
    with open_database(migrate=False) as engine, session_scope(engine) as s:
        ws = workspace_named(s, workspace, create_local=False)
        due = outcomes_db.renewals_due(s, ws.id, local_today())
    if not due:
        console.print("No renewal date has passed without an outcome recorded for it.")
        return
    t = Table(title=f"{len(due):,} renewals to confirm", title_justify="left")
    for column in ("Renewal date", "Customer", "Owner"):
        t.add_column(column, overflow="fold")
    for r in due:
        t.add_row(r.renewal_on.isoformat(), Text(r.customer), Text(r.owner or "(no owner)"))
    console.print(t)
    console.print(
        Text(
            'Record each: gradebot outcome add "CUSTOMER" renewed|expanded|churned '
            "--on YYYY-MM-DD (or import them: gradebot import outcomes FILE.csv)."
        ),
        soft_wrap=True,
    )


def import_outcomes_cmd(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with a header: customer (or external_ref), kind (renewed, expanded, "
            "churned, defaulted_or_paid_late, referred, exited_by_us), happened_on "
            "(YYYY-MM-DD), note (optional). UTF-8.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    columns: MapOption = None,
    all_or_nothing: Annotated[
        bool, typer.Option("--all-or-nothing", help="Import nothing if any row is bad")
    ] = False,
    workspace: ImportWorkspaceOption = "cli:local",
) -> None:
    """Record outcomes (renewed, churned, …) from a CSV file.

    A row recorded already (same customer, kind and day) is left as it is, so a file can
    be imported again. Every problem of every bad row is reported, grouped by reason,
    and the bad rows are written to FILE.rejected.csv to fix and import. Exit code 1
    when any row was not imported."""
    from bot.imports import ImportKind

    _run_import(
        ImportKind.OUTCOMES,
        file,
        workspace,
        _options(columns, None, all_or_nothing, False),
        today=local_today(),
    )


def calibrate_cmd(
    chart: Annotated[
        Path | None,
        typer.Option(
            "--chart",
            help="Also save the chart (outcomes per letter, reliability) as PNG",
            dir_okay=False,
        ),
    ] = None,
    workspace: WorkspaceOption = "cli:local",
) -> None:
    """Check grades against what happened to the customers (docs/calibration.md).

    For every outcome, the grade made at least 90 days before it: per letter what
    happened; how well the total separates churners (AUC) and how well-calibrated it is
    (Brier); which questions carried the signal; suggested dimension weights with
    intervals. Refused (exit 1) with fewer than 50 outcomes.

    Needs scikit-learn: pip install 'gradebot[calibrate]'."""
    from rich.text import Text

    from bot.calibration_card import calibration_result
    from bot.cli.context import worksheet
    from bot.trust import Refused
    from storage import outcomes as outcomes_db
    from storage.engine import session_scope

    ws_sheet = worksheet()
    with open_database(migrate=False) as engine, session_scope(engine) as s:
        ws = workspace_named(s, workspace, create_local=False)
        shown = ws.name or workspace
        data = outcomes_db.calibration_data(s, ws.id)
        s.rollback()  # read only
    result = calibration_result(ws_sheet, data)  # (the same lines as the chat card's)
    if isinstance(result, Refused):
        fail(result.message, code=REFUSED)
    report = result.report
    from bot.calibration_view import render

    render(console, report, data)
    if chart is not None:
        from bot.calibration_chart import save_chart

        try:
            save_chart(report, chart, title=f"Calibration · {shown}")
        except OSError as exc:
            fail(f"Cannot write {chart}: {exc.strerror or exc}", code=REFUSED)
        console.print(Text(f"✓ Chart written to {chart}"))


def register(app: typer.Typer) -> None:
    app.add_typer(outcome_app, name="outcome")
    import_app.command("outcomes")(import_outcomes_cmd)
    app.command("calibrate")(calibrate_cmd)
