"""Golden grades: the five customers of issue 14, worked out by hand from default.yml (v2).

Points per answer (default.yml): scale 1..5 = 0, 25, 50, 75, 100; pro_bono none/some/most =
20/60/100; new_ground yes/unsure/no = 100/40/10; refers already/would/unlikely/never =
100/70/25/0; service_level heavy_over/over/right/under = 10/50/100/60; revenue_share bands
<=0.5: 30, <=2: 60, <=15: 100, <=30: 70, <=100: 40; payment_risk low/some/high = 100/55/10;
advocacy <=6: 0, <=8: 60, <=10: 100.

A dimension is the weighted mean of its answers (question weights: pays_now, segment_fit and
outcomes_value 2, the rest 1). The total is

    (goods_weight x goods + 1.5 x fit + 1.5 x outcomes) / (2 + 1.5 + 1.5)

where goods is the strongest of others, skills and value (one dimension each here), plus
0.25 x (100 - strongest) x (second - 50) / 50 when the second-best good is above 50. Bands:
A >= 80 invest more, B >= 65 maintain, C >= 45 invest less, D exit.

The same table is in docs/grading-model.md (Golden customers).
"""

from __future__ import annotations

from typing import Any

import pytest

from scoring import Good, Recommendation, Worksheet, grade


def _dims(g) -> dict[str, float | None]:
    return {d.id: d.score for d in g.dimensions}


def _impacts(g) -> dict[str, float]:
    return {r.question_id: round(r.impact, 2) for r in g.reasons}


def test_a_all_pro_bono_mission_driven_nonprofit_that_fits(ws: Worksheet) -> None:
    answers: dict[str, Any] = {
        "mission": 5, "pro_bono": "most",  # others = (100 + 100) / 2 = 100
        "skill_growth": 2, "new_ground": "no",  # skills = (25 + 10) / 2 = 17.5
        "pays_now": 1, "hire_later": 2, "refers": "would",  # value = (0*2 + 25 + 70) / 4 = 23.75
        "segment_fit": 4, "service_level": "over",  # fit = (75*2 + 50 + 30) / 4 = 57.5
        "revenue_share": 0.3,
        "outcomes_value": 4, "renewal": 5,  # outcomes = (75*2 + 100 + 100 + 100) / 5 = 90
        "payment_risk": "low", "advocacy": 9,
    }
    g = grade(ws, answers)
    # goods = others 100 (second best, value 23.75, is below 50: adds nothing)
    # total = (2*100 + 1.5*57.5 + 1.5*90) / 5 = 421.25 / 5 = 84.25 -> 84.2 -> A
    assert g.total == 84.2
    assert g.letter == "A"
    assert g.recommendation is Recommendation.INVEST_MORE  # at least B, maintain
    assert g.profile is Good.OTHERS
    assert (g.carrier, g.carrier_score, g.second_bonus) == (Good.OTHERS, 100, 0)
    assert g.carried_by == "Good for others, 100"
    assert g.knockouts == ()
    assert _dims(g) == pytest.approx(
        {"others": 100, "skills": 17.5, "value": 23.75, "fit": 57.5, "outcomes": 90}, abs=0.051)
    # impacts: others' questions (s - 50) * 2/5 / 2 each; fit's (s - 50) * w * 1.5/5 / 4;
    # outcomes' (s - 50) * w * 1.5/5 / 5. Not paying and not stretching us costs nothing.
    assert _impacts(g) == {"mission": 10.0, "pro_bono": 10.0, "segment_fit": 3.75,
                           "revenue_share": -1.5, "outcomes_value": 3.0, "renewal": 3.0,
                           "payment_risk": 3.0, "advocacy": 3.0}
    assert g.explanation()[0] == "Carried by Good for others, 100."
    assert g.complete
    assert not g.provisional


def test_b_loyal_profitable_account(ws: Worksheet) -> None:
    """The account that the averaged model graded C 60.1, invest less, for its mission."""
    answers: dict[str, Any] = {
        "mission": 1, "pro_bono": "none",  # others = (0 + 20) / 2 = 10
        "skill_growth": 2, "new_ground": "no",  # skills = 17.5
        "pays_now": 4, "hire_later": 4, "refers": "already",  # value = (150 + 75 + 100) / 4
        "segment_fit": 4, "service_level": "right",  # fit = (150 + 100 + 100) / 4 = 87.5
        "revenue_share": 10,
        "outcomes_value": 4, "renewal": 5,  # outcomes = (150 + 100 + 100 + 100) / 5 = 90
        "payment_risk": "low", "advocacy": 9,
    }
    g = grade(ws, answers)
    # value = 325 / 4 = 81.25; total = (2*81.25 + 1.5*87.5 + 1.5*90) / 5 = 428.75 / 5 = 85.75
    assert g.total == 85.8
    assert g.letter == "A"
    assert g.recommendation is Recommendation.INVEST_MORE
    assert g.profile is Good.US
    assert g.carrier is Good.US
    # the reasons against of the averaged model, mission 1 and pro-bono none, are gone
    assert "mission" not in _impacts(g)
    assert "pro_bono" not in _impacts(g)
    assert _impacts(g)["pays_now"] == 5.0  # (75 - 50) * 2 * (2/5) / 4
    assert not any(line.startswith("Held back") for line in g.explanation())


