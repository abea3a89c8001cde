"""``gradebot calibrate`` in the terminal: the calibration report as rich tables.

The figures come from ``scoring.calibration``; this module only lays them out, with the
sentences that say what each one means (a reader should not need the docs to read it).
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from scoring.calibration import KINDS, Calibration
from storage.outcomes import CalibrationData

TOP_QUESTIONS = 8


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def letters_table(report: Calibration) -> Table:
    t = Table(
        title=f"Outcomes per letter (the grade made ≥ {report.lead_days} days before)",
        title_justify="left",
    )
    t.add_column("Letter")
    for kind in KINDS:
        t.add_column(kind.replace("_", " "), justify="right")
    t.add_column("churn rate", justify="right")
    for row in report.letters:
        t.add_row(
            Text(row.letter), *(f"{row.counts.get(k, 0):,}" for k in KINDS), _pct(row.churn_rate)
        )
    return t


def weights_table(report: Calibration) -> Table:
    t = Table(
        title=f"Dimension weights: now → suggested (95% interval, "
        f"{report.weight_bootstrap} resamples)",
        title_justify="left",
    )
    for column, justify in (
        ("Dimension", "left"),
        ("now", "right"),
        ("suggested", "right"),
        ("interval", "right"),
        ("log-odds / 100 pts", "right"),
    ):
        t.add_column(column, justify=justify)  # type: ignore[arg-type]
    for w in report.weights:
        arrow = "↑" if w.interval.low > w.now else "↓" if w.interval.high < w.now else "≈"
        t.add_row(
            Text(w.name),
            f"{w.now:g}",
            f"{w.suggested:.2f} {arrow}",
            f"{w.interval.low:.2f}–{w.interval.high:.2f}",
            f"{w.coefficient:+.2f}",
        )
    return t


def questions_table(report: Calibration, top: int = TOP_QUESTIONS) -> Table:
    t = Table(
        title="Questions that carried the signal (AUC of each answer alone)", title_justify="left"
    )
    shown = report.questions[:top]
    backwards = any(q.auc < 0.5 for q in shown)
    for column, justify in (
        ("Question", "left"),
        ("dimension", "left"),
        ("AUC", "right"),
        ("answered", "right"),
    ):
        t.add_column(column, justify=justify)  # type: ignore[arg-type]
    if backwards:
        t.add_column("")
    for q in shown:
        cells: list[Text | str] = [
            Text(q.label),
            Text(q.dimension),
            f"{q.auc:.2f}",
            f"{q.answered:,}",
        ]
        if backwards:
            cells.append(
                Text(
                    "backwards: better answers churned more" if q.auc < 0.5 else "", style="yellow"
                )
            )
        t.add_row(*cells)
    return t


def summary_lines(report: Calibration, data: CalibrationData) -> list[str]:
    """The headline figures in plain sentences (also what a chat card says)."""
    lo, hi = report.auc_interval.low, report.auc_interval.high
    return [
        f"{report.outcomes:,} outcomes with a grade made at least {report.lead_days} days "
        f"before ({report.churned:,} churned, {report.stayed:,} renewed or expanded); "
        f"{data.ungraded:,} of {data.outcomes:,} recorded outcomes had no grade that early.",
        f"Separating churners: AUC {report.auc:.2f} (95% interval {lo:.2f}–{hi:.2f}, "
        f"{report.bootstrap} resamples of customers; 0.5 is a coin toss, 1 is perfect).",
        f"Calibration: Brier score {report.brier:.3f} for the churn risk the total implies "
        f"(always guessing the base rate scores {report.brier_reference:.3f}; lower is "
        "better).",
        f"A model on the dimension scores alone: AUC {report.model_auc:.2f}, Brier "
        f"{report.model_brier:.3f} (out of fold) — the suggested weights below are its.",
    ]


def render(console: Console, report: Calibration, data: CalibrationData) -> None:
    for line in summary_lines(report, data):
        console.print(Text(line), soft_wrap=True)
    console.print(letters_table(report))
    console.print(weights_table(report))
    console.print(
        Text(
            "Suggested weights add up to today's total; ↑/↓: the interval lies "
            "above/below today's weight, ≈: it includes it.",
            style="dim",
        ),
        soft_wrap=True,
    )
    if report.questions:
        console.print(questions_table(report))
