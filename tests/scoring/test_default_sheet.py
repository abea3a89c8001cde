"""The worksheet that ships: the structure the conversation and the grading model rely on."""

from __future__ import annotations

from scoring import AnswerType, Cadence, Good, Recommendation, Worksheet
from scoring.worksheet import DEFAULT_WORKSHEET_PATH


def test_default_sheet_is_the_shipped_file(ws: Worksheet) -> None:
    assert DEFAULT_WORKSHEET_PATH.name == "default.yml"
    assert ws.id == "default"
    assert ws.version >= 1


def test_every_scored_question_has_a_known_dimension(ws: Worksheet) -> None:
    dims = {d.id for d in ws.dimensions}
    for q in ws.questions:
        if q.type is AnswerType.TEXT:
            assert q.dimension is None, q.id
        else:
            assert q.dimension in dims, q.id


def test_every_dimension_has_questions(ws: Worksheet) -> None:
    for d in ws.dimensions:
        assert any(q.dimension == d.id for q in ws.questions), d.id


def test_the_three_goods_each_have_a_dimension(ws: Worksheet) -> None:
    assert {d.good for d in ws.dimensions if d.good} == set(Good)


def test_annual_sheet_has_12_to_16_questions(ws: Worksheet) -> None:
    assert 12 <= len(ws.questions_for(Cadence.ANNUAL)) <= 16


def test_quarterly_pulse_has_4_to_6_questions(ws: Worksheet) -> None:
    quarterly = ws.questions_for(Cadence.QUARTERLY)
    assert 4 <= len(quarterly) <= 6
    assert all(q.scored for q in quarterly)


def test_prompts_name_the_customer_and_every_question_says_why(ws: Worksheet) -> None:
    for q in ws.questions:
        assert "{customer}" in q.prompt, q.id
        assert q.why.strip(), q.id
        assert q.prompt.format(customer="Acme") != q.prompt  # a well-formed placeholder


def test_grade_bands_and_target(ws: Worksheet) -> None:
    assert [(b.letter, b.min, b.recommendation) for b in ws.grade_bands] == [
        ("A", 80, Recommendation.INVEST_MORE), ("B", 65, Recommendation.MAINTAIN),
        ("C", 45, Recommendation.INVEST_LESS), ("D", 0, Recommendation.EXIT)]
    t = ws.target_balance
    assert (t.good_for_you, t.good_at_it, t.good_for_others) == (60, 25, 15)


def test_knockouts_point_at_real_questions(ws: Worksheet) -> None:
    qmap = ws.question_map
    assert {k.id for k in ws.knockouts} == {"misfit", "non_payer"}
    for k in ws.knockouts:
        assert qmap[k.question].scored
