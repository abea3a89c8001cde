"""One-tap answers: every scored question has them, and a tapped band scores in that band."""

from __future__ import annotations

from scoring import Parsed, Question, grade, load_worksheet, parse_answer
from scoring.taps import tap_choices, tap_label

WS = load_worksheet()


def _question(**fields: object) -> Question:
    base = {"id": "q", "label": "Q", "prompt": "Q?", "dimension": "fit"}
    return Question.model_validate({**base, **fields})


def _band_score(q: Question, value: float) -> float:
    """The score the worksheet's bands give ``value`` (read from the bands, not the code
    under test)."""
    return next(b.score for b in q.bands if value <= b.upto)


def test_every_scored_question_of_the_shipped_sheet_can_be_answered_by_a_tap():
    for q in WS.questions:
        taps = tap_choices(q)
        if q.scored:
            assert taps.choices, q.id
            for c in taps.choices:
                assert isinstance(parse_answer(q, c.value), Parsed), (q.id, c)
        else:
            assert taps.choices == ()


def test_percent_bands_are_labelled_from_the_worksheet():
    q = WS.question_map["revenue_share"]
    assert [c.label for c in tap_choices(q).choices] == [
        "under 0.5 %", "0.5–2 %", "2–15 %", "15–30 %", "over 30 %"]
    assert tap_choices(q).menu is False


def test_a_tapped_band_records_a_value_that_scores_in_that_band():
    """Through the real grade: with only that answer, its dimension scores the band's points."""
    q = WS.question_map["revenue_share"]
    choices = tap_choices(q).choices
    assert len(choices) == len(q.bands)
    for c, band in zip(choices, q.bands, strict=True):
        value = parse_answer(q, c.value).value  # type: ignore[union-attr]
        assert _band_score(q, value) == band.score, (c, band)
        dim = next(d for d in grade(WS, {q.id: value}, "annual").dimensions
                   if d.id == q.dimension)
        assert dim.score == band.score, (c, dim)
        assert tap_label(q, value) == c.label


def test_band_values_fall_inside_odd_bands():
    q = _question(type="percent", min=0, max=50,
                  bands=[{"upto": 1, "score": 10}, {"upto": 1.5, "score": 20},
                         {"upto": 50, "score": 90}])
    choices = tap_choices(q).choices
    assert [c.label for c in choices] == ["under 1 %", "1–1.5 %", "over 1.5 %"]
    assert [_band_score(q, float(c.value)) for c in choices] == [10, 20, 90]
    assert tap_label(q, float(choices[1].value)) == "1–1.5 %"
    assert tap_label(q, 1.3) is None  # a typed value reads as itself


def test_number_questions_buttons_up_to_eleven_values_then_a_menu():
    ten = _question(type="number", min=0, max=10, bands=[{"upto": 10, "score": 50}])
    assert [c.value for c in tap_choices(ten).choices] == [str(i) for i in range(11)]
    assert tap_choices(ten).menu is False
    assert tap_label(ten, 3) is None  # one value per tap: no band label
    fifty = _question(type="number", min=1, max=50, bands=[{"upto": 50, "score": 50}])
    assert len(tap_choices(fifty).choices) == 50
    assert tap_choices(fifty).menu is True
    wide = _question(type="number", min=0, max=5000, unit="k€",
                     bands=[{"upto": 100, "score": 10}, {"upto": 1000, "score": 50},
                            {"upto": 5000, "score": 90}])
    taps = tap_choices(wide)
    assert taps.menu is True
    assert [c.label for c in taps.choices] == ["0–100 k€", "101–1000 k€", "1001–5000 k€"]
    assert [_band_score(wide, float(c.value)) for c in taps.choices] == [10, 50, 90]
    assert tap_label(wide, float(taps.choices[1].value)) == "101–1000 k€"
