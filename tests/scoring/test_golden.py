"""Golden grades: four customers worked out by hand from default.yml.

Points per answer (default.yml): scale 1..5 = 0, 25, 50, 75, 100; pro_bono none/some/most =
20/60/100; new_ground yes/unsure/no = 100/40/10; refers already/would/unlikely/never =
100/70/25/0; service_level heavy_over/over/right/under = 10/50/100/60; revenue_share bands
<=0.5: 30, <=2: 60, <=15: 100, <=30: 70, <=100: 40; payment_risk low/some/high = 100/55/10;
advocacy <=6: 0, <=8: 60, <=10: 100.

A dimension is the weighted mean of its answers (question weights: pays_now, segment_fit and
outcomes_value 2, the rest 1); the total is the weighted mean of the dimensions: others 1,
skills 1, value 2, fit 1.5, outcomes 1.5 (sum 7). Bands: A >= 80 invest more, B >= 65
maintain, C >= 45 invest less, D exit.
"""

from __future__ import annotations

from typing import Any

import pytest

from scoring import Good, Recommendation, Worksheet, grade


def _dims(g) -> dict[str, float | None]:
    return {d.id: d.score for d in g.dimensions}


def test_mission_driven_nonprofit_paying_little(ws: Worksheet) -> None:
    answers: dict[str, Any] = {
        "mission": 5, "pro_bono": "most",  # others = (100 + 100) / 2 = 100
        "skill_growth": 2, "new_ground": "no",  # skills = (25 + 10) / 2 = 17.5
        "pays_now": 1, "hire_later": 2, "refers": "would",  # value = (0*2 + 25 + 70) / 4 = 23.75
        "segment_fit": 3, "service_level": "over",  # fit = (50*2 + 50 + 30) / 4 = 45
        "revenue_share": 0.3,
        "outcomes_value": 4, "renewal": 5,  # outcomes = (75*2 + 100 + 100 + 100) / 5 = 90
        "payment_risk": "low", "advocacy": 9,
    }
    g = grade(ws, answers)
    # total = (100 + 17.5 + 2*23.75 + 1.5*45 + 1.5*90) / 7 = 367.5 / 7 = 52.5 -> C
    assert g.total == 52.5
    assert g.letter == "C"
    assert g.recommendation is Recommendation.INVEST_LESS
    assert g.profile is Good.OTHERS
    assert g.knockouts == ()
    assert _dims(g) == pytest.approx(
        {"others": 100, "skills": 17.5, "value": 23.75, "fit": 45, "outcomes": 90}, abs=0.051)
    assert g.goods[Good.OTHERS] == 100
    assert g.complete


def test_lucrative_misfit_is_knocked_out(ws: Worksheet) -> None:
    answers: dict[str, Any] = {
        "mission": 1, "pro_bono": "none",  # others = (0 + 20) / 2 = 10
        "skill_growth": 2, "new_ground": "unsure",  # skills = (25 + 40) / 2 = 32.5
        "pays_now": 5, "hire_later": 5, "refers": "already",  # value = (200 + 100 + 100) / 4
        "segment_fit": 1, "service_level": "right",  # fit = (0*2 + 100 + 100) / 4 = 50
        "revenue_share": 10,
        "outcomes_value": 5, "renewal": 5,  # outcomes = (200 + 100 + 100 + 100) / 5 = 100
        "payment_risk": "low", "advocacy": 9,
    }
    g = grade(ws, answers)
    # total = (10 + 32.5 + 2*100 + 1.5*50 + 1.5*100) / 7 = 467.5 / 7 = 66.79 -> 66.8 -> B
    assert g.total == 66.8
    assert g.letter == "B"
    assert g.score_recommendation is Recommendation.MAINTAIN
    # ... but segment_fit 1 trips the "misfit" knock-out: capped at invest less
    assert g.recommendation is Recommendation.INVEST_LESS
    assert [k.id for k in g.knockouts] == ["misfit"]
    assert g.profile is Good.US
    assert _dims(g) == pytest.approx(
        {"others": 10, "skills": 32.5, "value": 100, "fit": 50, "outcomes": 100}, abs=0.051)
    # segment fit's pull: (0 - 50) * 2 * 1.5 / (7 * 4) = -5.36; mission (0 - 50) / 14 = -3.57;
    # pro bono (20 - 50) / 14 = -2.14. Pays now lifts most: (100 - 50) * 2 * 2 / (7 * 4) = +7.14
    lines = g.explanation()
    assert lines[0].startswith("Lifted by Pays now: 5 — Excellent and growing (+7.1); ")
    assert lines[1] == ("Held back by Target segment fit: 1 — Clear mis-fit (-5.4); "
                        "Mission: 1 — Not at all (-3.6); "
                        "Pro-bono or discounted: None of it (-2.1).")
    assert lines[2] == ("A clear mis-fit with our target segment caps the recommendation at "
                        "invest less.")
    assert len(lines) == 3  # complete: no "Incomplete" line


