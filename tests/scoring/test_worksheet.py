"""Worksheet files are validated when loaded: a bad file fails with one located message that
names the file, the offending id (question, dimension, choice, knock-out) and the problem."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from scoring import Cadence, WorksheetError, grade, load_worksheet
from scoring.worksheet import parse_worksheet

LABELS = ["Never", "Rarely", "Sometimes", "Often", "Always"]


def minimal() -> dict[str, Any]:
    """A small valid worksheet using every answer type; each test breaks one thing in it."""
    return {
        "id": "mini",
        "version": 1,
        "title": "Mini sheet",
        "dimensions": [
            {"id": "value", "name": "Value", "weight": 2, "good": "good_for_you"},
            {"id": "fit", "name": "Fit", "weight": 1},
        ],
        "questions": [
            {"id": "pays", "label": "Pays", "prompt": "Does {customer} pay?",
             "dimension": "value", "type": "scale", "labels": list(LABELS),
             "cadences": ["quarterly", "annual"]},
            {"id": "refers", "label": "Refers", "prompt": "Does {customer} refer us?",
             "dimension": "value", "type": "yes_no"},
            {"id": "tier", "label": "Tier", "prompt": "Which tier is {customer}?",
             "dimension": "fit", "type": "choice",
             "choices": [{"key": "gold", "label": "Gold", "value": 100},
                         {"key": "tin", "label": "Tin", "value": 10}]},
            {"id": "share", "label": "Share", "prompt": "What share is {customer}?",
             "dimension": "fit", "type": "percent",
             "bands": [{"upto": 10, "score": 50}, {"upto": 100, "score": 100}]},
            {"id": "nps", "label": "NPS", "prompt": "Would {customer} recommend us?",
             "dimension": "fit", "type": "number", "min": 0, "max": 10,
             "bands": [{"upto": 6, "score": 0}, {"upto": 10, "score": 100}]},
            {"id": "notes", "label": "Notes", "prompt": "Notes on {customer}?", "type": "text"},
        ],
        "knockouts": [{"id": "tin_cap", "question": "tier", "op": "==", "value": "tin",
                       "cap": "maintain", "reason": "Tin caps it."}],
        "grade_bands": [{"letter": "A", "min": 80, "recommendation": "invest_more"},
                        {"letter": "B", "min": 50, "recommendation": "maintain"},
                        {"letter": "D", "min": 0, "recommendation": "exit"}],
        "target_balance": {"good_for_you": 60, "good_at_it": 25, "good_for_others": 15},
    }


def _q(raw: dict[str, Any], qid: str) -> dict[str, Any]:
    return next(q for q in raw["questions"] if q["id"] == qid)


def _write(tmp_path: Path, raw: object, name: str = "sheet.yml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def test_minimal_sheet_is_valid(tmp_path: Path) -> None:
    ws = load_worksheet(_write(tmp_path, minimal()))
    assert ws.id == "mini"
    assert [q.id for q in ws.questions_for(Cadence.QUARTERLY)] == ["pays"]
    assert len(ws.questions_for("annual")) == 6  # cadences default to annual


def _set(qid: str, **fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda raw: _q(raw, qid).update(fields)


def _dup_question(raw: dict[str, Any]) -> None:
    _q(raw, "refers")["id"] = "pays"


def _dup_dimension(raw: dict[str, Any]) -> None:
    raw["dimensions"].append({"id": "fit", "name": "Fit again", "weight": 1})


def _unordered_grades(raw: dict[str, Any]) -> None:
    raw["grade_bands"][0], raw["grade_bands"][1] = raw["grade_bands"][1], raw["grade_bands"][0]


def _no_value(raw: dict[str, Any]) -> None:
    del _q(raw, "tier")["choices"][1]["value"]


def _empty_dimension(raw: dict[str, Any]) -> None:
    raw["dimensions"].append({"id": "lonely", "name": "Lonely", "weight": 1})


def _target_90(raw: dict[str, Any]) -> None:
    raw["target_balance"]["good_for_you"] = 50


def _ko_unknown(raw: dict[str, Any]) -> None:
    raw["knockouts"][0]["question"] = "ghost"


def _ko_text(raw: dict[str, Any]) -> None:
    raw["knockouts"][0]["question"] = "notes"


def _dim_weight(raw: dict[str, Any]) -> None:
    raw["dimensions"][1]["weight"] = -1


def _last_band_not_zero(raw: dict[str, Any]) -> None:
    raw["grade_bands"][-1]["min"] = 10


def _no_quarterly(raw: dict[str, Any]) -> None:
    _q(raw, "pays")["cadences"] = ["annual"]


BAD_SHEETS = [
    pytest.param(_set("tier", dimension="nope"),
                 ["question 'tier'", "unknown dimension 'nope'", "known: value, fit"],
                 id="unknown-dimension"),
    pytest.param(_set("pays", weight=0), ["question 'pays'", "weight", "greater than 0"],
                 id="question-weight-zero"),
    pytest.param(_dim_weight, ["dimension 'fit'", "weight", "greater than 0"],
                 id="dimension-weight-negative"),
    pytest.param(_dup_question, ["duplicate question ids: pays"], id="duplicate-question"),
    pytest.param(_dup_dimension, ["duplicate dimension ids: fit"], id="duplicate-dimension"),
    pytest.param(_unordered_grades, ["grade_bands", "best to worst", "[50.0, 80.0, 0.0]"],
                 id="unordered-grade-bands"),
    pytest.param(_last_band_not_zero, ["last grade band", "min 0"], id="last-band-not-zero"),
    pytest.param(_set("share", bands=[{"upto": 50, "score": 1}, {"upto": 20, "score": 2},
                                      {"upto": 100, "score": 3}]),
                 ["question 'share'", "strictly increasing", "[50.0, 20.0, 100.0]"],
                 id="unordered-numeric-bands"),
    pytest.param(_set("nps", bands=[{"upto": 6, "score": 0}, {"upto": 9, "score": 100}]),
                 ["question 'nps'", "last band must reach max", "stops at 9"],
                 id="bands-stop-short"),
    pytest.param(_set("pays", type="slider"), ["question 'pays'", "type", "'slider'"],
                 id="unknown-answer-type"),
    pytest.param(_no_value, ["question 'tier'", "choice 'tin'", "value", "Field required"],
                 id="choice-without-value"),
    pytest.param(_set("pays", labels=["Low", "Mid", "High"]),
                 ["question 'pays'", "exactly 5 labels"], id="scale-with-three-labels"),
    pytest.param(_set("tier", choices=[{"key": "gold", "label": "Gold", "value": 100}]),
                 ["question 'tier'", "at least 2 choices"], id="single-choice"),
    pytest.param(_set("notes", dimension="fit"), ["question 'notes'", "text question"],
                 id="text-with-dimension"),
    pytest.param(_set("refers", dimension=None), ["question 'refers'", "needs a dimension"],
                 id="scored-without-dimension"),
    pytest.param(_empty_dimension, ["dimension 'lonely' has no questions"],
                 id="dimension-without-questions"),
    pytest.param(_target_90, ["target_balance", "add up to 100, not 90"],
                 id="target-not-100"),
    pytest.param(_ko_unknown, ["knock-out 'tin_cap'", "unknown question 'ghost'"],
                 id="knockout-unknown-question"),
    pytest.param(_ko_text, ["knock-out 'tin_cap'", "'notes' is free text"],
                 id="knockout-on-text"),
    pytest.param(_no_quarterly, ["quarterly cadence"], id="no-quarterly-question"),
]


@pytest.mark.parametrize(("breakage", "fragments"), BAD_SHEETS)
def test_bad_sheet_fails_with_located_message(tmp_path: Path, breakage, fragments) -> None:
    raw = minimal()
    breakage(raw)
    path = _write(tmp_path, raw)
    with pytest.raises(WorksheetError) as err:
        load_worksheet(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in message
    assert "\n" not in message  # one line, fit for a CLI or a log


def test_dict_source_is_named_in_the_message() -> None:
    raw = minimal()
    _q(raw, "pays")["weight"] = 0
    with pytest.raises(WorksheetError, match=r"^team\.yml: question 'pays', weight"):
        parse_worksheet(raw, "team.yml")


def test_every_problem_is_reported_together(tmp_path: Path) -> None:
    raw = minimal()
    _q(raw, "pays")["weight"] = 0
    _q(raw, "tier")["choices"][0]["value"] = 101
    with pytest.raises(WorksheetError) as err:
        load_worksheet(_write(tmp_path, raw))
    message = str(err.value)
    assert "question 'pays', weight" in message
    assert "question 'tier', choice 'gold', value" in message


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    # line 4 is indented under a plain scalar: "mapping values are not allowed here"
    path.write_text("id: mini\nversion: 1\ntitle: x\n  dimensions: []\n", encoding="utf-8")
    with pytest.raises(WorksheetError) as err:
        load_worksheet(path)
    assert str(err.value).startswith(f"{path}: not valid YAML at line 4, column ")
    assert "mapping values are not allowed" in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yml"
    with pytest.raises(WorksheetError, match="cannot read worksheet") as err:
        load_worksheet(path)
    assert str(err.value).startswith(str(path))


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "list"), ("just words\n", "str"),
                                            ("", "NoneType")])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    path = tmp_path / "flat.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WorksheetError, match=f"must be a mapping, not {kind}") as err:
        load_worksheet(path)
    assert str(err.value).startswith(str(path))


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    raw = minimal()
    _q(raw, "pays")["wieght"] = 2  # a typo must not silently fall back to the default weight
    with pytest.raises(WorksheetError) as err:
        load_worksheet(_write(tmp_path, raw))
    assert "question 'pays', wieght" in str(err.value)


def test_sheet_is_immutable() -> None:
    ws = parse_worksheet(copy.deepcopy(minimal()))
    with pytest.raises(Exception, match="frozen"):
        ws.questions[0].weight = 5  # type: ignore[misc]


# ------------------------------------------------------- knock-outs fit their question
# Grading evaluates ``answer <op> value`` with Python operators: a rule that does not fit its
# question would raise TypeError at grade time or silently never fire, so loading refuses it.

def _ko(question: str, op: str, value: Any, kid: str = "rule") -> dict[str, Any]:
    return {"id": kid, "question": question, "op": op, "value": value, "cap": "maintain",
            "reason": "Capped."}


SCALE = "a whole number from 1 to 5"
YES_NO = "yes, no or unsure"
TIERS = "one of: gold, tin"
SHARE = "a number from 0 to 100"
NPS = "a number from 0 to 10"

BAD_KNOCKOUTS = [
    pytest.param(_ko("ghost", "==", 1), "unknown question 'ghost'", id="unknown-question"),
    pytest.param(_ko("notes", "==", "x"), "question 'notes' is free text", id="text-question"),
    pytest.param(_ko("tier", "<=", 1),
                 f"'<=' compares numbers, but question 'tier' is a choice question ({TIERS});"
                 " use '==' or 'in'", id="ordering-on-choice"),
    pytest.param(_ko("refers", ">", 0),
                 f"'>' compares numbers, but question 'refers' is a yes_no question ({YES_NO});"
                 " use '==' or 'in'", id="ordering-on-yes-no"),
    pytest.param(_ko("pays", "<=", "low"),
                 f"'<=' needs a number for question 'pays' ({SCALE}), not 'low'",
                 id="ordering-with-text-value"),
    pytest.param(_ko("share", ">=", True),
                 f"'>=' needs a number for question 'share' ({SHARE}), not True",
                 id="ordering-with-bool-value"),
    pytest.param(_ko("pays", "<", 1),
                 f"'< 1' never matches an answer of question 'pays' ({SCALE})",
                 id="ordering-never-matches-scale"),
    pytest.param(_ko("share", ">", 100),
                 f"'> 100' never matches an answer of question 'share' ({SHARE})",
                 id="ordering-never-matches-percent"),
    pytest.param(_ko("nps", "<=", 20),
                 f"'<= 20' matches every answer of question 'nps' ({NPS}),"
                 " so it would cap every customer", id="ordering-matches-everything"),
    pytest.param(_ko("tier", "==", "bronze"),
                 f"'bronze' is not an answer of question 'tier' ({TIERS})",
                 id="equals-unknown-choice"),
    pytest.param(_ko("pays", "==", 6), f"6 is not an answer of question 'pays' ({SCALE})",
                 id="equals-outside-scale"),
    pytest.param(_ko("pays", "==", 2.5), f"2.5 is not an answer of question 'pays' ({SCALE})",
                 id="equals-between-scale-steps"),
    pytest.param(_ko("nps", "==", 11), f"11 is not an answer of question 'nps' ({NPS})",
                 id="equals-outside-number-range"),
    pytest.param(_ko("refers", "==", "maybe"),
                 f"'maybe' is not an answer of question 'refers' ({YES_NO})",
                 id="equals-not-yes-no"),
    pytest.param(_ko("refers", "==", True),
                 f"True is not an answer of question 'refers' ({YES_NO}); quote it:"
                 " YAML reads a bare yes/no as true/false", id="equals-yaml-boolean"),
    pytest.param(_ko("tier", "in", "tin"),
                 f"'in' needs a list of answers of question 'tier' ({TIERS}), not 'tin'",
                 id="in-with-a-string"),
    pytest.param(_ko("nps", "in", 3),
                 f"'in' needs a list of answers of question 'nps' ({NPS}), not 3",
                 id="in-with-a-number"),
    pytest.param(_ko("tier", "in", []),
                 f"'in' needs at least one answer of question 'tier' ({TIERS})",
                 id="in-with-empty-list"),
    pytest.param(_ko("tier", "in", ["tin", "bronze"]),
                 f"'bronze' is not an answer of question 'tier' ({TIERS})",
                 id="in-with-an-illegal-item"),
]


@pytest.mark.parametrize(("knockout", "problem"), BAD_KNOCKOUTS)
def test_knockout_that_does_not_fit_its_question_is_refused(
        tmp_path: Path, knockout: dict[str, Any], problem: str) -> None:
    raw = minimal()
    raw["knockouts"] = [knockout]
    path = _write(tmp_path, raw)
    with pytest.raises(WorksheetError) as err:
        load_worksheet(path)
    assert str(err.value) == f"{path}: knock-out 'rule': {problem}"


def test_every_bad_knockout_is_reported_together() -> None:
    raw = minimal()
    raw["knockouts"] = [_ko("tier", "<", 1, kid="first"), _ko("pays", "==", 3, kid="fine"),
                        _ko("refers", "==", "maybe", kid="second")]
    with pytest.raises(WorksheetError) as err:
        parse_worksheet(raw, "team.yml")
    assert str(err.value) == (
        f"team.yml: knock-out 'first': '<' compares numbers, but question 'tier' is a choice"
        f" question ({TIERS}); use '==' or 'in'; knock-out 'second': 'maybe' is not an answer"
        f" of question 'refers' ({YES_NO})")


def test_duplicate_knockout_ids_are_refused() -> None:
    """A grade names the knock-outs that capped it: two rules with one id would be one name
    for two reasons."""
    raw = minimal()
    raw["knockouts"] = [_ko("pays", "<=", 2, kid="misfit"), _ko("nps", "<=", 3, kid="misfit")]
    with pytest.raises(WorksheetError) as err:
        parse_worksheet(raw, "team.yml")
    assert str(err.value) == "team.yml: duplicate knock-out ids: misfit"


def test_an_in_list_of_lists_is_refused() -> None:
    raw = minimal()
    raw["knockouts"] = [_ko("tier", "in", [["tin", "iron"]])]
    with pytest.raises(WorksheetError) as err:
        parse_worksheet(raw, "team.yml")
    assert "is not an answer of question 'tier'" in str(err.value)


def _sheet_with_typed_knockout(path: Path, rule_yaml: str) -> Path:
    """The minimal sheet written to ``path`` with one knock-out as an author types it in YAML
    (not as a Python value: ``yes`` stays YAML's own reading of it)."""
    text = yaml.safe_dump({**minimal(), "knockouts": []}, sort_keys=False)
    path.write_text(text.replace("knockouts: []\n", "knockouts:\n" + rule_yaml),
                    encoding="utf-8")
    return path


def test_bare_yes_in_yaml_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = _sheet_with_typed_knockout(
        tmp_path / "sheet.yml", "  - id: refers_yes\n    question: refers\n    op: '=='\n"
                                "    value: yes\n    cap: maintain\n    reason: Capped.\n")
    with pytest.raises(WorksheetError) as err:
        load_worksheet(path)
    assert str(err.value) == (
        f"{path}: knock-out 'refers_yes': True is not an answer of question 'refers' ({YES_NO});"
        " quote it: YAML reads a bare yes/no as true/false")


GOOD_KNOCKOUTS = [
    pytest.param(_ko("pays", "<=", 2), {"pays": 2}, {"pays": 3}, id="scale-at-most"),
    pytest.param(_ko("pays", "<", 1.5), {"pays": 1}, {"pays": 2}, id="scale-below-a-fraction"),
    pytest.param(_ko("pays", "in", [1, 5]), {"pays": 5}, {"pays": 4}, id="scale-in"),
    pytest.param(_ko("share", ">=", 50), {"share": 50}, {"share": 49.5}, id="percent-at-least"),
    pytest.param(_ko("share", "==", 100), {"share": 100}, {"share": 99}, id="percent-edge"),
    pytest.param(_ko("nps", ">", 0), {"nps": 1}, {"nps": 0}, id="number-above-min"),
    pytest.param(_ko("refers", "==", "no"), {"refers": "no"}, {"refers": "yes"},
                 id="yes-no-equals"),
    pytest.param(_ko("refers", "in", ["no", "unsure"]), {"refers": "unsure"},
                 {"refers": "yes"}, id="yes-no-in"),
    pytest.param(_ko("tier", "==", "tin"), {"tier": "tin"}, {"tier": "gold"},
                 id="choice-equals"),
    pytest.param(_ko("tier", "in", ["gold", "tin"]), {"tier": "gold"}, {"pays": 3},
                 id="choice-in-every-key"),
]


@pytest.mark.parametrize(("knockout", "hit", "miss"), GOOD_KNOCKOUTS)
def test_knockout_that_fits_its_question_loads_and_fires(
        tmp_path: Path, knockout: dict[str, Any], hit: dict[str, Any],
        miss: dict[str, Any]) -> None:
    raw = minimal()
    # capped at exit, on an otherwise well-answered sheet: a knock-out is listed only when it
    # lowers the recommendation, and only a grade with enough answers has one
    raw["knockouts"] = [{**knockout, "cap": "exit"}]
    ws = load_worksheet(_write(tmp_path, raw))
    assert [(k.id, k.op, k.value) for k in ws.knockouts] == [
        ("rule", knockout["op"], knockout["value"])]
    rest = {k: v for k, v in WELL_ANSWERED.items() if k != knockout["question"]}
    hit_grade = grade(ws, {**rest, **hit})
    assert hit_grade.score_recommendation is not None
    assert hit_grade.score_recommendation.value != "exit"
    assert [k.id for k in hit_grade.knockouts] == ["rule"]
    assert grade(ws, {**rest, **miss}).knockouts == ()


# every question of minimal() answered well (the knock-out tests replace one of them)
WELL_ANSWERED: dict[str, Any] = {"pays": 4, "refers": "yes", "tier": "gold", "share": 50,
                                 "nps": 10}


def _gradebot() -> list[str]:
    script = Path(sys.executable).parent / ("gradebot.exe" if os.name == "nt" else "gradebot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def test_cli_check_bad_file_is_one_clear_line(tmp_path: Path) -> None:
    raw = minimal()
    _q(raw, "tier")["dimension"] = "nope"
    path = _write(tmp_path, raw, "bad.yml")
    env = {**os.environ, "COLUMNS": "300", "NO_COLOR": "1"}
    done = subprocess.run([*_gradebot(), "worksheet", "check", str(path)], capture_output=True,
                          text=True, timeout=120, env=env, check=False)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(path) in lines[0]
    assert "question 'tier': unknown dimension 'nope'" in lines[0]
    assert "Traceback" not in done.stderr


def test_cli_check_names_a_knockout_that_does_not_fit(tmp_path: Path) -> None:
    # a hand-written rule as an author would type it: an ordering test on a choice question
    path = _sheet_with_typed_knockout(
        tmp_path / "bad_knockout.yml", "  - id: low_tier\n    question: tier\n    op: '<='\n"
                                       "    value: 1\n    cap: invest_less\n    reason: Low.\n")
    env = {**os.environ, "COLUMNS": "300", "NO_COLOR": "1"}
    done = subprocess.run([*_gradebot(), "worksheet", "check", str(path)], capture_output=True,
                          text=True, timeout=120, env=env, check=False)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"✗ {path}: knock-out 'low_tier': '<=' compares numbers, but question 'tier' is a"
        f" choice question ({TIERS}); use '==' or 'in'"]
