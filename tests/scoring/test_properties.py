"""Properties of the model in issue 14, over random legal answers to the default sheet:

* 0 <= total <= 100 and total = 50 + Σ impacts (also in test_grading's invariants);
* raising the answers of any one good never lowers the total;
* a pulse whose answers are unchanged changes nothing;
* a pulse never changes the profile through questions it did not ask;
* a stale answer is left out and lowers coverage.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import Cadence, Good, Worksheet, grade
from scoring.grading import _numeric, _table
from scoring.sheet import DatedAnswer, merge_answers
from scoring.worksheet import Question
from tests.scoring.strategies import answer_sets, full_answer_sets, legal_value

PROPS = settings(max_examples=80, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])
NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
ANNUAL_AT = datetime(2026, 10, 2, 14, 0, tzinfo=UTC)


def points(q: Question, v: object) -> float:
    table = _table(q)
    return table[v] if table is not None else _numeric(q)(v)  # type: ignore[arg-type]


def good_of(ws: Worksheet, q: Question) -> Good | None:
    return ws.dimension_map[q.dimension].good if q.dimension else None


def dated(answers: dict[str, object], at: datetime = ANNUAL_AT,
          cadence: str = "annual") -> dict[str, DatedAnswer]:
    return {k: DatedAnswer(v, at, cadence, 1) for k, v in answers.items()}  # type: ignore[arg-type]


@PROPS
@given(data=st.data())
def test_total_is_bounded_and_explained_exactly(ws: Worksheet, data: st.DataObject) -> None:
    answers = data.draw(answer_sets(ws, Cadence.ANNUAL))
    g = grade(ws, answers)
    assert 0 <= g.total <= 100
    assert abs(g.total - (50 + sum(r.impact for r in g.reasons))) <= 0.05 + 1e-9


@PROPS
@given(data=st.data(), good=st.sampled_from(list(Good)))
def test_raising_the_answers_of_one_good_never_lowers_the_total(
        ws: Worksheet, data: st.DataObject, good: Good) -> None:
    answers = data.draw(answer_sets(ws, Cadence.ANNUAL))
    raised = dict(answers)
    for q in ws.scored_questions:
        if good_of(ws, q) is not good:
            continue
        old = answers.get(q.id)
        if old is None:
            continue  # answering a question is not raising an answer
        raised[q.id] = data.draw(
            legal_value(q).filter(lambda v, q=q, f=points(q, old): points(q, v) >= f),
            label=q.id)
    before, after = grade(ws, answers), grade(ws, raised)
    assert after.coverage == before.coverage
    assert after.total >= before.total


@PROPS
@given(data=st.data())
def test_an_unchanged_pulse_changes_nothing(ws: Worksheet, data: st.DataObject) -> None:
    annual = data.draw(full_answer_sets(ws, Cadence.ANNUAL))
    before = grade(ws, annual, Cadence.ANNUAL)
    pulse = {q.id: annual[q.id] for q in ws.questions_for(Cadence.QUARTERLY) if q.id in annual}
    merged = merge_answers(ws, pulse, dated(annual), NOW)
    after = grade(ws, merged.answers, Cadence.QUARTERLY)
    assert (after.total, after.letter, after.recommendation, after.profile, after.coverage) \
        == (before.total, before.letter, before.recommendation, before.profile,
            before.coverage)
    assert set(merged.carried) == {q.id for q in ws.scored_questions} - set(pulse)


@PROPS
@given(data=st.data())
def test_a_pulse_never_changes_the_profile_through_questions_it_did_not_ask(
        ws: Worksheet, data: st.DataObject) -> None:
    annual = data.draw(full_answer_sets(ws, Cadence.ANNUAL))
    pulse = data.draw(answer_sets(ws, Cadence.QUARTERLY))
    before = grade(ws, annual, Cadence.ANNUAL)
    after = grade(ws, merge_answers(ws, pulse, dated(annual), NOW).answers, Cadence.QUARTERLY)
    asked_goods = {good_of(ws, q) for q in ws.questions_for(Cadence.QUARTERLY)} - {None}
    for good in set(Good) - asked_goods:  # carried unchanged
        assert after.goods[good] == before.goods[good]
    if after.profile != before.profile:
        assert {after.profile, before.profile} & asked_goods


def test_a_stale_answer_is_left_out_and_lowers_coverage(ws: Worksheet) -> None:
    annual = {q.id: 4 if q.type.value == "scale" else None for q in ws.scored_questions}
    annual = {k: v for k, v in annual.items() if v is not None}
    fresh = merge_answers(ws, {"pays_now": 4}, dated(annual), NOW)
    old = ANNUAL_AT - timedelta(days=ws.grading.stale_after_days)
    stale = merge_answers(ws, {"pays_now": 4}, dated(annual, at=old), NOW)
    assert set(fresh.carried) == set(annual) - {"pays_now"}
    assert stale.carried == {}
    assert set(stale.stale) == set(annual) - {"pays_now"}
    assert grade(ws, stale.answers).coverage < grade(ws, fresh.answers).coverage


def test_an_answer_the_worksheet_no_longer_accepts_is_not_carried(ws: Worksheet) -> None:
    merged = merge_answers(ws, {"pays_now": 4},
                           dated({"renewal": 9, "gone_question": 3, "notes": "x",
                                  "refers": "already"}), NOW)
    assert set(merged.carried) == {"refers"}
