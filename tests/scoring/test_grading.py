"""Grades: properties over random legal answers, illegal input, knock-outs, explanations and
coverage. Worked numbers use the default sheet (v2): the strongest good at weight 2 beside
fit 1.5 and outcomes 1.5 (sum 5); coverage uses the dimension weights others 1, skills 1,
value 2, fit 1.5, outcomes 1.5 (sum 7) over the whole sheet's 14 scored questions; scale
points 1..5 = 0, 25, 50, 75, 100; a letter needs 60 % coverage."""

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

    assert g.questions == len(ws.scored_questions)
    assert g.answered == sum(1 for q in ws.scored_questions if q.id in answers)
    # the explanation adds up: 50 plus every reason's impact is the total, to its rounding
    # (compared unrounded: rounding the sum again can land 0.1 away at a .x5 boundary)
    assert abs(g.total - (50 + sum(r.impact for r in g.reasons))) <= 0.05 + 1e-9
    assert all(r.impact != 0 for r in g.reasons)
    impacts = [r.impact for r in g.reasons]
    assert impacts == sorted(impacts, reverse=True)

    # coverage: some, and all only when every scored question of the sheet was answered
    scored_ids = {q.id for q in ws.scored_questions}
    assert 0 < g.coverage <= 1
    assert (g.coverage == 1) == (scored_ids <= answers.keys())
    assert g.complete == (scored_ids <= answers.keys())
    lines = g.explanation()
    assert any(line.startswith("Provisional") for line in lines) == g.provisional

    # below the floor: no letter, no advice, no knock-out, and it says so first
    assert g.graded == (g.coverage >= ws.grading.coverage_floor)
    if not g.graded:
        assert (g.letter, g.recommendation, g.score_recommendation) == (None, None, None)
        assert g.knockouts == ()
        assert lines[0].startswith("Not enough answers to grade yet (")
        return
    # the letter is the first band the total reaches; a knock-out only ever lowers the
    # advice, and is listed only when it did
    letter, advice = _letter_for(ws, g.total)
    assert (g.letter, g.score_recommendation) == (letter, advice)
    assert g.recommendation is not None
    assert g.recommendation.rank <= advice.rank
    caps = [k.cap.rank for k in g.knockouts]
    assert all(c < advice.rank for c in caps)
    assert g.recommendation.rank == min([advice.rank, *caps])

    # the profile is the best good, and only when it is at least middling
    assert g.profile in (None, g.carrier)
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
    assert after.coverage == before.coverage
    if before.recommendation is not None and after.recommendation is not None:
        # a better letter, and knock-outs can only be lifted (segment fit 1 -> 2+)
        assert after.recommendation.rank >= before.recommendation.rank
        assert {k.cap for k in after.knockouts} <= {k.cap for k in before.knockouts}


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
def test_every_grade_covers_the_whole_sheet(ws: Worksheet, cadence: Cadence,
                                            data: st.DataObject) -> None:
    """The cadence names the grading; the grade is over every answer it is given (a pulse's
    are merged with earlier ones first), whichever cadence asked them."""
    everything = data.draw(full_answer_sets(ws, Cadence.ANNUAL))
    g = grade(ws, {**everything, "no_such_question": "?"}, cadence)
    annual = grade(ws, everything, Cadence.ANNUAL)
    assert g.cadence is cadence
    assert (g.total, g.letter, g.recommendation, g.profile, g.coverage, g.reasons) == (
        annual.total, annual.letter, annual.recommendation, annual.profile, annual.coverage,
        annual.reasons)
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
    ({"nobody_asked": 5, "notes": "x"}, Cadence.QUARTERLY),
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
    # fit = (0*2 + 100 + 100) / 4 = 50; goods = 100 (all three are; the second adds
    # 0.25 * (100 - 100) * ... = 0); total = (2*100 + 1.5*50 + 1.5*100) / 5 = 85, an A
    assert (g.total, g.letter) == (85.0, "A")
    assert g.score_recommendation is Recommendation.INVEST_MORE
    assert g.recommendation is Recommendation.INVEST_LESS
    assert [k.id for k in g.knockouts] == ["misfit"]
    assert g.knockouts[0].cap is Recommendation.INVEST_LESS
    assert any("mis-fit" in line for line in g.explanation())


