"""Grades: properties over random legal answers, illegal input, knock-outs, explanations and
cadences. Worked numbers use the default sheet's weights: dimensions others 1, skills 1,
value 2, fit 1.5, outcomes 1.5 (sum 7); scale points 1..5 = 0, 25, 50, 75, 100."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import (
    AnswerType,
    Cadence,
    Good,
    NoAnswersError,
    Recommendation,
    Worksheet,
    grade,
)
from scoring.worksheet import parse_worksheet
from tests.scoring.strategies import answer_sets, asked, full_answer_sets

CADENCES = list(Cadence)
PROPS = settings(max_examples=60, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])

# Perfect on every annual question: every dimension 100.
PERFECT: dict[str, Any] = {
    "mission": 5, "pro_bono": "most", "skill_growth": 5, "new_ground": "yes", "pays_now": 5,
    "hire_later": 5, "refers": "already", "segment_fit": 5, "service_level": "right",
    "revenue_share": 10, "outcomes_value": 5, "renewal": 5, "payment_risk": "low",
    "advocacy": 10,
}


def _letter_for(ws: Worksheet, total: float) -> tuple[str, Recommendation]:
    band = next(b for b in ws.grade_bands if total >= b.min)
    return band.letter, band.recommendation


# ---------------------------------------------------------------------- properties
@pytest.mark.parametrize("cadence", CADENCES)
@PROPS
@given(data=st.data())
def test_grade_invariants(ws: Worksheet, cadence: Cadence, data: st.DataObject) -> None:
    answers = data.draw(answer_sets(ws, cadence))
    g = grade(ws, answers, cadence)

    assert g.cadence is cadence
    assert 0 <= g.total <= 100
    for d in g.dimensions:
        assert d.score is None or 0 <= d.score <= 100
        assert 0 <= d.answered <= d.asked
    for s in g.goods.values():
        assert s is None or 0 <= s <= 100

    # the explanation adds up: 50 plus every reason's impact is the total, to its rounding
    # (compared unrounded: rounding the sum again can land 0.1 away at a .x5 boundary)
    assert abs(g.total - (50 + sum(r.impact for r in g.reasons))) <= 0.05 + 1e-9
    assert all(r.impact != 0 for r in g.reasons)
    impacts = [r.impact for r in g.reasons]
    assert impacts == sorted(impacts, reverse=True)

    # the letter is the first band the total reaches; a knock-out only ever lowers the advice
    letter, advice = _letter_for(ws, g.total)
    assert (g.letter, g.score_recommendation) == (letter, advice)
    assert g.recommendation.rank <= g.score_recommendation.rank
    caps = [k.cap.rank for k in g.knockouts]
    assert g.recommendation.rank == min([advice.rank, *caps])

    # coverage: some, and all only when every scored question asked was answered
    scored_ids = {q.id for q in asked(ws, cadence) if q.scored}
    assert 0 < g.coverage <= 1
    assert (g.coverage == 1) == (scored_ids <= answers.keys())
    assert g.complete == (scored_ids <= answers.keys())
    assert any(line.startswith("Incomplete") for line in g.explanation()) != g.complete

    # the profile is the best good, and only when it is at least middling
    if g.profile is not None:
        best = g.goods[g.profile]
        assert best is not None
        assert best >= 50
        assert all(s is None or s <= best for s in g.goods.values())
    else:
        assert all(s is None or s < 50 for s in g.goods.values())


@pytest.mark.parametrize("cadence", CADENCES)
@PROPS
@given(data=st.data())
def test_raising_a_scale_answer_never_lowers_the_grade(ws: Worksheet, cadence: Cadence,
                                                       data: st.DataObject) -> None:
    answers = data.draw(answer_sets(ws, cadence))
    scales = [q for q in asked(ws, cadence) if q.type is AnswerType.SCALE and not q.reverse]
    q = data.draw(st.sampled_from(scales))
    low = data.draw(st.integers(1, 4))
    high = data.draw(st.integers(low + 1, 5))
    before = grade(ws, {**answers, q.id: low}, cadence)
    after = grade(ws, {**answers, q.id: high}, cadence)
    dim_before = next(d.score for d in before.dimensions if d.id == q.dimension)
    dim_after = next(d.score for d in after.dimensions if d.id == q.dimension)
    assert dim_after > dim_before  # strictly: the answer moved 25+ points within its dimension
    assert after.total >= before.total
    # a better letter, and knock-outs can only be lifted (segment fit 1 -> 2+), never added
    assert after.recommendation.rank >= before.recommendation.rank
    assert {k.id for k in after.knockouts} <= {k.id for k in before.knockouts}


@pytest.mark.parametrize("cadence", CADENCES)
@PROPS
@given(data=st.data())
def test_same_answers_same_grade(ws: Worksheet, cadence: Cadence, data: st.DataObject) -> None:
    answers = data.draw(answer_sets(ws, cadence))
    first = grade(ws, answers, cadence)
    again = grade(ws, dict(reversed(list(answers.items()))), cadence.value)
    assert again == first
    assert again.reasons == first.reasons
    assert again.explanation() == first.explanation()


@pytest.mark.parametrize("cadence", [Cadence.QUARTERLY, Cadence.STRATEGIC])
@PROPS
@given(data=st.data())
def test_only_the_cadence_questions_count(ws: Worksheet, cadence: Cadence,
                                          data: st.DataObject) -> None:
    everything = data.draw(full_answer_sets(ws, Cadence.ANNUAL))
    ids = {q.id for q in ws.questions_for(cadence)}
    subset = {k: v for k, v in everything.items() if k in ids}
    # answers to questions this cadence does not ask are ignored, even illegal ones
    noisy = {**everything, "mission": 99 if "mission" not in ids else everything["mission"],
             "no_such_question": "?"}
    g = grade(ws, noisy, cadence)
    assert g == grade(ws, subset, cadence)
    assert {r.question_id for r in g.reasons} <= ids
    assert g.complete


# ---------------------------------------------------------------------- illegal input
@pytest.mark.parametrize(("qid", "value"), [
    ("pays_now", 6), ("pays_now", 0), ("pays_now", "4"), ("pays_now", True), ("pays_now", 2.5),
    ("new_ground", "maybe"), ("new_ground", True), ("new_ground", False),
    ("refers", "They already have"), ("refers", 1),
    ("revenue_share", 101), ("revenue_share", -0.5), ("revenue_share", "35%"),
    ("advocacy", 11), ("advocacy", "7"), ("advocacy", True), ("advocacy", math.nan),
])
def test_illegal_value_names_the_question(ws: Worksheet, qid: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"question '{qid}'"):
        grade(ws, {**PERFECT, qid: value})


@pytest.mark.parametrize(("answers", "cadence"), [
    ({}, Cadence.ANNUAL),
    ({"notes": "text is not scored"}, Cadence.ANNUAL),
    ({"nobody_asked": 5}, Cadence.ANNUAL),
    ({"mission": 5, "advocacy": 9}, Cadence.QUARTERLY),  # annual-only questions
])
def test_no_scored_answer_is_no_grade(ws: Worksheet, answers: dict[str, Any],
                                      cadence: Cadence) -> None:
    with pytest.raises(NoAnswersError):
        grade(ws, answers, cadence)
    assert issubclass(NoAnswersError, ValueError)


def test_unknown_cadence_is_refused(ws: Worksheet) -> None:
    with pytest.raises(ValueError, match="monthly"):
        grade(ws, PERFECT, "monthly")


# ---------------------------------------------------------------------- knock-outs
def test_perfect_grade(ws: Worksheet) -> None:
    g = grade(ws, PERFECT)
    assert (g.total, g.letter, g.recommendation, g.knockouts) == (
        100.0, "A", Recommendation.INVEST_MORE, ())
    assert g.complete
    assert g.coverage == 1
    assert all(d.score == 100 for d in g.dimensions)


def test_misfit_caps_a_high_grade_at_invest_less(ws: Worksheet) -> None:
    g = grade(ws, {**PERFECT, "segment_fit": 1})
    # fit = (0*2 + 100 + 100) / 4 = 50; total = (100 + 100 + 2*100 + 1.5*50 + 1.5*100) / 7
    #     = 625 / 7 = 89.29 -> 89.3, an A
    assert (g.total, g.letter) == (89.3, "A")
    assert g.score_recommendation is Recommendation.INVEST_MORE
    assert g.recommendation is Recommendation.INVEST_LESS
    assert [k.id for k in g.knockouts] == ["misfit"]
    assert g.knockouts[0].cap is Recommendation.INVEST_LESS
    assert any("mis-fit" in line for line in g.explanation())


def test_high_payment_risk_caps_at_maintain(ws: Worksheet) -> None:
    g = grade(ws, {**PERFECT, "payment_risk": "high"})
    # outcomes = (100*2 + 100 + 10 + 100) / 5 = 82; total = (400 + 150 + 1.5*82) / 7
    #          = 673 / 7 = 96.14 -> 96.1
    assert (g.total, g.letter) == (96.1, "A")
    assert g.recommendation is Recommendation.MAINTAIN
    assert [k.id for k in g.knockouts] == ["non_payer"]
    assert any("payment risk" in line for line in g.explanation())


def test_two_knockouts_the_lowest_cap_wins(ws: Worksheet) -> None:
    g = grade(ws, {**PERFECT, "payment_risk": "high", "segment_fit": 1})
    assert g.letter == "A"
    assert g.recommendation is Recommendation.INVEST_LESS
    assert {k.id for k in g.knockouts} == {"misfit", "non_payer"}


def test_knockout_never_raises_the_advice(ws: Worksheet) -> None:
    worst = {"pays_now": 1, "outcomes_value": 1, "renewal": 1, "payment_risk": "high",
             "service_level": "heavy_over"}
    g = grade(ws, worst, Cadence.QUARTERLY)
    assert g.letter == "D"
    assert g.recommendation is Recommendation.EXIT
    assert [k.id for k in g.knockouts] == ["non_payer"]


def test_segment_fit_two_is_no_knockout(ws: Worksheet) -> None:
    g = grade(ws, {**PERFECT, "segment_fit": 2})
    assert g.knockouts == ()
    assert g.recommendation is g.score_recommendation


def test_misfit_knockout_is_not_applied_where_segment_fit_is_not_asked(ws: Worksheet) -> None:
    g = grade(ws, {"pays_now": 5, "segment_fit": 1}, Cadence.QUARTERLY)
    assert g.knockouts == ()
    assert g.recommendation is Recommendation.INVEST_MORE


# ---------------------------------------------------------------------- explanations
def test_explanation_of_a_partial_grade(ws: Worksheet) -> None:
    g = grade(ws, {"pays_now": 5, "segment_fit": 1})
    # value = 100 (only Pays now), fit = 0 (only segment fit); answered dimension weight 3.5
    # total = (2*100 + 1.5*0) / 3.5 = 57.14 -> 57.1, a C (45..65): invest less
    # impacts: Pays now (100-50) * 2/3.5 = +28.57; segment fit (0-50) * 1.5/3.5 = -21.43
    # coverage: value 2 * (2 of 4 question weight) + fit 1.5 * (2 of 4) = 1.75 of 7 = 25%
    assert (g.total, g.letter, g.recommendation) == (57.1, "C", Recommendation.INVEST_LESS)
    assert g.coverage == 0.25
    assert [(r.question_id, round(r.impact, 2)) for r in g.reasons] == [
        ("pays_now", 28.57), ("segment_fit", -21.43)]
    assert g.explanation() == [
        "Lifted by Pays now: 5 — Excellent and growing (+28.6).",
        "Held back by Target segment fit: 1 — Clear mis-fit (-21.4).",
        "A clear mis-fit with our target segment caps the recommendation at invest less.",
        "Incomplete: 25% of the weighted questions answered.",
    ]
    dims = {d.id: d for d in g.dimensions}
    assert (dims["value"].score, dims["value"].answered, dims["value"].asked) == (100, 1, 3)
    assert dims["others"].score is None
    assert g.goods[Good.OTHERS] is None
    assert g.goods[Good.US] == 100


def test_explanation_lists_at_most_top_reasons_each_way(ws: Worksheet) -> None:
    g = grade(ws, {**PERFECT, "mission": 1, "skill_growth": 1, "renewal": 1, "pays_now": 1})
    [up, down] = g.explanation(top=2)
    assert up.count(";") == 1
    assert down.count(";") == 1
    # the biggest drag is Pays now: (0-100) points at weight 2 in a dimension of weight 2
    assert down.startswith("Held back by Pays now: 1 — We lose money (")


def test_neutral_answers_are_not_reasons(ws: Worksheet) -> None:
    g = grade(ws, {"pays_now": 3, "outcomes_value": 3}, Cadence.QUARTERLY)
    # coverage: value 2 * (2 of 2) + outcomes 1.5 * (2 of 4 question weight) = 2.75 of 5
    assert g.total == 50
    assert g.reasons == ()
    assert g.coverage == 0.55
    assert g.explanation() == ["Incomplete: 55% of the weighted questions answered."]


def test_quarterly_grade_by_hand(ws: Worksheet) -> None:
    answers = {"pays_now": 4, "service_level": "right", "outcomes_value": 4, "renewal": 4,
               "payment_risk": "low", "mission": 1, "segment_fit": 1}
    g = grade(ws, answers, "quarterly")
    # only value (Pays now), fit (Cost to serve) and outcomes are asked quarterly:
    # value 75; fit 100; outcomes (75*2 + 75 + 100) / 4 = 81.25
    # total = (2*75 + 1.5*100 + 1.5*81.25) / 5 = 421.875 / 5 = 84.375 -> 84.4, an A
    assert (g.total, g.letter, g.recommendation) == (84.4, "A", Recommendation.INVEST_MORE)
    assert [d.id for d in g.dimensions] == ["value", "fit", "outcomes"]
    assert g.goods == {Good.US: 75.0, Good.SKILLS: None, Good.OTHERS: None}
    assert g.profile is Good.US
    assert g.complete
    assert g.knockouts == ()


def test_profile_is_none_when_no_good_is_middling(ws: Worksheet) -> None:
    g = grade(ws, {"pays_now": 2}, Cadence.QUARTERLY)
    assert g.goods[Good.US] == 25
    assert g.profile is None


# ---------------------------------------------------------------------- custom sheets
def _custom() -> Worksheet:
    labels = ["One", "Two", "Three", "Four", "Five"]
    return parse_worksheet({
        "id": "custom", "version": 3, "title": "Custom",
        "dimensions": [{"id": "risk", "name": "Risk", "weight": 1, "good": "good_at_it"}],
        "questions": [
            {"id": "churn", "label": "Churn risk", "prompt": "Will {customer} churn?",
             "dimension": "risk", "type": "scale", "labels": labels, "reverse": True,
             "cadences": ["quarterly", "annual"]},
            {"id": "discount", "label": "Discount", "prompt": "Discount for {customer}?",
             "dimension": "risk", "type": "percent", "reverse": True, "weight": 3},
        ],
        "grade_bands": [{"letter": "A", "min": 50, "recommendation": "invest_more"},
                        {"letter": "F", "min": 0, "recommendation": "exit"}],
        "target_balance": {"good_for_you": 50, "good_at_it": 50, "good_for_others": 0},
    })


def test_reverse_scale_and_linear_percent() -> None:
    ws = _custom()
    # reverse scale: 1 -> 100 points; percent without bands, reversed: 25% -> 75 points
    # risk = (100*1 + 75*3) / 4 = 81.25 -> 81.2 (round half to even on 81.25)
    g = grade(ws, {"churn": 1, "discount": 25})
    assert g.total == pytest.approx(81.2, abs=0.051)
    assert g.profile is Good.SKILLS
    assert (g.worksheet_id, g.worksheet_version) == ("custom", 3)
    assert grade(ws, {"churn": 5}).total == 0
    assert grade(ws, {"churn": 5}).letter == "F"


def test_strategic_falls_back_to_annual_questions_when_none_are_strategic() -> None:
    ws = _custom()
    assert ws.questions_for(Cadence.STRATEGIC) == ()
    assert grade(ws, {"churn": 2, "discount": 0}, Cadence.STRATEGIC).total == \
        grade(ws, {"churn": 2, "discount": 0}, Cadence.ANNUAL).total
