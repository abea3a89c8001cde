"""Rule parsing: what a rep types or clicks becomes a legal answer, or a refusal that says why
and lists what would work. Questions come from the default sheet (see default.yml)."""

from __future__ import annotations

import math

import pytest

from scoring import AnswerType, Parsed, Unparsed, Worksheet, display_value, is_legal, parse_answer
from scoring.worksheet import Question

PAYS_NOW_HINT = ("Answer 1 to 5 (1 = We lose money, 2 = Thin margin, 3 = Break-even-ish, "
                 "4 = Solid margin, 5 = Excellent and growing).")


def ok(ws: Worksheet, qid: str, text: str) -> Parsed:
    result = parse_answer(ws.question_map[qid], text)
    assert isinstance(result, Parsed), f"{qid}: {text!r} -> {result}"
    assert is_legal(ws.question_map[qid], result.value)
    return result


def refused(ws: Worksheet, qid: str, text: str) -> Unparsed:
    q = ws.question_map[qid]
    result = parse_answer(q, text)
    assert isinstance(result, Unparsed), f"{qid}: {text!r} -> {result}"
    assert result.reason.strip()
    _assert_hint_lists_legal_answers(q, result.hint)
    return result


def _assert_hint_lists_legal_answers(q: Question, hint: str) -> None:
    if q.type is AnswerType.SCALE:
        assert hint.startswith("Answer 1 to 5")
        for i, label in enumerate(q.labels, 1):
            assert f"{i} = {label}" in hint
    elif q.type is AnswerType.CHOICE:
        for i, c in enumerate(q.choices, 1):
            assert f"{i} = {c.label}" in hint
    elif q.type is AnswerType.YES_NO:
        assert hint == "Answer yes, no or not sure."
    elif q.type is AnswerType.PERCENT:
        assert hint == "Answer a percent from 0 to 100, like 35%."
    elif q.type is AnswerType.NUMBER:
        lo, hi = q.bounds
        assert hint == f"Answer a number from {lo:g} to {hi:g}."
    else:
        assert hint


# ------------------------------------------------------------------------------ buttons
def test_every_button_value_parses_to_itself(ws: Worksheet) -> None:
    """Buttons send choice keys, "1".."5" for scales and yes/no/unsure: all must read back."""
    for q in ws.questions:
        if q.type is AnswerType.CHOICE:
            for c in q.choices:
                assert ok(ws, q.id, c.key).value == c.key
        elif q.type is AnswerType.SCALE:
            for i in range(1, 6):
                assert ok(ws, q.id, str(i)).value == i
        elif q.type is AnswerType.YES_NO:
            for v in ("yes", "no", "unsure"):
                assert ok(ws, q.id, v).value == v


def test_every_echo_reads_back_as_the_same_answer(ws: Worksheet) -> None:
    """What the bot echoes ("4 — Solid margin", "They already have", "35%") is itself an
    answer to the same question, so a rep who pastes the echo back is understood."""
    samples: dict[AnswerType, list[object]] = {
        AnswerType.SCALE: [1, 2, 3, 4, 5], AnswerType.YES_NO: ["yes", "no", "unsure"],
        AnswerType.PERCENT: [0, 0.5, 3.5, 35, 100], AnswerType.NUMBER: [0, 6, 8.5, 10],
    }
    for q in ws.questions:
        values = [c.key for c in q.choices] if q.type is AnswerType.CHOICE else \
            samples.get(q.type, ["a note"])
        for v in values:
            assert ok(ws, q.id, display_value(q, v)).value == v, (q.id, v)


# -------------------------------------------------------------------------------- scale
@pytest.mark.parametrize(("text", "value"), [
    ("4", 4), (" 4 ", 4), ("4/5", 4), ("4 / 5", 4), ("4 out of 5", 4), ("4 of 5", 4),
    ("four", 4), ("Five", 5), ("4 - solid margin", 4), ("4: whatever", 4),
    ("4 — Solid margin", 4), ("solid margin", 4), ("Solid Margin!", 4), ("excellent", 5),
    ("we lose money", 1), ("4.0", 4), ("+2", 2),
])
def test_scale_readings(ws: Worksheet, text: str, value: int) -> None:
    result = ok(ws, "pays_now", text)
    assert result.value == value
    assert type(result.value) is int
    assert result.display == f"{value} — {ws.question_map['pays_now'].labels[value - 1]}"


