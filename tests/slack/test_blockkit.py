"""Block Kit limits: the checker itself, and the longest texts a worksheet allows.

(Every payload of every Slack test is checked by the ``make_env`` fixture at teardown; this
file makes sure the checker catches what it should, and pushes the worst case through.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.slack.blockkit import check_payload
from tests.slack.conftest import (
    Rep,
    blocks_of,
    buttons,
    shown,
    texts,
    view_submission,
    wait_until,
)


def _button(text: str, value: str = "v", action_id: str = "a") -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text},
            "value": value, "action_id": action_id}


def test_the_checker_catches_what_slack_refuses() -> None:
    ok = {"blocks": [{"type": "section", "text": {"type": "plain_text", "text": "x" * 3000}},
                     {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
                     {"type": "actions", "elements": [_button("b" * 75)]}]}
    assert check_payload("chat.postMessage", ok) == []
    bad = {
        "too many blocks": {"blocks": [{"type": "divider"}] * 51},
        "long section": {"blocks": [{"type": "section",
                                     "text": {"type": "mrkdwn", "text": "x" * 3001}}]},
        "long header": {"blocks": [{"type": "header",
                                    "text": {"type": "plain_text", "text": "h" * 151}}]},
        "mrkdwn header": {"blocks": [{"type": "header",
                                      "text": {"type": "mrkdwn", "text": "h"}}]},
        "long button": {"blocks": [{"type": "actions", "elements": [_button("b" * 76)]}]},
        "empty text": {"blocks": [{"type": "section",
                                   "text": {"type": "plain_text", "text": ""}}]},
        "26 buttons": {"blocks": [{"type": "actions", "elements": [
            _button("b", action_id=f"a{i}") for i in range(26)]}]},
        "same action ids": {"blocks": [{"type": "actions", "elements": [_button("b"),
                                                                        _button("c")]}]},
        "11 fields": {"blocks": [{"type": "section", "fields": [
            {"type": "plain_text", "text": "f"}] * 11}]},
    }
    for what, payload in bad.items():
        assert check_payload("chat.postMessage", payload), what
    option = {"text": {"type": "plain_text", "text": "o" * 76}, "value": "v"}
    select = {"type": "input", "label": {"type": "plain_text", "text": "l"},
              "element": {"type": "static_select", "action_id": "x", "options": [option]}}
    assert check_payload("views.open", {"view": {"type": "modal", "title": {
        "type": "plain_text", "text": "t"}, "blocks": [select]}})
    long_value = {"text": {"type": "plain_text", "text": "o"}, "value": "v" * 151}
    select["element"]["options"] = [long_value]
    assert check_payload("views.open", {"view": {"type": "modal", "title": {
        "type": "plain_text", "text": "t"}, "blocks": [select]}})
    assert check_payload("views.publish", {"view": json.dumps(
        {"type": "home", "blocks": [{"type": "divider"}] * 101})})
    assert check_payload("views.open", {"view": {"type": "modal", "title": {
        "type": "plain_text", "text": "t" * 25}, "blocks": []}})


def _longest_worksheet(path: Path) -> Path:
    def prompt(i: int) -> str:
        head = f"Q{i}: how does {{customer}} do "
        return head + "x" * (300 - len(head))

    label75 = "L" * 73
    choices = [{"key": f"c{i}", "label": f"{i}" + label75[: 75 - len(str(i))],
                "value": i * 10, "synonyms": []} for i in range(10)]
    questions = [
        {"id": "scale_q", "label": "S" * 40, "dimension": "d1", "type": "scale",
         "prompt": prompt(1), "help": "h" * 600, "why": "w" * 600,
         "labels": [f"{n}" + "s" * 74 for n in range(5)], "cadences": ["quarterly"]},
        {"id": "choice_q", "label": "C" * 40, "dimension": "d1", "type": "choice",
         "prompt": prompt(2), "help": "h" * 600, "choices": choices,
         "cadences": ["quarterly"]},
        {"id": "yes_q", "label": "Y" * 40, "dimension": "d2", "type": "yes_no",
         "prompt": prompt(3), "help": "h" * 600, "cadences": ["quarterly"]},
        {"id": "pct_q", "label": "P" * 40, "dimension": "d2", "type": "percent",
         "prompt": prompt(4), "cadences": ["quarterly"],
         "bands": [{"upto": 50, "score": 40}, {"upto": 100, "score": 90}]},
        {"id": "num_q", "label": "N" * 40, "dimension": "d2", "type": "number",
         "prompt": prompt(5), "min": 0, "max": 10, "cadences": ["quarterly"],
         "bands": [{"upto": 5, "score": 10}, {"upto": 10, "score": 90}]},
        {"id": "text_q", "label": "T" * 40, "type": "text", "prompt": prompt(6),
         "help": "h" * 600, "cadences": ["quarterly"]},
    ]
    questions += [{**q, "id": q["id"] + "_a", "cadences": ["annual"]} for q in questions]
    ws = {"id": "longest", "version": 1, "title": "T" * 100,
          "dimensions": [{"id": "d1", "name": "D" * 60, "weight": 1, "good": "good_for_you",
                          "text": "t" * 500},
                         {"id": "d2", "name": "E" * 60, "weight": 1, "good": "good_at_it"}],
          "questions": questions,
          "knockouts": [{"id": "k1", "question": "scale_q", "op": "<=", "value": 1,
                         "cap": "invest_less", "reason": "r" * 200}],
          "grade_bands": [{"letter": "A", "min": 80, "recommendation": "invest_more"},
                          {"letter": "D", "min": 0, "recommendation": "exit"}],
          "target_balance": {"good_for_you": 60, "good_at_it": 25, "good_for_others": 15},
          # a pulse answers half the sheet: let it have a letter, so the review is shown
          "grading": {"coverage_floor": 0.5}}
    out = path / "longest.yml"
    out.write_text(yaml.safe_dump(ws), encoding="utf-8")
    return out


def test_the_longest_worksheet_texts_fit_slack(make_env: Any, tmp_path: Path) -> None:
    env = make_env(GRADEBOT_WORKSHEET=str(_longest_worksheet(tmp_path)))
    rep = Rep(env.sv, env.sender, env.api)
    assert env.sv.worksheet.id == "longest"
    name = "N" + "é" * 97 + " " + "<&>" * 33 + "Z" * 2  # 200 characters
    assert len(name) == 200
    rep.start(name)

    q1 = rep.question()
    assert len(buttons(blocks_of(q1.args))) == 5 + 2  # five answers, skip and why
    rep.answer(4)
    q2 = rep.question()
    values = [b["value"] for b in buttons(blocks_of(q2.args))]
    assert sum(v.startswith("a|choice_q|") for v in values) == 10
    assert all(len(b["text"]["text"]) <= 75 for b in buttons(blocks_of(q2.args)))
    rep.answer(9)

    parent = next(c for c in rep.posts() if rep.ts_of(c) == rep.thread)
    rep.click(parent, f"form|{rep.session().id}")
    opened = rep.api.wait_for("views.open")[0]
    inputs = [b for b in opened.args["view"]["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == ["scale_q", "choice_q", "yes_q", "pct_q",
                                               "num_q", "text_q"]
    assert name in texts([inputs[0]["label"]])  # the whole name, in a plain_text label

    n = len(rep.posts(rep.thread))
    rep.slack.interact(view_submission(opened, {"yes_q": "yes", "pct_q": "75",
                                                "num_q": "10", "text_q": "é<" * 1500}))
    saved = wait_until(lambda: rep.posts(rep.thread)[n:], what="the saved card")[0]
    assert "Saved:" in shown(saved)
    # (the fixture checks every payload above against Block Kit's limits at teardown)
