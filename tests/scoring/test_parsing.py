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
    # never "Likely" (4): the worksheet says "not likely" is Unlikely (its `says`)
    assert ok(ws, "renewal", "not likely").value == 2
    refused(ws, "renewal", "not almost certain")  # neither 5 nor a guess at which lower one


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


# ------------------------------------------------------------------ the loose pass (busy reps)
# What reps type in a hurry is read when it can only mean one thing; anything that could mean
# two (alternatives, ranges, comparisons, negations, questions, corrections) is refused, and
# the rep sees the strict pass's reason and hint.

@pytest.mark.parametrize(("qid", "text", "value"), [
    # hedged or approximate whole numbers
    ("pays_now", "4ish", 4), ("pays_now", "four-ish", 4), ("pays_now", "~4", 4),
    ("pays_now", "about 4", 4), ("pays_now", "a 4", 4), ("pays_now", "prob 4", 4),
    ("pays_now", "4 tbh", 4), ("pays_now", "4 out of 5 ish", 4), ("pays_now", "4 👍", 4),
    ("hire_later", "maybe 4", 4),  # the number, not the label "Maybe"
    # labels however they are typed: fillers, plurals, contractions, hyphens, emoji, a typo
    ("pays_now", "pretty solid", 4), ("pays_now", "thin margins", 2),
    ("pays_now", "margins are thin", 2), ("pays_now", "we're losing money on them", 1),
    ("pays_now", "break even", 3), ("pays_now", "roughly breakeven", 3),
    ("segment_fit", "misfit", 1), ("segment_fit", "Good fit tbh", 4),
    ("segment_fit", "bullseye 🎯", 5), ("segment_fit", ":dart: bullseye", 5),
    ("mission", "💯 it's their whole reason to exist", 5),
    ("renewal", "likley", 4), ("segment_fit", "bullsye", 5),
    # the label that says more wins when it holds the other ("very unlikely" > "unlikely")
    ("hire_later", "very unlikely, they're cutting vendors", 1),
    # even odds, for a label that says so
    ("renewal", "50/50", 3), ("renewal", "50-50", 3), ("renewal", "fifty fifty", 3),
    ("renewal", "coin flip tbh", 3), ("renewal", "it's a toss-up", 3),
    # an answer, then commentary
    ("outcomes_value", "Some, mostly in ops", 3), ("pays_now", "thin margins, used to be solid", 2),
    ("segment_fit", "good fit, not a bullseye", 4),
    ("outcomes_value", "some outcomes", 3),  # the question's own word is no other label
])
def test_loose_scale_readings(ws: Worksheet, qid: str, text: str, value: int) -> None:
    assert ok(ws, qid, text).value == value


@pytest.mark.parametrize(("qid", "text"), [
    # numbers that are not one answer
    ("pays_now", "not 4"), ("pays_now", "4 or 5"), ("pays_now", "4 or 5?"),
    ("pays_now", "between 2 and 4"), ("pays_now", "3-4ish"), ("pays_now", "3 to 4"),
    ("pays_now", "4?"), ("pays_now", "4, maybe 5"), ("pays_now", "4, actually 5"),
    ("pays_now", "a 4, maybe a 5"), ("pays_now", "4+"), ("pays_now", "about 3.5"),
    ("pays_now", "solid margin 3"), ("pays_now", "solid margin, 3"),  # label and number disagree
    ("renewal", "likely 5"), ("renewal", "likely, 2"), ("renewal", "60/40"),
    # labels negated, doubted, retracted or offered as alternatives
    ("pays_now", "not pretty solid"), ("pays_now", "we aren't losing money"),
    ("pays_now", "break even or thin"), ("pays_now", "solid margin, actually thin"),
    ("segment_fit", "good fit?"), ("segment_fit", "good or partial fit"),
    ("segment_fit", "not a misfit"), ("segment_fit", "good fit, not really"),
    ("hire_later", "unlikely, very"),  # "very" belongs to Very unlikely
    ("renewal", "almost certainly"),  # not "Almost certainly not": the text has no "not"
    ("renewal", "not 50/50"), ("renewal", "50/50 or worse"),
    ("hire_later", "50/50"),  # no label of this scale says "coin toss"
    ("mission", "somewhat, clearly"), ("outcomes_value", "clear outcomes, little else"),
])
def test_loose_scale_refusals(ws: Worksheet, qid: str, text: str) -> None:
    refused(ws, qid, text)