def test_learning_rich_customer_in_a_new_industry(ws: Worksheet) -> None:
    answers: dict[str, Any] = {
        "mission": 2, "pro_bono": "some",  # others = (25 + 60) / 2 = 42.5
        "skill_growth": 5, "new_ground": "yes",  # skills = (100 + 100) / 2 = 100
        "pays_now": 3, "hire_later": 4, "refers": "would",  # value = (100 + 75 + 70) / 4 = 61.25
        "segment_fit": 4, "service_level": "under",  # fit = (150 + 60 + 60) / 4 = 67.5
        "revenue_share": 1,
        "outcomes_value": 3, "renewal": 4,  # outcomes = (100 + 75 + 55 + 100) / 5 = 66
        "payment_risk": "some", "advocacy": 9,
        "notes": "First customer in agritech.",
    }
    g = grade(ws, answers)
    # total = (42.5 + 100 + 2*61.25 + 1.5*67.5 + 1.5*66) / 7 = 465.25 / 7 = 66.46 -> 66.5 -> B
    assert g.total == 66.5
    assert g.letter == "B"
    assert g.recommendation is Recommendation.MAINTAIN
    assert g.profile is Good.SKILLS
    assert g.knockouts == ()
    assert _dims(g) == pytest.approx(
        {"others": 42.5, "skills": 100, "value": 61.25, "fit": 67.5, "outcomes": 66}, abs=0.051)
    assert "notes" not in {r.question_id for r in g.reasons}


def test_ideal_customer(ws: Worksheet) -> None:
    answers: dict[str, Any] = {
        "mission": 3, "pro_bono": "none",  # others = (50 + 20) / 2 = 35
        "skill_growth": 4, "new_ground": "yes",  # skills = (75 + 100) / 2 = 87.5
        "pays_now": 5, "hire_later": 4, "refers": "already",  # value = (200 + 75 + 100) / 4
        "segment_fit": 5, "service_level": "right",  # fit = (200 + 100 + 100) / 4 = 100
        "revenue_share": 10,
        "outcomes_value": 5, "renewal": 5,  # outcomes = (200 + 100 + 100 + 100) / 5 = 100
        "payment_risk": "low", "advocacy": 10,
    }
    g = grade(ws, answers)
    # value = 375 / 4 = 93.75
    # total = (35 + 87.5 + 2*93.75 + 1.5*100 + 1.5*100) / 7 = 610 / 7 = 87.14 -> 87.1 -> A
    assert g.total == 87.1
    assert g.letter == "A"
    assert g.recommendation is Recommendation.INVEST_MORE
    assert g.profile is Good.US  # good for you 93.75 beats good at it 87.5
    assert g.knockouts == ()
    assert _dims(g) == pytest.approx(
        {"others": 35, "skills": 87.5, "value": 93.75, "fit": 100, "outcomes": 100}, abs=0.051)
