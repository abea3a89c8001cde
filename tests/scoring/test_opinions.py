"""The disagreement rule, the optimism figures and the override-applied view."""

from __future__ import annotations

from datetime import UTC, date, datetime

from scoring import Recommendation
from scoring.opinions import (
    GradeScores,
    OpinionPair,
    OverrideTerms,
    check_override,
    disagreement,
    latest_end,
    optimism,
    overridden,
)


def test_letters_differing_is_a_disagreement() -> None:
    d = disagreement(GradeScores("A", 86, {"fit": 80}), GradeScores("B", 79, {"fit": 75}))
    assert d.disagrees
    assert d.letter_differs
    assert d.gaps == ()
    assert d.describe() == "letters differ (A vs B)"


def test_a_dimension_25_points_apart_is_a_disagreement_with_the_same_letter() -> None:
    record = GradeScores("B", 70, {"fit": 90, "outcomes": 50, "value": None})
    other = GradeScores("B", 68, {"fit": 65, "outcomes": 74.9, "value": 10})
    d = disagreement(record, other)
    assert d.disagrees
    assert not d.letter_differs
    assert [(g.dimension_id, g.gap) for g in d.gaps] == [("fit", 25.0)]  # 24.9 is not
    assert d.describe({"fit": "Fit"}) == "Fit 25 points apart (90 vs 65)"


def test_close_grades_agree_and_blanks_are_not_compared() -> None:
    d = disagreement(
        GradeScores("C", 55, {"fit": 50, "x": None}), GradeScores("C", 58, {"fit": 60, "x": 100})
    )
    assert not d.disagrees
    assert d.describe() == "they agree"


def test_optimism_per_rep_per_quarter() -> None:
    pairs = [
        OpinionPair(1, date(2026, 2, 1), 85, 60, "A", "C"),
        OpinionPair(1, date(2026, 3, 1), 70, 60, "B", "B"),
        OpinionPair(1, date(2026, 5, 1), 50, 60, "C", "B"),
        OpinionPair(2, date(2026, 5, 1), 60, 61, "C", "C"),
    ]
    out = optimism(pairs)
    q1, q2 = out[1].periods
    assert (q1.period, q1.count, q1.mean_gap, q1.letters_higher, q1.letters_lower) == (
        "2026-Q1",
        2,
        17.5,
        1,
        0,
    )
    assert "optimistic" in q1.text
    assert "pessimistic" in q2.text
    overall = out[1].overall
    assert (overall.count, overall.mean_gap, overall.letters_lower) == (3, 8.3, 1)
    assert "in line" in out[2].overall.text


def test_an_override_shows_over_the_model_and_keeps_it_beside() -> None:
    until = datetime(2027, 3, 1, tzinfo=UTC)
    view = overridden("C", "invest_less", OverrideTerms("B", None, "Signed 3 years", "Pat", until))
    assert (view.letter, view.recommendation) == ("B", Recommendation.INVEST_LESS)
    assert view.lines() == [
        "Overridden: letter B — by Pat until 2027-03-01: Signed 3 years",
        "Model's grade: C, invest less",
    ]
    rec_only = overridden(
        "C", "invest_less", OverrideTerms(None, Recommendation.MAINTAIN, "r", "Pat", until)
    )
    assert (rec_only.letter, rec_only.recommendation) == ("C", Recommendation.MAINTAIN)
    assert overridden("C", "maintain", None).lines() == []


def test_override_limits() -> None:
    today = date(2028, 2, 29)
    assert latest_end(today) == date(2029, 2, 28)
    assert check_override("A", None, "r", date(2029, 2, 28), today) == []
    assert check_override("A", None, "r", date(2029, 3, 1), today)[0].startswith(
        "An override lasts at most 12 months"
    )