@pytest.mark.parametrize(("qid", "text", "reason"), [
    ("pays_now", "4 or 5", "I couldn't read that as a 1-5 answer."),
    ("renewal", "60/40", "This question uses a 1-5 scale, not 1-40."),
    ("pays_now", "about 3.5", "I couldn't read that as a 1-5 answer."),
])
def test_a_loose_refusal_keeps_the_strict_reason(ws: Worksheet, qid: str, text: str,
                                                 reason: str) -> None:
    assert refused(ws, qid, text).reason == reason


def test_loose_rules_follow_the_sheet_not_the_default_words() -> None:
    """Nothing is tied to the default sheet: even odds need a label that says "coin toss", and
    fillers or typos work on any label."""
    q = Question(id="usage", label="Usage", prompt="How often do they use it?", dimension="d",
                 type=AnswerType.SCALE, labels=("Never", "Rarely", "Sometimes", "Often",
                                                "Every day"))
    assert isinstance(parse_answer(q, "50/50"), Unparsed)
    assert parse_answer(q, "pretty often tbh") == Parsed(4, "4 — Often")
    assert parse_answer(q, "evry day") == Parsed(5, "5 — Every day")
    assert isinstance(parse_answer(q, "not often"), Unparsed)


@pytest.mark.parametrize(("qid", "text", "key"), [
    ("pro_bono", "most of it", "most"),  # "Most or all of it" offers both
    ("pro_bono", "none, full price", "none"),
    ("payment_risk", "low risk", "low"), ("payment_risk", "high risk", "high"),  # label heads
    ("payment_risk", "high, constantly disputing invoices", "high"),
    ("payment_risk", "they dispute every invoice", "high"),  # synonym "disputes", inflected
    ("payment_risk", "never been late once", "low"),  # synonym "never late", a word between
    ("refers", "Already have, 2 intros last qtr", "already"),
    ("service_level", "heavily overserving", "heavy_over"),
])
def test_loose_choice_readings(ws: Worksheet, qid: str, text: str, key: str) -> None:
    assert ok(ws, qid, text).value == key


@pytest.mark.parametrize(("qid", "text"), [
    ("payment_risk", "they always pay late"),  # "always pay" (low) and "always late" (high)
    ("payment_risk", "they pay on time but always late"),
    ("payment_risk", "on time, sometimes late"), ("payment_risk", "late, never on time"),
    ("payment_risk", "not low"), ("payment_risk", "low or some"), ("payment_risk", "high?"),
    ("pro_bono", "some, maybe most"), ("pro_bono", "some of it, most of it"),
    ("service_level", "about right or a bit too much"),
    ("refers", "likely"),  # not "Unlikely" (it was read so when labels matched inside words)
    ("refers", "never?"),
])
def test_loose_choice_refusals(ws: Worksheet, qid: str, text: str) -> None:
    assert refused(ws, qid, text).reason == "That doesn't match any of the choices."


@pytest.mark.parametrize(("text", "value"), [
    ("~3% of revenue", 3), ("~ 3 %", 3), ("3ish %", 3), ("3%-ish", 3), ("prob 3%", 3),
    ("5% give or take", 5), ("3% or so", 3), ("roughly 40 percent, way too concentrated", 40),
    ("a fifth of our revenue", 20), ("maybe a fifth", 20), ("a quarter", 25), ("half", 50),
    ("twenty-five percent", 25), ("thirty", 30), ("35/100", 35), (".5%", 0.5),
])
def test_loose_percent_readings(ws: Worksheet, text: str, value: float) -> None:
    assert ok(ws, "revenue_share", text).value == value


@pytest.mark.parametrize(("text", "reason"), [
    ("almost 10%", "I couldn't read that as a percent."),
    ("3 or 4%", "I couldn't read that as a percent."),
    ("3%, maybe 4", "I couldn't read that as a percent."),
    ("3%?", "I couldn't read that as a percent."),
    ("3% of what it was", "I couldn't read that as a percent."),  # not of our revenue
    ("3/10", "I couldn't read that as a percent."),  # a percent is out of 100
    ("1,000", "1000 is out of range."),  # thousands, not 1
])
def test_loose_percent_refusals(ws: Worksheet, text: str, reason: str) -> None:
    assert refused(ws, "revenue_share", text).reason == reason


@pytest.mark.parametrize(("text", "value"), [
    ("9/10", 9), ("8 out of 10", 8), ("ten out of ten", 10), ("7.5/10", 7.5), ("prob a 7", 7),
    ("9ish", 9), ("10!!", 10), ("they'd give us a 9", 9), ("they'd rate us an 8", 8),
    ("NPS last time was 7", 7), ("rating: 8", 8), ("probably a 6, they grumble a lot", 6),
])
def test_loose_number_readings(ws: Worksheet, text: str, value: float) -> None:
    assert ok(ws, "advocacy", text).value == value


