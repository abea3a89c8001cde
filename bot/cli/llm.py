"""``gradebot llm check``: score the configured language model on the evaluation set."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.context import settings
from bot.cli.output import REFUSED, console, fail

if TYPE_CHECKING:
    from bot.llm_check import CaseResult

llm_app = typer.Typer(help="The language model that reads free-text answers (optional).",
                      no_args_is_help=True)

_MARKS = {"correct": "[green]✓[/green]", "wrong": "[red]✗[/red]",
          "refused": "[yellow]·[/yellow]", "failed": "[red]![/red]"}


def _show(r: CaseResult) -> None:
    from rich.markup import escape

    rec = " [red]RECORDED[/red]" if r.status == "wrong" and r.recorded else ""
    console.print(f"{_MARKS[r.status]} {r.seconds:5.2f}s {r.outcome:8} {escape(r.case.q)}: "
                  f"{escape(repr(r.case.text))} → {escape(repr(r.value))}"
                  f" (expected {escape(repr(r.case.expect))}){rec}", markup=True)


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
    from rich.markup import escape

    from bot.config import ConfigError
    from bot.llm import LLMInterpreter
    from bot.llm_check import load_cases, run_check
    from bot.llm_check import save as save_verdict

    st = settings()
    if not st.llm_configured:
        fail("No model configured: set GRADEBOT_LLM_MODEL and OPENAI_BASE_URL or "
             "OPENAI_API_KEY (see docs/llm.md).")
    try:
        ws = st.load_worksheet()
    except ConfigError as exc:
        fail(str(exc))
    interp = LLMInterpreter.from_settings(st, cooldown=0.0)  # measured as if trusted
    names = ["eval_cases", "eval_holdout"] if suite == "both" else [suite]
    try:
        cases = [c for n in names for c in load_cases(n)]
    except (OSError, ValueError, KeyError) as exc:
        fail(f"cannot read the cases: {exc}")
    cases = [c for c in cases if c.q in ws.question_map]

    def progress(r: CaseResult) -> None:
        if verbose or r.status in ("wrong", "failed"):
            _show(r)

    report = run_check(interp, ws, cases, model=str(st.llm_model),
                       base_url=st.openai_base_url or "", suite="+".join(names),
                       workers=workers, progress=progress)
    for line in report.summary_lines():
        console.print(escape(line), markup=True)
    if save:
        console.print(f"[dim]Saved to {escape(str(save_verdict(st, report)))}[/dim]",
                      markup=True)
    if not report.passed:
        raise typer.Exit(REFUSED)


def register(app: typer.Typer) -> None:
    app.add_typer(llm_app, name="llm")
