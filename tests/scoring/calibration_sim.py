"""Synthetic customers whose churn follows a KNOWN logistic model of their dimension scores,
graded with noise through the real worksheet: what calibration must recover.

Each customer gets a true score per dimension; every question of the dimension is answered
with the legal answer nearest that score plus noise, and the answers are graded by
``scoring.grade`` (so stored dimension scores are as coarse as real ones). Churn is drawn
from ``logit p = INTERCEPT + Σ TRUE_BETA[d] · true score / 100``; the others renew (a fifth of
them expand). The grade is made ``GRADE_LEAD`` days before the outcome.

Used by the simulation test, the calibrate benchmark and the docs' chart
(``python -m tests.scoring.calibration_sim docs/img/calibration.png``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from scoring import grade, load_worksheet
from scoring.calibration import Observation
from scoring.grading import answer_points
from scoring.worksheet import AnswerType, Question, Worksheet

# log-odds of churn per 100 points: outcomes protect most, then fit, value, skills, others
TRUE_BETA = {"outcomes": -5.0, "fit": -3.5, "value": -2.4, "skills": -1.4, "others": -0.5}
INTERCEPT = 5.9
NOISE = 10.0  # points of noise on each answer, before rounding to a legal answer
GRADE_LEAD = 200  # days from the grade to the outcome


@dataclass(frozen=True)
class SimCustomer:
    customer_id: int
    true_scores: dict[str, float]
    answers: dict[str, Any]
    churned: bool
    expanded: bool
    true_logit: float


def _candidates(ws: Worksheet, q: Question) -> list[tuple[Any, float]]:
    """Every legal answer of ``q`` (numbers: 21 steps over the bounds) with its points."""
    if q.type is AnswerType.SCALE:
        values: list[Any] = [1, 2, 3, 4, 5]
    elif q.type is AnswerType.YES_NO:
        values = ["yes", "no", "unsure"]
    elif q.type is AnswerType.CHOICE:
        values = [c.key for c in q.choices]
    else:
        lo, hi = q.bounds
        values = [lo + (hi - lo) * i / 20 for i in range(21)]
        if q.type is AnswerType.NUMBER and float(lo).is_integer():
            values = sorted({round(v) for v in values})
    return [(v, answer_points(ws, {q.id: v})[q.id]) for v in values]


def simulate(n: int = 2000, seed: int = 7, ws: Worksheet | None = None) -> list[SimCustomer]:
    ws = ws or load_worksheet()
    rng = np.random.default_rng(seed)
    options = {q.id: _candidates(ws, q) for q in ws.scored_questions}
    out = []
    for cid in range(1, n + 1):
        true = {d.id: float(np.clip(rng.normal(55, 22), 0, 100)) for d in ws.dimensions}
        answers: dict[str, Any] = {}
        for q in ws.scored_questions:
            target = true[q.dimension or ""] + rng.normal(0, NOISE)
            answers[q.id] = min(options[q.id], key=lambda c, t=target: abs(c[1] - t))[0]
        logit = INTERCEPT + sum(TRUE_BETA[d] * s / 100 for d, s in true.items())
        churned = bool(rng.random() < 1 / (1 + np.exp(-logit)))
        out.append(
            SimCustomer(
                cid, true, answers, churned, not churned and bool(rng.random() < 0.2), logit
            )
        )
    return out


def observations(
    customers: list[SimCustomer], ws: Worksheet | None = None, outcome_day: date = date(2026, 6, 30)
) -> list[Observation]:
    """Each customer's outcome with the grade its answers get, made GRADE_LEAD days before."""
    ws = ws or load_worksheet()
    graded_at = datetime.combine(outcome_day - timedelta(days=GRADE_LEAD), datetime.min.time(), UTC)
    out = []
    for c in customers:
        g = grade(ws, c.answers)
        kind = "churned" if c.churned else "expanded" if c.expanded else "renewed"
        out.append(
            Observation(
                c.customer_id,
                kind,
                outcome_day,
                graded_at,
                g.total,
                g.letter or "D",
                {d.id: d.score for d in g.dimensions},
                c.answers,
            )
        )
    return out


def main(argv: list[str]) -> int:
    """Write the calibration chart of 2,000 simulated customers to the path given."""
    from bot.calibration_chart import save_chart
    from scoring.calibration import Calibration, calibrate

    ws = load_worksheet()
    report = calibrate(ws, observations(simulate(ws=ws), ws))
    assert isinstance(report, Calibration)
    path = Path(argv[0] if argv else "calibration.png")
    save_chart(report, path, title="2,000 simulated customers")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
