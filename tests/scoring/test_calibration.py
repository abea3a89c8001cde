"""Calibration recovers what a known model put into the data, and refuses when there is too
little to go on."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime

import pytest

from scoring import load_worksheet
from scoring.calibration import (
    INSTALL_HINT,
    LEAD_DAYS,
    Calibration,
    MissingExtra,
    Observation,
    Refusal,
    calibrate,
    grade_cutoff,
)
from scoring.grading import answer_points
from tests.scoring.calibration_sim import TRUE_BETA, observations, simulate


@pytest.fixture(scope="module")
def simulated() -> tuple[list, list, float]:
    from sklearn.metrics import roc_auc_score

    ws = load_worksheet()
    customers = simulate(2000, seed=7, ws=ws)
    true_auc = float(
        roc_auc_score([c.churned for c in customers], [c.true_logit for c in customers])
    )
    return customers, observations(customers, ws), true_auc


@pytest.fixture(scope="module")
def report(simulated) -> Calibration:
    """The simulation's calibration, computed once for the tests that only read it (each
    run refits the weights a hundred times)."""
    result = calibrate(load_worksheet(), simulated[1])
    assert isinstance(result, Calibration)
    return result


def test_simulation_recovers_the_order_of_the_true_weights_and_the_auc(
        simulated, report: Calibration) -> None:
    """2,000 customers whose churn follows a known logistic model of their dimension
    scores, graded with noise: the suggested weights come out in the true order, and the
    dimension model separates churners within 0.03 (AUC) of the true model."""
    _, _, true_auc = simulated
    true_order = sorted(TRUE_BETA, key=lambda d: TRUE_BETA[d])  # most protective first
    found = sorted(report.weights, key=lambda w: -w.suggested)
    assert [w.dimension_id for w in found] == true_order
    assert abs(report.model_auc - true_auc) < 0.03, (report.model_auc, true_auc)
    # the grade's own total separates churners too, a little less well (today's weights)
    assert 0.6 < report.auc < report.model_auc
    assert report.auc_interval.low < report.auc < report.auc_interval.high
    assert report.brier < report.brier_reference  # better than guessing the base rate
    assert sum(w.suggested for w in report.weights) == pytest.approx(
        sum(w.now for w in report.weights), abs=0.05
    )
    for w in report.weights:
        assert w.interval.low <= w.suggested <= w.interval.high
    # (its speed is measured by tests/bench/bench_calibrate.py, not asserted under test load)


def test_letters_count_outcomes_and_churn_falls_with_the_letter(
        simulated, report: Calibration) -> None:
    _, obs, _ = simulated
    assert [row.letter for row in report.letters] == ["A", "B", "C", "D"]
    assert sum(row.outcomes for row in report.letters) == len(obs) == report.outcomes
    rates = [row.churn_rate for row in report.letters]
    assert rates == sorted(rates)  # type: ignore[type-var]
    assert (
        report.letters[0].counts["churned"]
        + report.letters[0].counts["renewed"]
        + report.letters[0].counts["expanded"]
        == report.letters[0].outcomes
    )


def test_questions_of_the_strongest_dimension_carry_the_most_signal(
        simulated, report: Calibration) -> None:
    _, obs, _ = simulated
    ws = load_worksheet()
    assert len(report.questions) == len(ws.scored_questions)
    assert report.questions[0].dimension == "outcomes"
    assert all(q.answered == len(obs) for q in report.questions)
    strengths = [abs(q.auc - 0.5) for q in report.questions]
    assert strengths == sorted(strengths, reverse=True)


def test_same_seed_same_report(simulated) -> None:
    _, obs, _ = simulated
    ws = load_worksheet()
    assert calibrate(ws, obs[:300], seed=3) == calibrate(ws, obs[:300], seed=3)


def _obs(kind: str, i: int) -> Observation:
    return Observation(
        i, kind, date(2026, 6, 1), datetime(2026, 1, 1, tzinfo=UTC), 60.0, "B", {"value": 60.0}, {}
    )


def test_refused_below_fifty_usable_outcomes(simulated) -> None:
    _, obs, _ = simulated
    ws = load_worksheet()
    few = obs[:49] + [_obs("referred", 10_000 + i) for i in range(30)]
    refusal = calibrate(ws, few)
    assert isinstance(refusal, Refusal)
    assert (refusal.outcomes, refusal.needed) == (49, 50)
    assert refusal.reason.startswith(
        "Too few outcomes to calibrate: 49 renewed, expanded or "
        "churned with a grade made at least 90 days before"
    )
    assert isinstance(calibrate(ws, obs[:50]), Calibration)


def test_refused_without_churners_to_compare() -> None:
    ws = load_worksheet()
    refusal = calibrate(
        ws, [_obs("renewed", i) for i in range(60)] + [_obs("churned", 100 + i) for i in range(4)]
    )
    assert isinstance(refusal, Refusal)
    assert refusal.reason == (
        "Nothing to compare: 4 customers churned and 60 renewed or expanded; it needs at "
        "least 5 of each."
    )
    # many outcomes of few customers are few customers
    few = [_obs("renewed" if i % 2 else "churned", i % 4) for i in range(80)]
    refusal = calibrate(ws, few)
    assert isinstance(refusal, Refusal)
    assert refusal.reason.startswith("Nothing to compare: 2 customers churned and 2 renewed")


def test_without_scikit_learn_it_says_how_to_install(
    simulated, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, obs, _ = simulated
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises
    with pytest.raises(MissingExtra, match=r"pip install 'gradebot\[calibrate\]'"):
        calibrate(load_worksheet(), obs)
    assert "uv sync --extra calibrate" in INSTALL_HINT
    # a refusal needs no statistics, so it is given without scikit-learn too
    assert isinstance(calibrate(load_worksheet(), obs[:10]), Refusal)


def test_the_cutoff_is_midnight_of_the_day_89_days_before() -> None:
    assert LEAD_DAYS == 90
    assert grade_cutoff(date(2026, 6, 30)) == datetime(2026, 4, 2, tzinfo=UTC)


def test_answer_points_skips_what_the_worksheet_cannot_score() -> None:
    ws = load_worksheet()
    scale = next(q for q in ws.scored_questions if q.type.value == "scale")
    got = answer_points(
        ws,
        {
            scale.id: 5,
            "no_such_question": 3,
            "renewal": "maybe",
            "advocacy": 10_000,
            "pays_now": ["yes"],
        },
    )
    assert list(got) == [scale.id]


def test_the_terminal_report_marks_a_backwards_question(simulated, report: Calibration) -> None:
    """A question whose better answers came with more churn is flagged in the table."""
    import dataclasses
    import io

    from rich.console import Console

    from bot.calibration_view import render
    from storage.outcomes import CalibrationData

    _, obs, _ = simulated
    flipped = dataclasses.replace(report.questions[0], auc=round(1 - report.questions[0].auc, 3))
    shown = dataclasses.replace(report, questions=(flipped, *report.questions[1:]))
    out = io.StringIO()
    render(Console(file=out, width=160), shown, CalibrationData(list(obs), len(obs) + 7, 7))
    text = out.getvalue()
    assert f"{flipped.label}" in text
    assert "backwards: better answers churned more" in text
    assert f"7 of {len(obs) + 7:,} recorded outcomes had no grade that early" in text
    plain = io.StringIO()
    render(Console(file=plain, width=160), report, CalibrationData(list(obs), len(obs), 0))
    assert "backwards" not in plain.getvalue()