@pytest.mark.parametrize(("text", "reason"), [
    ("6", "6 is out of range."),
    ("0", "0 is out of range."),
    ("-1", "-1 is out of range."),
    ("six", "6 is out of range."),
    ("7/10", "This question uses a 1-5 scale, not 1-10."),
    ("3.5", "3.5 is not a whole number."),  # not "3." as a numbered item (fixed in parsing)
    ("3,5", "3.5 is not a whole number."),  # a decimal comma reads as a decimal point
    ("3-5", "I couldn't read that as a 1-5 answer."),  # a range, not "3 - <label>"
    ("6/5", "6 is out of range."),
    ("", "That was empty."),
    ("   \t ", "That was empty."),
    ("x" * 501, "That answer is too long for this question."),
    ("pretty good I guess", "I couldn't read that as a 1-5 answer."),
    ("margin", "I couldn't read that as a 1-5 answer."),  # Thin margin or Solid margin?
    ("not solid margin", "I couldn't read that as a 1-5 answer."),  # negated: not a 4
])
def test_scale_refusals(ws: Worksheet, text: str, reason: str) -> None:
    result = refused(ws, "pays_now", text)
    assert result.reason == reason
    assert result.hint == PAYS_NOW_HINT


def test_scale_negation_is_not_read_as_its_opposite(ws: Worksheet) -> None:
    assert ok(ws, "renewal", "likely").value == 4
    assert ok(ws, "renewal", "unlikely").value == 2
    refused(ws, "renewal", "not likely")  # neither "Likely" (4) nor a guess


# ------------------------------------------------------------------------------- yes/no
@pytest.mark.parametrize(("text", "value"), [
    ("yes", "yes"), ("y", "yes"), ("Yes!", "yes"), ("YEP", "yes"), ("yes, definitely", "yes"),
    ("no", "no"), ("n", "no"), ("nope", "no"), ("nah, not really", "no"),
    ("not sure", "unsure"), ("idk", "unsure"), ("I don't know", None), ("dunno", "unsure"),
    ("unsure", "unsure"), ("no idea tbh", "unsure"), ("maybe", "unsure"),
])
def test_yes_no_readings(ws: Worksheet, text: str, value: str | None) -> None:
    q = ws.question_map["new_ground"]
    result = parse_answer(q, text)
    if value is None:  # may be read as unsure or asked again, but never as a yes or a no
        assert result == Parsed("unsure", "Not sure") or isinstance(result, Unparsed)
    else:
        assert result == Parsed(value, {"yes": "Yes", "no": "No", "unsure": "Not sure"}[value])


@pytest.mark.parametrize("text", ["blah", "42", "", "x" * 501, "nobody knows"])
def test_yes_no_refusals(ws: Worksheet, text: str) -> None:
    refused(ws, "new_ground", text)


# ------------------------------------------------------------------------------- choice
@pytest.mark.parametrize(("text", "key"), [
    ("already", "already"),  # button value
    ("They already have", "already"),  # label
    ("they would if we asked", "would"),
    ("1", "already"), ("2", "would"), ("four", "never"), ("3 - unlikely", "unlikely"),
    ("twice", "already"), ("probably", "would"), ("doubt it", "unlikely"),  # synonyms
    ("no way", "never"), ("Never.", "never"),
])
def test_choice_readings(ws: Worksheet, text: str, key: str) -> None:
    result = ok(ws, "refers", text)
    assert result.value == key
    assert result.display == ws.question_map["refers"].choice(key).label


@pytest.mark.parametrize(("qid", "text", "reason"), [
    ("refers", "5", "There is no choice 5."),
    ("refers", "0", "There is no choice 0."),
    ("refers", "2.5", "There is no choice 2.5."),  # not choice 2 (fixed in parsing)
    ("refers", "2-3", "That doesn't match any of the choices."),  # two choices, not "2"
    ("refers", "whatever", "That doesn't match any of the choices."),
    ("refers", "not likely", "That doesn't match any of the choices."),
    # two labels contain "over-serving": ambiguous, so asked again rather than guessed
    ("service_level", "over-serving", "That doesn't match any of the choices."),
    ("service_level", "", "That was empty."),
    ("payment_risk", "x" * 600, "That answer is too long for this question."),
])
def test_choice_refusals(ws: Worksheet, qid: str, text: str, reason: str) -> None:
    assert refused(ws, qid, text).reason == reason


def test_choice_synonym_under_negation_is_refused(ws: Worksheet) -> None:
    assert ok(ws, "service_level", "not enough").value == "under"  # the synonym itself
    assert ok(ws, "payment_risk", "never late").value == "low"
    refused(ws, "service_level", "not fine")


# ------------------------------------------------------------------------------ percent
@pytest.mark.parametrize(("text", "value"), [
    ("35%", 35), ("35 %", 35), ("35 percent", 35), ("35 per cent", 35), ("35", 35),
    ("about 5%", 5), ("~5", 5), ("0", 0), ("100%", 100), ("0.5%", 0.5), ("12.5", 12.5),
    # decided: a single comma is a decimal comma (European style), so "3,5%" is 3.5%
    ("3,5%", 3.5), ("12,5 percent", 12.5),
    ("five", 5),
])
def test_percent_readings(ws: Worksheet, text: str, value: float) -> None:
    result = ok(ws, "revenue_share", text)
    assert result.value == value
    assert result.display == f"{value:g}%"


