"""``gradebot calibrate`` in the terminal: the calibration report as rich tables.

The figures come from ``scoring.calibration``; the sentences that say what each one means
and the way each figure is written come from ``bot.display`` (the admins' card in Slack
and Teams says the same), so this module only lays them out as tables.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot import display
from scoring.calibration import Calibration
from storage.outcomes import CalibrationData

TOP_QUESTIONS = display.CALIBRATION_QUESTIONS


def letters_table(report: Calibration) -> Table:
    t = Table(title=display.letters_title(report), title_justify="left")
    t.add_column("Letter")
    for words in display.KIND_WORDS.values():
        t.add_column(words, justify="right")
    t.add_column("churn rate", justify="right")
    for row in report.letters:
        letter, *cells = display.letter_cells(row)
        t.add_row(Text(letter), *cells)
    return t


def weights_table(report: Calibration) -> Table:
    t = Table(title=display.weights_title(report), title_justify="left")
    for column, justify in (
        ("Dimension", "left"),
        ("now", "right"),
        ("suggested", "right"),
        ("interval", "right"),
        ("log-odds / 100 pts", "right"),
    ):
        t.add_column(column, justify=justify)  # type: ignore[arg-type]
    for w in report.weights:
        name, *cells = display.weight_cells(w)
        t.add_row(Text(name), *cells)
    return t


def questions_table(report: Calibration, top: int = TOP_QUESTIONS) -> Table:
    t = Table(title=display.QUESTIONS_TITLE, title_justify="left")
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
        label, dimension, auc, answered, mark = display.question_cells(q)
        cells: list[Text | str] = [Text(label), Text(dimension), auc, answered]
        if backwards:
            cells.append(Text(mark, style="yellow"))
        t.add_row(*cells)
    return t


def summary_lines(report: Calibration, data: CalibrationData) -> list[str]:
    """The headline figures in plain sentences (``display.calibration_summary``)."""
    return display.calibration_summary(report, data.outcomes, data.ungraded)


def render(console: Console, report: Calibration, data: CalibrationData) -> None:
    for line in summary_lines(report, data):
        console.print(Text(line), soft_wrap=True)
    console.print(letters_table(report))
    console.print(weights_table(report))
    console.print(Text(display.WEIGHTS_NOTE, style="dim"), soft_wrap=True)
    if report.questions:
        console.print(questions_table(report))
