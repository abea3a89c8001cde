"""The calibration report's words, once: what the card's lines say and how each figure is
written (the terminal's tables use the same cells), the small chart for a Teams card, and
the fake Slack Web API's upload steps refusing what Slack refuses."""

from __future__ import annotations

import io
import json

import httpx
import pytest

from bot import display
from bot.display import Line, Listing, Tone
from scoring.calibration import (
    Calibration,
    Interval,
    LetterRow,
    QuestionSignal,
    ReliabilityPoint,
    WeightSuggestion,
)
from tests.fakes.slack_api import FakeSlackAPI


def _weight(now: float, low: float, high: float, name: str = "Fit") -> WeightSuggestion:
    return WeightSuggestion("fit", name, now, (low + high) / 2, Interval(low, high), -2.1)


def _report(questions: int = 10) -> Calibration:
    return Calibration(
        outcomes=120,
        churned=30,
        stayed=90,
        letters=(
            LetterRow("A", {"renewed": 40, "expanded": 5, "churned": 2}, 2 / 47),
            LetterRow("D", {"exited_by_us": 3}, None),
        ),
        auc=0.71,
        auc_interval=Interval(0.62, 0.79),
        brier=0.171,
        brier_reference=0.1875,
        model_auc=0.74,
        model_brier=0.165,
        reliability=(ReliabilityPoint(0.1, 0.12), ReliabilityPoint(0.4, 0.38)),
        questions=tuple(
            QuestionSignal(f"q{i}", f"Question {i}", "value", 100 - i, 0.7 - i * 0.03)
            for i in range(questions)
        ),
        weights=(_weight(25, 27, 35), _weight(20, 5, 15, "Value"), _weight(10, 8, 12, "Others")),
        bootstrap=200,
        weight_bootstrap=100,
    )


def test_letter_lines_leave_out_what_did_not_happen() -> None:
    a, d = _report().letters
    assert display.letter_line(a) == "A: 40 renewed, 5 expanded, 2 churned · churn rate 4%"
    assert display.letter_line(d) == "D: 3 exited by us · churn rate —"
    # the terminal's table row: every kind, in the same words' order
    assert display.letter_cells(a) == ("A", "40", "5", "2", "0", "0", "0", "4%")


def test_weights_arrow_up_down_or_within() -> None:
    up, down, within = _report().weights
    assert display.weight_line(up) == "Fit: 25 → 31.00 ↑ (27.00–35.00)"
    assert display.weight_line(down) == "Value: 20 → 10.00 ↓ (5.00–15.00)"
    assert display.weight_line(within) == "Others: 10 → 10.00 ≈ (8.00–12.00)"
    assert display.weight_cells(up)[-1] == "-2.10"


def test_the_card_parts_in_order_questions_clipped_and_the_note_last() -> None:
    parts = display.calibration_parts(
        _report(), recorded=150, ungraded=30, note=display.chart_not_attached("not_in_channel")
    )
    assert parts[0] == Line(
        "120 outcomes with a grade made at least 90 days before (30 churned, 90 renewed or "
        "expanded); 30 of 150 recorded outcomes had no grade that early.",
        Tone.STRONG,
    )
    assert parts[1].text.startswith("Separating churners: AUC 0.71 (95% interval 0.62–0.79")  # type: ignore[union-attr]
    listings = [p for p in parts if isinstance(p, Listing)]
    assert len(listings) == 3
    questions = listings[2].lines
    assert len(questions) == display.CALIBRATION_QUESTIONS
    assert questions[0] == "Question 0 (value): AUC 0.70, 100 answered"
    assert questions[-1].endswith("— backwards: better answers churned more")  # AUC 0.49
    assert Line("…and 2 more.", Tone.SUBTLE) in parts
    assert parts[-1] == Line(
        "⚠️ The chart could not be attached (not_in_channel); the figures above stand.", Tone.WARN
    )


def test_no_questions_no_questions_heading() -> None:
    parts = display.calibration_parts(_report(questions=0), 120, 0)
    assert display.QUESTIONS_TITLE not in [getattr(p, "text", "") for p in parts]


def test_the_refusal_says_how_many_had_no_grade_early_enough() -> None:
    assert display.calibration_refusal("Too few.", 45, 0) == "Too few."
    assert display.calibration_refusal("Too few.", 45, 30) == (
        "Too few. (30 of 45 recorded outcomes have no grade made that long before them.)"
    )


def test_the_card_chart_is_small_and_still_a_png() -> None:
    from PIL import Image

    from bot.calibration_chart import CARD, chart_png

    png = chart_png(_report(), size=CARD)
    with Image.open(io.BytesIO(png)) as im:
        assert im.format == "PNG"
        assert im.size == (680, 288)
        assert len(im.getcolors(256) or []) <= 16
    assert len(png) < 14_000


@pytest.fixture
def api(fake_slack: FakeSlackAPI) -> FakeSlackAPI:
    fake_slack.reset()
    return fake_slack


def _call(api: FakeSlackAPI, method: str, **args: object) -> dict:
    return httpx.post(api.base_url + method, json=args, timeout=5).json()


def test_the_fake_upload_refuses_what_slack_refuses(api: FakeSlackAPI) -> None:
    assert (
        _call(api, "files.getUploadURLExternal", filename="c.png")["error"] == "invalid_arguments"
    )
    got = _call(api, "files.getUploadURLExternal", filename="c.png", length=4)
    fid, url = got["file_id"], got["upload_url"]
    files = json.dumps([{"id": fid, "title": "c"}])
    # completed before its bytes arrived
    assert (
        _call(api, "files.completeUploadExternal", files=files, channel_id="D1")["error"]
        == "file_not_found"
    )
    assert httpx.post(api.host_url + "/upload/F0NEVER", content=b"x").status_code == 404
    assert httpx.post(url, content=b"12345").text == "OK - 5"
    assert (
        _call(api, "files.completeUploadExternal", files=files, channel_id="D1")["error"]
        == "file_upload_size_mismatch"
    )
    assert httpx.post(url, content=b"1234").status_code == 200
    api.not_in.add("C9")
    assert (
        _call(api, "files.completeUploadExternal", files=files, channel_id="C9")["error"]
        == "not_in_channel"
    )
    done = _call(api, "files.completeUploadExternal", files=files, channel_id="D1")
    assert done["ok"], done
    assert api.shared_files("D1") == [(api.files[fid][0], b"1234")]
    assert api.shared_files("C9") == []
