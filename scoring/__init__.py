"""gradebot's grading model: worksheets, answer parsing, grades and portfolios.

Pure: no I/O except reading worksheet files, so every channel and job grades the same way.
"""

from scoring.cadence import RegradePolicy, cadence_to_ask, period_key, period_label
from scoring.grading import Grade, NoAnswersError, Reason, grade
from scoring.parsing import (
    AnswerValue,
    Parsed,
    Unparsed,
    display_value,
    is_legal,
    parse_answer,
    said_values,
)
from scoring.portfolio import BookEntry, Portfolio, build_portfolio
from scoring.worksheet import (
    AnswerType,
    Cadence,
    Good,
    Question,
    Recommendation,
    TargetBalance,
    Worksheet,
    WorksheetError,
    load_worksheet,
)

__all__ = [
    "AnswerType",
    "AnswerValue",
    "BookEntry",
    "Cadence",
    "Good",
    "Grade",
    "NoAnswersError",
    "Parsed",
    "Portfolio",
    "Question",
    "Reason",
    "Recommendation",
    "RegradePolicy",
    "TargetBalance",
    "Unparsed",
    "Worksheet",
    "WorksheetError",
    "build_portfolio",
    "cadence_to_ask",
    "display_value",
    "grade",
    "is_legal",
    "load_worksheet",
    "parse_answer",
    "period_key",
    "period_label",
    "said_values",
]