def test_high_payment_risk_caps_at_maintain(ws: Worksheet) -> None:
    g = grade(ws, {**PERFECT, "payment_risk": "high"})
    # outcomes = (100*2 + 100 + 10 + 100) / 5 = 82; total = (200 + 150 + 1.5*82) / 5
    #          = 473 / 5 = 94.6
    assert (g.total, g.letter) == (94.6, "A")
    assert g.recommendation is Recommendation.MAINTAIN
    assert [k.id for k in g.knockouts] == ["non_payer"]
    assert any("payment risk" in line for line in g.explanation())


def test_of_two_knockouts_only_the_one_that_lowers_the_advice_counts(ws: Worksheet) -> None:
    g = grade(ws, {**PERFECT, "payment_risk": "high", "segment_fit": 1})
    # fit 50, outcomes 82: total = (200 + 75 + 123) / 5 = 79.6, a B (maintain by score)
    assert (g.total, g.letter) == (79.6, "B")
    assert g.score_recommendation is Recommendation.MAINTAIN
    assert g.recommendation is Recommendation.INVEST_LESS
    # the non-payer cap (maintain) is no lower than the B's advice: only the mis-fit counts
    assert [k.id for k in g.knockouts] == ["misfit"]


def test_knockout_that_changes_nothing_is_not_listed(ws: Worksheet) -> None:
    worst = {"mission": 1, "pro_bono": "none", "skill_growth": 1, "new_ground": "no",
             "pays_now": 1, "hire_later": 1, "refers": "never", "segment_fit": 2,
             "service_level": "heavy_over", "revenue_share": 0.1, "outcomes_value": 1,
             "renewal": 1, "payment_risk": "high", "advocacy": 0}
    g = grade(ws, worst)
    # others 10 carries; fit (50 + 10 + 30) / 4 = 22.5; outcomes (0 + 0 + 10 + 0) / 5 = 2
    # total = (2*10 + 1.5*22.5 + 1.5*2) / 5 = 56.75 / 5 = 11.35 -> D, exit
    assert (g.total, g.letter, g.recommendation) == (11.3, "D", Recommendation.EXIT)
    # the high payment risk caps at maintain: no lower than exit, so it changed nothing
    assert g.knockouts == ()
    assert not any("payment risk" in line for line in g.explanation())


def test_knockout_above_the_advice_is_not_shown_next_to_it(ws: Worksheet) -> None:
    """Issue 14: "A high payment risk caps the recommendation at maintain" was shown next
    to "invest less", where it changed nothing."""
    answers = {"mission": 1, "pro_bono": "none", "skill_growth": 1, "new_ground": "no",
               "pays_now": 2, "hire_later": 2, "refers": "unlikely", "segment_fit": 5,
               "service_level": "right", "revenue_share": 10, "outcomes_value": 3,
               "renewal": 3, "payment_risk": "high", "advocacy": 7}
    g = grade(ws, answers)
    # value 25 carries; fit 100; outcomes (100 + 50 + 10 + 60) / 5 = 44
    # total = (50 + 150 + 66) / 5 = 53.2 -> C, invest less (below the cap of maintain)
    assert (g.total, g.letter, g.recommendation) == (53.2, "C", Recommendation.INVEST_LESS)
    assert g.knockouts == ()
    assert not any("payment risk" in line for line in g.explanation())


def test_segment_fit_two_is_no_knockout(ws: Worksheet) -> None:
    g = grade(ws, {**PERFECT, "segment_fit": 2})
    assert g.knockouts == ()
    assert g.recommendation is g.score_recommendation


def test_no_letter_no_knockout(ws: Worksheet) -> None:
    g = grade(ws, {"pays_now": 5, "segment_fit": 1}, Cadence.QUARTERLY)
    assert g.letter is None
    assert g.knockouts == ()
    assert g.recommendation is None


# ---------------------------------------------------------------------- explanations
def test_explanation_of_a_grade_below_the_floor(ws: Worksheet) -> None:
    g = grade(ws, {"pays_now": 5, "segment_fit": 1})
    # value = 100 (only Pays now) carries at weight 2, fit = 0 (only segment fit) at 1.5
    # total = (2*100 + 1.5*0) / 3.5 = 57.14 -> 57.1 ... but no letter:
    # coverage: value 2 * (2 of 4 question weight) + fit 1.5 * (2 of 4) = 1.75 of 7 = 25%
    # impacts: Pays now (100-50) * 2 * (2/3.5) / 2 = +28.57; fit (0-50) * 2 * (1.5/3.5) / 4
    assert (g.total, g.letter, g.recommendation) == (57.1, None, None)
    assert g.coverage == 0.25
    assert not g.provisional
    assert [(r.question_id, round(r.impact, 2)) for r in g.reasons] == [
        ("pays_now", 28.57), ("segment_fit", -21.43)]
    assert g.explanation() == [
        "Not enough answers to grade yet (2 of 14 questions; a letter needs 60% of the "
        "worksheet).",
        "Carried by Good for you, 100.",
        "Lifted by Pays now: 5 — Excellent and growing (+28.6).",
        "Held back by Target segment fit: 1 — Clear mis-fit (-21.4).",
    ]
    dims = {d.id: d for d in g.dimensions}
    assert (dims["value"].score, dims["value"].answered, dims["value"].asked) == (100, 1, 3)
    assert dims["others"].score is None
    assert g.goods[Good.OTHERS] is None
    assert g.goods[Good.US] == 100