def test_c_learning_rich_customer_paying_thinly(ws: Worksheet) -> None:
    answers: dict[str, Any] = {
        "mission": 2, "pro_bono": "some",  # others = (25 + 60) / 2 = 42.5
        "skill_growth": 5, "new_ground": "yes",  # skills = (100 + 100) / 2 = 100
        "pays_now": 2, "hire_later": 3, "refers": "would",  # value = (50 + 50 + 70) / 4 = 42.5
        "segment_fit": 4, "service_level": "under",  # fit = (150 + 60 + 60) / 4 = 67.5
        "revenue_share": 1,
        "outcomes_value": 3, "renewal": 4,  # outcomes = (100 + 75 + 55 + 60) / 5 = 58
        "payment_risk": "some", "advocacy": 8,
        "notes": "First customer in agritech.",
    }
    g = grade(ws, answers)
    # total = (2*100 + 1.5*67.5 + 1.5*58) / 5 = 388.25 / 5 = 77.65 -> 77.7 -> B
    assert g.total == 77.7
    assert g.letter == "B"
    assert g.recommendation is Recommendation.MAINTAIN
    assert g.profile is Good.SKILLS
    assert g.carried_by == "Good at it, 100"
    assert g.knockouts == ()
    assert _dims(g) == pytest.approx(
        {"others": 42.5, "skills": 100, "value": 42.5, "fit": 67.5, "outcomes": 58}, abs=0.051)
    assert "notes" not in {r.question_id for r in g.reasons}
    # thin pay is not held against it: it is not the good that carries this customer
    assert "pays_now" not in _impacts(g)


def test_d_lucrative_clear_misfit_is_capped(ws: Worksheet) -> None:
    answers: dict[str, Any] = {
        "mission": 1, "pro_bono": "none",  # others = 10
        "skill_growth": 2, "new_ground": "unsure",  # skills = (25 + 40) / 2 = 32.5
        "pays_now": 5, "hire_later": 5, "refers": "already",  # value = 100
        "segment_fit": 1, "service_level": "right",  # fit = (0*2 + 100 + 100) / 4 = 50
        "revenue_share": 10,
        "outcomes_value": 5, "renewal": 5,  # outcomes = 100
        "payment_risk": "low", "advocacy": 9,
    }
    g = grade(ws, answers)
    # total = (2*100 + 1.5*50 + 1.5*100) / 5 = 425 / 5 = 85 -> A, invest more by score ...
    assert g.total == 85.0
    assert g.letter == "A"
    assert g.score_recommendation is Recommendation.INVEST_MORE
    # ... but segment fit 1 trips the "misfit" knock-out: capped at invest less
    assert g.recommendation is Recommendation.INVEST_LESS
    assert [k.id for k in g.knockouts] == ["misfit"]
    assert g.profile is Good.US
    # segment fit's pull: (0 - 50) * 2 * (1.5/5) / 4 = -7.5; pays now (100 - 50) * 2 * 0.4 / 4
    lines = g.explanation()
    assert lines[0] == "Carried by Good for you, 100."
    assert lines[1].startswith("Lifted by Pays now: 5 — Excellent and growing (+10.0); ")
    assert lines[2] == "Held back by Target segment fit: 1 — Clear mis-fit (-7.5)."
    assert lines[3] == ("A clear mis-fit with our target segment caps the recommendation at "
                        "invest less.")
    assert len(lines) == 4  # complete: no "Provisional" line


def test_e_weak_on_all_three_goods_but_a_good_fit(ws: Worksheet) -> None:
    answers: dict[str, Any] = {
        "mission": 1, "pro_bono": "none",  # others = (0 + 20) / 2 = 10
        "skill_growth": 1, "new_ground": "no",  # skills = (0 + 10) / 2 = 5
        "pays_now": 2, "hire_later": 2, "refers": "unlikely",  # value = (50 + 25 + 25) / 4 = 25
        "segment_fit": 5, "service_level": "right",  # fit = (200 + 100 + 100) / 4 = 100
        "revenue_share": 10,
        "outcomes_value": 3, "renewal": 3,  # outcomes = (100 + 50 + 55 + 60) / 5 = 53
        "payment_risk": "some", "advocacy": 7,
    }
    g = grade(ws, answers)
    # goods = value 25 (the strongest, and still weak)
    # total = (2*25 + 1.5*100 + 1.5*53) / 5 = 279.5 / 5 = 55.9 -> C
    assert g.total == 55.9
    assert g.letter == "C"
    assert g.recommendation is Recommendation.INVEST_LESS
    assert g.profile is None  # no good is at least middling
    assert g.carried_by == "Good for you, 25"
    # the carrying good's weak pay holds it back: (25 - 50) * 2 * 0.4 / 4 = -5
    assert _impacts(g)["pays_now"] == -5.0


def test_a_second_strong_good_adds_a_little(ws: Worksheet) -> None:
    """Customer (b) that also stretches us: skills 75 is a second strong good."""
    answers: dict[str, Any] = {
        "mission": 1, "pro_bono": "none", "skill_growth": 4, "new_ground": "yes",
        "pays_now": 4, "hire_later": 4, "refers": "already", "segment_fit": 4,
        "service_level": "right", "revenue_share": 10, "outcomes_value": 4, "renewal": 5,
        "payment_risk": "low", "advocacy": 9,
    }
    g = grade(ws, answers)
    # skills = (75 + 100) / 2 = 87.5 now beats value 81.25: skills carries, value adds
    # 0.25 * (100 - 87.5) * (81.25 - 50) / 50 = 1.953; goods = 89.453
    # total = (2*89.453 + 131.25 + 135) / 5 = 445.156 / 5 = 89.03 -> 89.0
    assert g.carrier is Good.SKILLS
    assert g.second is Good.US
    assert g.second_bonus == 2.0
    assert g.total == 89.0
    # the second good's answers move the total only by what they add: 2 * 1.953 / 5 = 0.78
    value_ids = {"pays_now", "hire_later", "refers"}
    assert sum(v for k, v in _impacts(g).items() if k in value_ids) == pytest.approx(
        0.78, abs=0.01)