def test_whole_percent_is_stored_as_int(ws: Worksheet) -> None:
    assert type(ok(ws, "revenue_share", "35.0%").value) is int


@pytest.mark.parametrize(("text", "reason"), [
    ("135%", "135 is out of range."),
    ("-1%", "-1 is out of range."),
    ("100.5", "100.5 is out of range."),
    ("a lot", "I couldn't read that as a percent."),
    ("35%%", "I couldn't read that as a percent."),
    ("", "That was empty."),
])
def test_percent_refusals(ws: Worksheet, text: str, reason: str) -> None:
    assert refused(ws, "revenue_share", text).reason == reason


# ------------------------------------------------------------------------------- number
@pytest.mark.parametrize(("text", "value"), [("7", 7), ("0", 0), ("10", 10), ("8.5", 8.5),
                                             ("ten", 10), ("around 9", 9)])
def test_number_readings(ws: Worksheet, text: str, value: float) -> None:
    assert ok(ws, "advocacy", text).value == value


@pytest.mark.parametrize(("text", "reason"), [
    ("11", "11 is out of range."), ("-1", "-1 is out of range."),
    ("eleven", "I couldn't read that as a number."), ("", "That was empty."),
])
def test_number_refusals(ws: Worksheet, text: str, reason: str) -> None:
    assert refused(ws, "advocacy", text).reason == reason


# --------------------------------------------------------------------------------- text
def test_text_is_kept_trimmed_within_3000_characters(ws: Worksheet) -> None:
    q = ws.question_map["notes"]
    assert parse_answer(q, "  Champion leaves in June.  ") == Parsed(
        "Champion leaves in June.", "Champion leaves in June.")
    assert parse_answer(q, "x" * 3000) == Parsed("x" * 3000, "x" * 3000)
    too_long = parse_answer(q, "x" * 3001)
    assert isinstance(too_long, Unparsed)
    assert "3,000" in too_long.reason
    assert isinstance(parse_answer(q, " \n "), Unparsed)


# ----------------------------------------------------------------------------- is_legal
@pytest.mark.parametrize(("qid", "legal", "illegal"), [
    ("pays_now", [1, 3, 5], [0, 6, -1, 4.0, "4", None, True, False, 2.5]),
    ("new_ground", ["yes", "no", "unsure"], ["Yes", "y", "maybe", True, False, 1, None]),
    ("refers", ["already", "would", "unlikely", "never"],
     ["They already have", "ALREADY", 1, None, True]),
    ("revenue_share", [0, 0.5, 35, 100, 100.0],
     [-0.1, 100.1, "35", "35%", math.nan, math.inf, True, False, None]),
    ("advocacy", [0, 7, 8.5, 10], [-1, 10.5, "7", math.nan, True, None]),
    ("notes", ["x", "x" * 3000], ["", "x" * 3001, 5, None, True]),
])
def test_is_legal(ws: Worksheet, qid: str, legal: list[object], illegal: list[object]) -> None:
    q = ws.question_map[qid]
    for v in legal:
        assert is_legal(q, v), (qid, v)
    for v in illegal:
        assert not is_legal(q, v), (qid, v)


# ------------------------------------------------------------------------ display_value
@pytest.mark.parametrize(("qid", "value", "shown"), [
    ("pays_now", 1, "1 — We lose money"),
    ("pays_now", 5, "5 — Excellent and growing"),
    ("new_ground", "yes", "Yes"), ("new_ground", "no", "No"),
    ("new_ground", "unsure", "Not sure"),
    ("refers", "would", "They would if we asked"),
    ("refers", "gone", "gone"),  # a key no longer on the sheet reads as itself
    ("revenue_share", 35, "35%"), ("revenue_share", 3.5, "3.5%"),
    ("revenue_share", 35.0, "35%"),
    ("advocacy", 7, "7"), ("advocacy", 8.5, "8.5"),
    ("notes", "Champion leaves", "Champion leaves"),
])
def test_display_value(ws: Worksheet, qid: str, value: object, shown: str) -> None:
    assert display_value(ws.question_map[qid], value) == shown


def test_display_value_shows_a_unit() -> None:
    q = Question(id="seats", label="Seats", prompt="Seats at {customer}?", dimension="d",
                 type=AnswerType.NUMBER, min=0, max=500, unit="seats",
                 bands=({"upto": 500, "score": 100},))
    assert display_value(q, 120) == "120 seats"