@pytest.mark.parametrize("text", [
    "4/5",  # another scale: not converted
    "9/10?", "8 or 9", "7 tops", "8+", "not a promoter", "promoter or passive",
    "they'd give us a 9 if we fixed support", "they wouldn't give us a 9",
    "they used to give us a 9", "they'd give us a 9, now 6", "nps target is 9",
    "they have 5 offices", "they gave us 3 stars", "probably a 6, maybe 7",
])
def test_loose_number_refusals(ws: Worksheet, text: str) -> None:
    assert refused(ws, "advocacy", text).reason == "I couldn't read that as a number."


@pytest.mark.parametrize(("text", "value"), [
    ("👍", "yes"), (":+1:", "yes"), (":thumbsup::skin-tone-2:", "yes"), ("👎", "no"),
    ("honestly no", "no"), ("hmm maybe?", "unsure"), ("really not sure", "unsure"),
])
def test_loose_yes_no_readings(ws: Worksheet, text: str, value: str) -> None:
    assert ok(ws, "new_ground", text).value == value


@pytest.mark.parametrize("text", [
    "yes and no", "yeah no", "no, yes", "nah, yes actually", "yes?", "👍👎", "yes, no doubt",
])
def test_yes_no_that_says_both_is_refused(ws: Worksheet, text: str) -> None:
    refused(ws, "new_ground", text)


# ------------------------------------------------------------------------------- spans
@pytest.mark.parametrize(("qid", "text", "value"), [
    ("revenue_share", "3-5%", 4), ("revenue_share", "10-15%", 12.5),  # one band: 2 < x <= 15
    ("revenue_share", "between 3 and 5%", 4), ("revenue_share", "8 to 10 percent", 9),
    ("advocacy", "promoter", 9), ("advocacy", "a detractor", 3), ("advocacy", "9-10", 9),
    ("advocacy", "they're passives", 7),
])
def test_span_inside_one_band_is_read_as_its_middle(ws: Worksheet, qid: str, text: str,
                                                    value: float) -> None:
    """Any value of the span would score the same, so its middle is recorded (and shown)."""
    got = ok(ws, qid, text)
    assert got.value == value
    assert "you said" in got.display


@pytest.mark.parametrize(("qid", "text", "suggested"), [
    ("revenue_share", "1-3%", 2),  # 2 scores 60, 3 scores 100
    ("revenue_share", "under 5%", 2.5), ("revenue_share", "less than 1%", 0.5),
    ("revenue_share", "up to 5%", 2.5), ("revenue_share", "more than 30%", 30),
    ("advocacy", "8-9", 8), ("advocacy", "between 7 and 9", 8), ("advocacy", "at least 8", 8),
])
def test_span_across_bands_is_only_suggested(ws: Worksheet, qid: str, text: str,
                                             suggested: float) -> None:
    """Never a guess: the middle is offered for a tap (the engine confirms it), not recorded."""
    got = refused(ws, qid, text)
    assert got.suggestion == suggested
    assert "could score differently" in got.reason


@pytest.mark.parametrize("text", ["5-3%", "3-500%", "3-5% of what it was", "1-3%?"])
def test_nonsense_spans_are_refused_outright(ws: Worksheet, text: str) -> None:
    assert refused(ws, "revenue_share", text).suggestion is None


@pytest.mark.parametrize(("qid", "text", "value"), [
    ("mission", "they're a charity", 4), ("pays_now", "very profitable", 5),
    ("pays_now", "profitable", 4), ("segment_fit", "bang on", 5),
    ("payment_risk", "slow payers", "some"), ("refers", "they sent us two intros", "already"),
    ("new_ground", "first one in retail", "yes"), ("renewal", "they'll definitely renew", 5),
    ("hire_later", "probably not", 2), ("renewal", "not likely", 2),
])
def test_worksheet_says_phrases(ws: Worksheet, qid: str, text: str, value: object) -> None:
    """The worksheet's own other phrasings (``says`` and choice synonyms) are read."""
    assert ok(ws, qid, text).value == value


@pytest.mark.parametrize(("qid", "text"), [
    ("mission", "not a charity"), ("pays_now", "not profitable"),
    ("pays_now", "thin margin, but profitable"), ("new_ground", "not our first one"),
    ("renewal", "definitely not"), ("renewal", "probably or not"),
    ("payment_risk", "they pay on time but always late"), ("refers", "no intros yet"),
    ("new_ground", "yeah, not a new market"), ("segment_fit", "bang on, or poor fit"),
])
def test_says_phrases_negated_or_contradicted_are_refused(ws: Worksheet, qid: str,
                                                          text: str) -> None:
    refused(ws, qid, text)