def test_a_provisional_grade_says_how_much_it_covers(ws: Worksheet) -> None:
    partial = {k: v for k, v in PERFECT.items()
               if k not in ("mission", "pro_bono", "skill_growth", "new_ground")}
    g = grade(ws, partial)
    # others and skills unanswered: coverage (2 + 1.5 + 1.5) of 7 = 71.4%, above the floor
    assert (g.total, g.letter, g.coverage) == (100.0, "A", 0.714)
    assert g.provisional
    assert not g.complete
    assert g.explanation()[-1] == ("Provisional: 71% of the worksheet answered (10 of 14 "
                                   "questions).")


def test_explanation_lists_at_most_top_reasons_each_way(ws: Worksheet) -> None:
    g = grade(ws, {**PERFECT, "mission": 1, "skill_growth": 1, "renewal": 1, "pays_now": 1})
    # others 50, skills 50, value 50: a tie, carried by the first of them (Good for you)
    [carried, up, down] = g.explanation(top=2)
    assert carried == "Carried by Good for you, 50."
    assert up.count(";") == 1
    assert down.count(";") == 1
    # the biggest drag is Pays now: (0-50) * 2 * (2/5) / 4 = -10 (renewal: (0-50) * 0.06)
    assert down.startswith("Held back by Pays now: 1 — We lose money (")


def test_neutral_answers_are_not_reasons(ws: Worksheet) -> None:
    g = grade(ws, {"pays_now": 3, "outcomes_value": 3}, Cadence.QUARTERLY)
    # coverage: value 2 * (2 of 4) + outcomes 1.5 * (2 of 5 question weight) = 1.6 of 7
    assert g.total == 50
    assert g.reasons == ()
    assert g.coverage == 0.229
    assert g.explanation() == [
        "Not enough answers to grade yet (2 of 14 questions; a letter needs 60% of the "
        "worksheet).", "Carried by Good for you, 50."]


def test_a_pulse_alone_is_not_enough_for_a_letter(ws: Worksheet) -> None:
    answers = {"pays_now": 4, "service_level": "right", "outcomes_value": 4, "renewal": 4,
               "payment_risk": "low"}
    g = grade(ws, answers, "quarterly")
    # value 75 carries; fit 100 (cost to serve only); outcomes (75*2 + 75 + 100) / 4 = 81.25
    # total = (2*75 + 1.5*100 + 1.5*81.25) / 5 = 421.875 / 5 = 84.375 -> 84.4 ...
    # coverage: value 2 * (2 of 4) + fit 1.5 * (1 of 4) + outcomes 1.5 * (4 of 5) = 2.575 / 7
    assert g.total == 84.4
    assert g.coverage == 0.368
    assert (g.letter, g.recommendation) == (None, None)
    assert [d.id for d in g.dimensions] == ["others", "skills", "value", "fit", "outcomes"]
    assert g.goods == {Good.US: 75.0, Good.SKILLS: None, Good.OTHERS: None}
    assert g.profile is Good.US
    assert (g.answered, g.questions) == (5, 14)


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
    assert grade(ws, {"churn": 5, "discount": 100}).total == 0
    assert grade(ws, {"churn": 5, "discount": 100}).letter == "F"
    # churn alone is 1 of 4 question weight: 25% coverage, no letter
    assert grade(ws, {"churn": 5}).letter is None


def test_strategic_falls_back_to_annual_questions_when_none_are_strategic() -> None:
    ws = _custom()
    assert ws.questions_for(Cadence.STRATEGIC) == ()
    assert grade(ws, {"churn": 2, "discount": 0}, Cadence.STRATEGIC).total == \
        grade(ws, {"churn": 2, "discount": 0}, Cadence.ANNUAL).total
